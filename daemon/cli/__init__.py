"""The `stacks-opsd` command line: one module per command.

`main.py` parses the arguments and dispatches to a command module's handler;
`startup.py` is what every command does first (config, API key, instance name);
`operator_session.py` gives the commands that act a client, the audit store and the
executor; `progress.py` shows what they wait for; `errors.py` is the exception tree
whose message `main` prints before it exits with the tree's code.
"""
