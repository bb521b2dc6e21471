"""Operational policies: pure decisions over (snapshot, audit history, now)."""
