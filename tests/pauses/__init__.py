"""Holds and maintenance windows: time intervals, the pause gate, and its property test."""
