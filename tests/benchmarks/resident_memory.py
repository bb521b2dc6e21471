"""Resident memory of this process: VmRSS from /proc/self/status (Linux)."""

from pathlib import Path

STATUS = Path("/proc/self/status")


def resident_bytes() -> int:
    """Current resident set size in bytes; 0 where /proc is not available."""
    try:
        lines = STATUS.read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
