"""Due events of the simulated world (creation finishing, backups), run lazily in time order.

Nothing runs in the background: before each request the simulator runs every
event due up to the clock's `now`, each with its own due time, so a clock
advanced by a week replays that week in order and in milliseconds.
"""

import heapq
import itertools
from collections.abc import Callable
from datetime import datetime

Action = Callable[[datetime], None]


class Timeline:
    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Action]] = []
        self._order = itertools.count()

    def schedule(self, due: datetime, action: Action) -> None:
        heapq.heappush(self._heap, (due, next(self._order), action))

    def run_until(self, now: datetime) -> None:
        while self._heap and self._heap[0][0] <= now:
            due, _, action = heapq.heappop(self._heap)
            action(due)
