"""URLs are shown without their secrets, whatever an operator wrote: a database password
in the query or with an `@` left unencoded, credentials in an API or webhook URL, a
webhook's token in its path. Showing a URL never raises."""

import pytest

from daemon.audit import AuditOpenError, AuditStore
from daemon.clock import ManualClock
from daemon.secrets import mask_url_password, mask_url_path


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://stacks_opsd@127.0.0.1:5432/db?password=TopSecretPw2",
            "postgresql+psycopg://stacks_opsd@127.0.0.1:5432/db?password=***",
        ),
        (
            "postgresql+psycopg://u@h/db?sslmode=require&sslpassword=TopSecretPw2#x",
            "postgresql+psycopg://u@h/db?sslmode=require&sslpassword=***#x",
        ),
        (
            "postgresql+psycopg://u:Pr0d@Secret:Pa55word@127.0.0.1:5432/db",
            "postgresql+psycopg://***@127.0.0.1:5432/db",
        ),
        ("postgresql+psycopg://u:p@ss@h/db", "postgresql+psycopg://***@h/db"),
        ("postgresql+psycopg://u:pa/ss@h/db", "postgresql+psycopg://***@h/db"),
        (
            "postgresql+psycopg://ops:pw@127.0.0.1:1/audit",
            "postgresql+psycopg://ops:***@127.0.0.1:1/audit",
        ),
        ("sqlite:////var/lib/stacks-opsd/audit.db", "sqlite:////var/lib/stacks-opsd/audit.db"),
        ("http://proxyuser:ProxyPassw0rd-xyz@proxy/api", "http://proxyuser:***@proxy/api"),
    ],
)
def test_a_url_is_shown_without_its_credentials_and_never_raises(url, shown):
    assert mask_url_password(url) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghij",
            "https://hooks.slack.com/...",
        ),
        ("hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghij", "hooks.slack.com/..."),
        ("https://bot:hunter2-secret-pw@hooks.example.org/a b", "https://hooks.example.org/..."),
        ("http://127.0.0.1:99999/x", "http://127.0.0.1:99999/..."),
        ("http://[::1]:9093", "http://[::1]:9093"),
        ("https://user:1234/5678@hooks.example.org/x", "https://hooks.example.org/..."),
    ],
)
def test_a_webhook_url_is_shown_as_its_receiver_only(url, shown):
    assert mask_url_path(url) == shown


def test_an_audit_database_error_hides_a_password_given_in_the_query():
    url = "postgresql+psycopg://ops@127.0.0.1:1/audit?password=TopSecretPw2"
    with pytest.raises(AuditOpenError) as caught:
        AuditStore.open(url, "host:1", ManualClock(), busy_timeout=1)
    message = str(caught.value)
    assert message.startswith(
        "audit database postgresql+psycopg://ops@127.0.0.1:1/audit?password=***:"
    )
    assert "TopSecretPw2" not in message
