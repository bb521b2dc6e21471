"""Runs decided actions on worker threads, at most one in flight per container.

The status job must never wait for a slow action (a pre-change backup can take
minutes), so decisions are handed to a small pool. A container that already has
an action in flight is skipped this round; the next evaluation decides again
from fresh state.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from daemon.clock import StopRequested
from policies import Decision

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, perform: Callable[[Decision], object], workers: int = 4) -> None:
        self._perform = perform
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="action")
        self._busy: set[str] = set()
        self._futures: set[Future] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, decision: Decision) -> bool:
        """Start `decision` unless its container is busy; False when skipped."""
        with self._lock:
            if self._closed or decision.container_id in self._busy:
                return False
            self._busy.add(decision.container_id)
            future = self._pool.submit(self._run, decision)
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return True

    def _run(self, decision: Decision) -> None:
        try:
            self._perform(decision)
        except StopRequested:
            log.info("%s on %s interrupted: stopping", decision.action, decision.container_name)
        except Exception:
            log.exception("action %s on %s failed", decision.action, decision.container_name)
        finally:
            with self._lock:
                self._busy.discard(decision.container_id)

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._futures.discard(future)

    def drain(self, timeout: float) -> bool:
        """Refuse new actions, wait up to `timeout` seconds for in-flight ones; True when
        none is left."""
        with self._lock:
            self._closed = True
            pending = set(self._futures)
        _, not_done = wait(pending, timeout=timeout)
        return not not_done
