"""A config holding the API key is refused, and no message ever repeats the key."""

import pytest

from daemon.config import ConfigError
from tests.config.broken_configs import ADVICE, KEY


@pytest.mark.parametrize(
    "text",
    [
        f'[api]\nAPI_KEY = "{KEY}"\n',
        f'[api]\n"{KEY}" = 1\n',
        f'[policies.auto_restart]\nmatch = ["web-*", "{KEY}"]\n',
        f'[daemon]\ninstance_id = "{KEY.upper().replace("SK_STACKS_", "sk_stacks_")}"\n',
        f'[extra]\nnested = {{ deeper = "{KEY}" }}\n',
        f'[api]\napi_key = """\n{KEY}\n"""\n',
    ],
)
def test_key_anywhere_is_refused_without_echoing_it(load_text, text):
    with pytest.raises(ConfigError) as caught:
        load_text(text)
    message = str(caught.value)
    assert ADVICE in message
    assert KEY.lower() not in message.lower()
    assert KEY[10:30] not in message.lower()


def test_key_in_an_unknown_section_is_reported_as_the_key_not_as_unknown(errors_of):
    assert errors_of(f'[api]\nkey = "{KEY}"\n') == [f"config.toml: api.key: {ADVICE}"]


def test_other_errors_are_still_reported_beside_the_key(errors_of):
    errors = errors_of(f'[api]\napi_key = "{KEY}"\ntimeout = "soon"\n')
    assert errors == [
        f"config.toml: api.api_key: {ADVICE}",
        'config.toml: api.timeout: expected a duration like "5m", got "soon"',
    ]


def test_a_key_shaped_string_of_another_length_is_not_mistaken_for_a_key(load_text):
    config = load_text('[daemon]\ninstance_id = "sk_stacks_0123"\n')
    assert config.daemon.instance_id == "sk_stacks_0123"
