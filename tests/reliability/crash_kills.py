"""Seeded `kill -9` points: each fires a fixed (seeded) delay after its trigger is first seen.

    points = [KillPoint("backup wait", process, lambda seen: ..., delay=rng.uniform(0, 4))]
    fire(points, observe=lambda: audit_rows(url), timeout=40)

A trigger is an observable event (a `started` audit row appeared, the daemon became
ready, the process was spawned), so a point lands in its phase however slowly the
machine starts processes; `observe()` is called once per tick and its result is
handed to every trigger. Each process is killed by its own pid.
"""

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TICK = 0.02


@dataclass
class KillPoint:
    phase: str
    process: subprocess.Popen
    trigger: Callable[[Any], bool]
    delay: float
    triggered_at: float | None = None
    killed_alive: bool | None = None  # True: SIGKILLed while running; False: it had exited

    def __repr__(self) -> str:
        return f"KillPoint({self.phase!r}, delay={self.delay:.2f}, killed={self.killed_alive})"


def fire(points: list[KillPoint], observe: Callable[[], Any], timeout: float) -> None:
    """Kill every point's process at its time; fail if a trigger is not seen within `timeout`."""
    deadline = time.monotonic() + timeout
    pending = list(points)
    while pending:
        now = time.monotonic()
        if now > deadline:
            raise AssertionError(f"kill points never triggered within {timeout}s: {pending}")
        seen = observe()
        for point in list(pending):
            if point.process.poll() is not None:
                point.killed_alive = False
                pending.remove(point)
                continue
            if point.triggered_at is None and point.trigger(seen):
                point.triggered_at = now
            if point.triggered_at is not None and now >= point.triggered_at + point.delay:
                point.process.kill()
                point.killed_alive = point.process.wait(timeout=10) == -signal.SIGKILL
                pending.remove(point)
        time.sleep(TICK)
