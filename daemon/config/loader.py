"""load_config: find the TOML file, parse it with tomli, and validate it into a Config.

The path is the argument (from --config), else $STACKS_OPSD_CONFIG, else
/etc/stacks-opsd/config.toml. A file that was named explicitly must exist; when the
default file is absent, every default applies (Config.source is then ""). Relative
`*_file` paths in the config are relative to the config file's directory.
"""

import dataclasses
import os
from collections.abc import Mapping

import tomli

from daemon.config.errors import ConfigError
from daemon.config.model import Config
from daemon.config.secret_guard import holds_key, keys_in_text, without_keys
from daemon.config.validate import validate
from daemon.secrets import redact_keys

DEFAULT_CONFIG_PATH = "/etc/stacks-opsd/config.toml"
CONFIG_PATH_VARIABLE = "STACKS_OPSD_CONFIG"


def load_config(path: str | None, env: Mapping[str, str] = os.environ) -> Config:
    """Return the validated Config, or raise ConfigError listing every problem."""
    if path is not None:
        origin = "given with --config"
    elif env.get(CONFIG_PATH_VARIABLE):
        path, origin = env[CONFIG_PATH_VARIABLE], f"named by ${CONFIG_PATH_VARIABLE}"
    else:
        path, origin = DEFAULT_CONFIG_PATH, ""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        if not origin:
            return Config()
        raise ConfigError([f"{path}: no such config file ({origin})"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the config file: {exc.strerror}"]) from None
    label = os.path.basename(path) or path
    config = _parse(data, label)
    return _resolve_files(dataclasses.replace(config, source=path), os.path.dirname(path))


def _parse(data: bytes, label: str) -> Config:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [f"{label}: not UTF-8 text (byte {exc.start}); save it as UTF-8"]
        ) from None
    try:
        document = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        syntax = f"{label}: line {exc.lineno}, column {exc.colno}: invalid TOML: {exc.msg}"
        raise ConfigError([*keys_in_text(text, label), syntax]) from None
    errors = [] if holds_key(document) else keys_in_text(text, label)
    document, key_errors = without_keys(document, label)
    config, validation_errors = validate(Config, document, label)
    errors += key_errors + validation_errors
    if errors:
        raise ConfigError([redact_keys(error) for error in errors])
    return config


def _resolve_files(config: Config, base: str) -> Config:
    """Make relative `*_file` paths relative to the directory of the config file."""
    sections = {}
    for field in dataclasses.fields(config):
        section = getattr(config, field.name)
        if not dataclasses.is_dataclass(section):
            continue
        files = {
            name: os.path.join(base, value)
            for name, value in vars(section).items()
            if name.endswith("_file") and value and not os.path.isabs(value)
        }
        sections[field.name] = dataclasses.replace(section, **files)
    return dataclasses.replace(config, **sections)
