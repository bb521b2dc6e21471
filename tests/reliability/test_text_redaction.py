"""The common spellings of a secret in text are redacted wherever text is shown.

`POSTGRES_PASSWORD=`, `PGPASSWORD=`, `{"password": ...}`, `Authorization: Bearer ...`
and their kin reach the daemon in a failed backup's message from STACKS, a driver's
error or a receiver's answer: they are redacted in audit rows as stored (the store
redacts every string before hashing it) and in every log line.
"""

import logging
import sqlite3

import pytest

from daemon.audit import AuditStore, new_action_id
from daemon.clock import ManualClock
from daemon.log_setup import configure_logging
from daemon.secrets import redact_text

# Each text holds the secret `S3cret-Value-77` in a spelling a server, a shell or a
# program prints it in; none of it may survive redaction.
SECRET = "S3cret-Value-77"
SPELLINGS = [
    f"pg_dump: POSTGRES_PASSWORD={SECRET} rejected",
    f"PGPASSWORD={SECRET} pg_dump -h db",
    f'env: {{"password": "{SECRET}", "user": "app"}}',
    f"{{'db_password': '{SECRET}'}}",
    f'{{\\"password\\": \\"{SECRET}\\"}}',
    f"Authorization: Bearer {SECRET}",
    f"authorization: Basic {SECRET}",
    f'"Authorization": "Bearer {SECRET}"',
    f"X-Api-Key: {SECRET}",
    f"client_secret={SECRET}&grant_type=client_credentials",
    f"connect to postgresql://app:Pr0d@{SECRET}@db:5432/shop failed",
    f"postgresql://app@db:5432/shop?sslmode=require&password={SECRET}",
]


@pytest.mark.parametrize("text", SPELLINGS)
def test_every_common_spelling_of_a_secret_is_redacted(text):
    redacted = redact_text(text)
    assert SECRET not in redacted
    assert redact_text(redacted) == redacted


def test_redaction_keeps_what_says_which_secret_it_was():
    assert redact_text("POSTGRES_PASSWORD=pw1 ok") == "POSTGRES_PASSWORD=[redacted] ok"
    assert redact_text('{"password": "hunter2"}') == '{"password": "[redacted]"}'
    assert redact_text("Authorization: Bearer abc123") == "Authorization: Bearer [redacted]"
    # Messages about settings named like secrets stay whole.
    for message in (
        "notification sink ops: headers_files.Authorization: cannot read /etc/auth",
        'daemon.basic_auth_password_file: expected a password file, got ""',
        "notify[0].secret_file: expected no secret_file (only a webhook signs its requests)",
    ):
        assert redact_text(message) == message


def test_a_failed_backups_message_is_stored_without_its_secrets(tmp_path):
    path = tmp_path / "audit.db"
    store = AuditStore.open(f"sqlite:///{path}", "test:1", ManualClock())
    try:
        store.append(
            "policy:pre_change_backup",
            "backup.create",
            "failed",
            action_id=new_action_id(),
            container_name="shop-db",
            error="backup 7 failed: " + "; ".join(SPELLINGS),
            reason=f"PGPASSWORD={SECRET}",
            details={"stderr": f'{{"password": "{SECRET}"}}'},
        )
        [row] = store.query()
        assert store.verify().ok
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        stored = repr(db.execute("SELECT * FROM audit_log").fetchall())
    assert "backup 7 failed" in stored
    assert SECRET not in stored
    assert SECRET not in repr(row.model_dump())


def test_log_lines_are_redacted_in_full(capsys):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("text")
        log = logging.getLogger("daemon.test")
        log.error(
            "config reload refused: notify[0].url: got %s",
            '"https://hookuser:Hook-Passw0rd-777@hooks.example.org/x"',
        )
        log.warning("backup failed: %s", f"POSTGRES_PASSWORD={SECRET}")
        try:
            raise ValueError(f'answer: {{"password": "{SECRET}"}}')
        except ValueError:
            log.exception("receiver said no")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    logged = capsys.readouterr().err
    assert "config reload refused" in logged and "receiver said no" in logged
    assert "Hook-Passw0rd-777" not in logged
    assert SECRET not in logged
