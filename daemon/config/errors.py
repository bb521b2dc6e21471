"""ConfigError: every problem found in a configuration, one user-facing line each."""


class ConfigError(Exception):
    """The configuration cannot be used; `errors` lists every reason found, one line each."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = list(errors)
