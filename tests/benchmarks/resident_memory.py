"""Resident memory of this process (VmRSS from /proc/self/status), after a full collection."""

import gc
from pathlib import Path

STATUS = Path("/proc/self/status")


def resident_bytes() -> int:
    """Current resident set size in bytes; 0 where /proc is not available.

    Garbage waiting for the cyclic collector is collected first, so the figure is
    live data plus what the allocators keep, not the collector's timing.
    """
    gc.collect()
    try:
        lines = STATUS.read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
