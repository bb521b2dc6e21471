"""stacks-opsd: an operations daemon for containers hosted on STACKS."""

__version__ = "0.1.0"
