"""Where the config file is found, how file-level problems read, and what a loaded Config holds."""

import pytest

from daemon.config import Config, ConfigError, load_config
from daemon.config import loader as loader_module


def test_argument_beats_the_environment_variable(tmp_path):
    given = tmp_path / "given.toml"
    given.write_text("[daemon]\ndry_run = true\n")
    named = tmp_path / "named.toml"
    named.write_text('[daemon]\nlog_format = "json"\n')
    config = load_config(str(given), env={"STACKS_OPSD_CONFIG": str(named)})
    assert config.daemon.dry_run is True
    assert config.daemon.log_format == "text"
    assert config.source == str(given)


def test_environment_variable_is_used_without_an_argument(tmp_path):
    named = tmp_path / "named.toml"
    named.write_text('[daemon]\nlog_format = "json"\n')
    config = load_config(None, env={"STACKS_OPSD_CONFIG": str(named)})
    assert config.daemon.log_format == "json"
    assert config.source == str(named)


def test_default_file_is_read_when_present(tmp_path, monkeypatch):
    default = tmp_path / "config.toml"
    default.write_text("[daemon]\ndry_run = true\n")
    monkeypatch.setattr(loader_module, "DEFAULT_CONFIG_PATH", str(default))
    assert load_config(None, env={"STACKS_OPSD_CONFIG": ""}).daemon.dry_run is True


def test_absent_default_file_means_all_defaults(tmp_path, monkeypatch):
    monkeypatch.setattr(loader_module, "DEFAULT_CONFIG_PATH", str(tmp_path / "absent.toml"))
    assert load_config(None, env={}) == Config(source="")


def test_missing_file_given_with_the_argument_is_an_error(tmp_path):
    missing = str(tmp_path / "missing.toml")
    with pytest.raises(ConfigError) as caught:
        load_config(missing, env={})
    assert caught.value.errors == [f"{missing}: no such config file (given with --config)"]


def test_missing_file_named_by_the_environment_is_an_error(tmp_path):
    missing = str(tmp_path / "missing.toml")
    with pytest.raises(ConfigError) as caught:
        load_config(None, env={"STACKS_OPSD_CONFIG": missing})
    assert caught.value.errors == [f"{missing}: no such config file (named by $STACKS_OPSD_CONFIG)"]


def test_a_directory_is_not_a_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file: Is a directory"):
        load_config(str(tmp_path), env={})


def test_non_utf8_file_is_refused_with_advice(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[daemon]\ninstance_id = "café"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), env={})
    assert caught.value.errors == ["latin1.toml: not UTF-8 text (byte 27); save it as UTF-8"]


def test_errors_name_the_file_by_its_basename(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text("[poll]\nstatus_interval = 0\n")
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), env={})
    assert caught.value.errors == [
        'site.toml: poll.status_interval: expected a positive duration or "auto", got "0s"'
    ]


def test_config_error_text_is_every_line(load_text):
    with pytest.raises(ConfigError) as caught:
        load_text("[api]\ntimeout = 0\nrate_limit_per_minute = 0\n")
    assert str(caught.value) == (
        'config.toml: api.timeout: expected a positive duration, got "0s"\n'
        "config.toml: api.rate_limit_per_minute: expected a positive integer, got 0"
    )


def test_relative_file_paths_are_relative_to_the_config_directory(tmp_path):
    directory = tmp_path / "etc"
    directory.mkdir()
    path = directory / "config.toml"
    path.write_text(
        '[api]\napi_key_file = "stacks.key"\n'
        '[daemon]\ntls_cert_file = "/srv/tls.crt"\ntls_key_file = "tls/tls.key"\n'
    )
    config = load_config(str(path), env={})
    assert config.api.api_key_file == str(directory / "stacks.key")
    assert config.daemon.tls_cert_file == "/srv/tls.crt"
    assert config.daemon.tls_key_file == str(directory / "tls" / "tls.key")
