"""One action per container at a time: a non-blocking lock per container id."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ContainerLocks:
    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def try_hold(self, container_id: str) -> Iterator[bool]:
        """Yield True while holding the container's lock, False if another action holds it."""
        with self._guard:
            lock = self._locks.setdefault(container_id, threading.Lock())
        acquired = lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()
