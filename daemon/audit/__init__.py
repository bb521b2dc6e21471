"""The append-only, hash-chained audit log of every action the daemon takes."""
