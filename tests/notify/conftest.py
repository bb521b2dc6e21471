"""Fixtures for notification config tests: write TOML to a temporary config.toml and load it."""

from collections.abc import Callable

import pytest

from daemon.config import Config, ConfigError, load_config


@pytest.fixture
def load_text(tmp_path) -> Callable[[str], Config]:
    def load(text: str) -> Config:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        return load_config(str(path), env={})

    return load


@pytest.fixture
def errors_of(load_text) -> Callable[[str], list[str]]:
    def errors(text: str) -> list[str]:
        with pytest.raises(ConfigError) as caught:
            load_text(text)
        return caught.value.errors

    return errors
