"""The command line's exception tree; `main` prints the message and exits with the code.

CliError (exit 1: a runtime failure)
 └── UsageError (exit 2: bad usage or configuration)
"""


class CliError(Exception):
    exit_code = 1


class UsageError(CliError):
    exit_code = 2
