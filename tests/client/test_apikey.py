"""The API key is validated with a clear reason and never shown."""

import pickle

import pytest

from daemon.secrets import redact_keys
from daemon.stacks import ApiKey, InvalidApiKey
from tests.client.conftest import SECRET

HEX = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("", "empty"),
        ("pk_stacks_" + HEX, "does not start with 'sk_stacks_'"),
        ("sk_stacks_" + HEX[:-1], "63 characters"),
        ("sk_stacks_" + HEX + "0", "65 characters"),
        ("sk_stacks_" + HEX.upper(), "uppercase"),
        ("sk_stacks_" + HEX[:-1] + "g", "other than 0-9 and a-f"),
        ("sk_stacks_" + HEX[:30] + " " + HEX[31:], "other than 0-9 and a-f"),
    ],
)
def test_a_malformed_key_is_refused_with_the_reason_and_without_the_key(secret, reason):
    with pytest.raises(InvalidApiKey) as caught:
        ApiKey(secret)
    message = str(caught.value)
    assert reason in message
    assert "dashboard" in message  # says what to do
    if secret:
        assert secret not in message
        assert HEX[:16] not in message and HEX.upper()[:16] not in message


def test_a_valid_key_is_accepted_and_a_trailing_newline_ignored():
    assert ApiKey(SECRET + "\n") == ApiKey(SECRET)
    assert ApiKey(SECRET).bearer() == f"Bearer {SECRET}"
    assert ApiKey(SECRET).bearer_header() == {"Authorization": f"Bearer {SECRET}"}


def test_repr_str_and_format_show_only_a_fingerprint():
    key = ApiKey(SECRET)
    for shown in (repr(key), str(key), f"{key}", f"{key!r}", repr([key]), repr({"k": key})):
        assert SECRET not in shown
        assert HEX not in shown and HEX[-4:] not in shown
        assert key.fingerprint() in shown


def test_fingerprint_is_stable_and_differs_between_keys():
    other = ApiKey("sk_stacks_" + "f" * 64)
    assert ApiKey(SECRET).fingerprint() == ApiKey(SECRET).fingerprint()
    assert ApiKey(SECRET).fingerprint() != other.fingerprint()
    assert len(ApiKey(SECRET).fingerprint(16)) == 16


def test_a_key_cannot_be_pickled():
    with pytest.raises(TypeError):
        pickle.dumps(ApiKey(SECRET))


def test_redact_keys_scrubs_key_shaped_text():
    assert redact_keys(f"bad key {SECRET}!") == "bad key sk_stacks_[redacted]!"
