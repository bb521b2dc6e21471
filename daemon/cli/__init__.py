"""The `stacks-opsd` command line: one module per command."""
