"""Secrets never reach an audit row, whichever field they were passed in."""

import pytest

from daemon.audit import AuditOpenError, AuditStore, new_action_id
from daemon.clock import ManualClock
from daemon.secrets import is_secret_key, redact_text, redact_value

API_KEY = "sk_stacks_" + "3f" * 32
PASSWORD = "hunter2-Correct-Horse"
PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----"
)
VPN_CONFIG = (
    "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nAddress = 10.0.0.2/32"
)


def test_no_secret_is_stored_in_any_column(store: AuditStore, raw_sql) -> None:
    store.append(
        "cli",
        "container.restart",
        "failed",
        action_id=new_action_id(),
        container_name=f"web {API_KEY}",
        target=API_KEY,
        reason=f"called with Authorization: Bearer {API_KEY}",
        error=f"401 for key {API_KEY}; connect to postgresql://ops:{PASSWORD}@db/x failed",
        details={
            "password": PASSWORD,
            "credentials": {"user": "root", "value": PASSWORD},
            "privateKey": PRIVATE_KEY,
            "vpn_config": VPN_CONFIG,
            "api_key": API_KEY,
            "token": "abc123tok",
            "nested": [{"note": f"key was {API_KEY}"}, {"pem": PRIVATE_KEY}],
            "conf_text": VPN_CONFIG,
            "backup_id": "bk-123",
        },
    )

    stored = " ".join(str(value) for row in raw_sql("SELECT * FROM audit_log") for value in row)

    for secret in (API_KEY, PASSWORD, "b3BlbnNzaC1rZXk", "yAnz5TF", "abc123tok", "3f3f3f3f"):
        assert secret not in stored
    assert "bk-123" in stored
    assert store.verify().ok


def test_secret_looking_keys() -> None:
    for key in (
        "password",
        "db_password",
        "privateKey",
        "private_key",
        "api_key",
        "apiKey",
        "key",
        "vpn_config",
        "wg_conf",
        "token",
        "client_secret",
        "Credentials",
    ):
        assert is_secret_key(key), key
    for key in ("backup_id", "key_scopes", "keep_weeks", "config_path", "attempt", "name"):
        assert not is_secret_key(key), key


def test_redaction_keeps_structure_and_is_idempotent() -> None:
    value = {"a": [1, 2.5, None, True], "password": "x", "when": {"note": API_KEY}}
    redacted = redact_value(value)
    assert redacted == {
        "a": [1, 2.5, None, True],
        "password": "[redacted]",
        "when": {"note": "sk_stacks_[redacted]"},
    }
    assert redact_value(redacted) == redacted
    assert redact_text(redact_text(f"x {API_KEY}")) == redact_text(f"x {API_KEY}")


def test_database_password_is_hidden_in_open_errors(tmp_path) -> None:
    url = f"postgresql+psycopg://ops:{PASSWORD}@127.0.0.1:1/audit"
    with pytest.raises(AuditOpenError) as caught:
        AuditStore.open(url, "host:1", ManualClock(), busy_timeout=1)
    message = str(caught.value)
    assert PASSWORD not in message
    assert "postgresql+psycopg://ops:***@127.0.0.1:1/audit" in message


def test_missing_sqlite_directory_says_what_to_do(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'absent' / 'audit.db'}"
    with pytest.raises(AuditOpenError, match="does not exist; create it"):
        AuditStore.open(url, "host:1", ManualClock())
