"""The API key comes from api.api_key_file, else the systemd credential, else $STACKS_API_KEY;
a config holding the key is refused, and no message ever repeats the key."""

import logging
import os

import pytest

from daemon.config import ApiConfig, Config, ConfigError, find_api_key, load_config, read_api_key
from tests.config.broken_configs import ADVICE, KEY

FILE_KEY = "sk_stacks_" + "a" * 64
CREDENTIAL_KEY = "sk_stacks_" + "b" * 64
ENV_KEY = "sk_stacks_" + "c" * 64


def _write(path, text, mode=0o600):
    path.write_text(text)
    os.chmod(path, mode)
    return str(path)


def _with_key_file(path: str) -> Config:
    return Config(api=ApiConfig(api_key_file=path))


@pytest.fixture
def credentials(tmp_path):
    directory = tmp_path / "credentials"
    directory.mkdir()
    _write(directory / "stacks_api_key", CREDENTIAL_KEY + "\n", mode=0o400)
    return str(directory)


def test_key_file_wins_over_credential_and_environment(tmp_path, credentials):
    config = _with_key_file(_write(tmp_path / "key", f"  {FILE_KEY}\n"))
    env = {"CREDENTIALS_DIRECTORY": credentials, "STACKS_API_KEY": ENV_KEY}
    assert read_api_key(config, env) == FILE_KEY


def test_credential_wins_over_environment(credentials):
    env = {"CREDENTIALS_DIRECTORY": credentials, "STACKS_API_KEY": ENV_KEY}
    found = find_api_key(Config(), env)
    assert found.secret == CREDENTIAL_KEY
    assert found.origin.startswith("$CREDENTIALS_DIRECTORY/stacks_api_key")


def test_environment_is_used_last_and_stripped(tmp_path):
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path), "STACKS_API_KEY": f" {ENV_KEY}\n"}
    assert read_api_key(Config(), env) == ENV_KEY


def test_no_key_anywhere_names_the_three_places():
    with pytest.raises(ConfigError) as caught:
        read_api_key(Config(), {"STACKS_API_KEY": "  "})
    assert caught.value.errors == [
        "no STACKS API key: set api.api_key_file in the config, provide the systemd credential "
        "stacks_api_key ($CREDENTIALS_DIRECTORY/stacks_api_key), or set $STACKS_API_KEY"
    ]


def test_configured_key_file_that_is_missing_is_an_error_not_a_fallback(tmp_path):
    missing = str(tmp_path / "missing.key")
    with pytest.raises(ConfigError) as caught:
        read_api_key(_with_key_file(missing), {"STACKS_API_KEY": ENV_KEY})
    assert caught.value.errors == [
        f"api.api_key_file: cannot read {missing}: No such file or directory; it must be "
        "readable by the daemon's user and hold the STACKS API key alone"
    ]


def test_empty_key_file_is_an_error(tmp_path):
    path = _write(tmp_path / "key", "\n")
    with pytest.raises(ConfigError, match="is empty; it must be readable by the daemon's user"):
        read_api_key(_with_key_file(path), {})


def test_group_readable_key_file_draws_a_warning(tmp_path, caplog):
    path = _write(tmp_path / "key", FILE_KEY, mode=0o644)
    with caplog.at_level(logging.WARNING, logger="daemon.config.api_key"):
        assert read_api_key(_with_key_file(path), {}) == FILE_KEY
    assert caplog.messages == [
        f"API key file {path} is accessible to others than the daemon's user and groups "
        f"(mode 0644, group {os.stat(path).st_gid}); restrict it with: chmod 600 {path} "
        "(or chmod 640 and a group of the daemon's own)"
    ]
    assert FILE_KEY not in caplog.text


def test_private_key_file_draws_no_warning(tmp_path, caplog):
    path = _write(tmp_path / "key", FILE_KEY, mode=0o600)
    with caplog.at_level(logging.WARNING):
        read_api_key(_with_key_file(path), {})
    assert caplog.messages == []


def test_found_key_repr_hides_the_secret():
    found = find_api_key(Config(), {"STACKS_API_KEY": ENV_KEY})
    assert ENV_KEY not in repr(found)


def test_relative_key_file_is_found_next_to_the_config(tmp_path, monkeypatch):
    directory = tmp_path / "etc"
    directory.mkdir()
    _write(directory / "stacks.key", FILE_KEY)
    (directory / "config.toml").write_text('[api]\napi_key_file = "stacks.key"\n')
    monkeypatch.chdir(tmp_path)
    config = load_config(str(directory / "config.toml"), env={})
    assert read_api_key(config, {}) == FILE_KEY


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
