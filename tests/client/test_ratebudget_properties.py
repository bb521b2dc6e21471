"""Property: whatever the headers said, the budget recovers within a window once they stop.

Random runs mix hostile and honest `X-RateLimit-*` triples, Retry-After values, clock
advances, acquires at random priorities and reservations. After every step the
budget's invariants hold; once the headers stop (answers carry none, or those of an
honest server), every priority is admitted within one window plus the Retry-After
being honoured, measured in simulated seconds on a ManualClock.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.clock import ManualClock
from daemon.stacks import WINDOW_SECONDS, BudgetExhausted, Priority, RateBudget, RequestDeferred

START = datetime(2026, 5, 17, 12, tzinfo=UTC)
MAX_RETRY_AFTER = 3600.0  # what `retry_after_seconds` caps a header at
TICK = 0.001  # the clock's microsecond steps and the budget's float seconds
LAST_SLEEP = 0.011  # acquire's shortest sleep, taken when microsecond rounding falls short

priorities = st.sampled_from(list(Priority))
counts = st.one_of(
    st.none(),
    st.integers(-10, 130),
    st.sampled_from([0, 1, 2, 10**6, 10**6 + 1, 10**12, 10**30, -(10**30)]),
)
resets = st.one_of(
    st.none(),
    st.tuples(st.just("in"), st.floats(-4000, 4000)),
    st.tuples(st.just("in"), st.floats(55, 70)),  # around a window and its clock-skew slack
    st.sampled_from(
        [("in", 0.0), ("in", 60.0), ("in", 65.0), ("in", 65.001), ("at", 0.0), ("at", 1e300)]
    ),
    st.tuples(st.just("at"), st.sampled_from([-1e300, 1.0])),
)
headers = st.tuples(st.just("headers"), counts, counts, resets)
# Up to 5 minutes: an hour (the cap) behaves alike and is a unit test; here it would
# only cost 3,600 one-second sleeps per run.
retry_after = st.tuples(st.just("retry_after"), st.floats(0, 300))
advance = st.tuples(st.just("advance"), st.floats(0, 200))
try_acquire = st.tuples(st.just("try_acquire"), priorities)
acquire = st.tuples(st.just("acquire"), priorities, st.floats(0, 90))
inside = st.lists(
    st.one_of(headers, retry_after, try_acquire, st.tuples(st.just("advance"), st.floats(0, 5))),
    max_size=5,
)
reserved = st.tuples(st.just("reserved"), priorities, st.integers(1, 4), st.floats(0, 70), inside)
steps = st.lists(
    st.one_of(headers, retry_after, advance, try_acquire, acquire, reserved), max_size=25
)


@dataclass
class Run:
    """A budget on a manual clock, driven step by step, checked after every step."""

    clock: ManualClock = field(default_factory=lambda: ManualClock(START))
    budget: RateBudget = field(init=False)

    def __post_init__(self) -> None:
        self.budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=self.clock)

    def play(self, steps) -> None:
        for step in steps:
            self.step(step)
            self.check()

    def step(self, step) -> None:
        kind, *args = step
        budget, clock = self.budget, self.clock
        if kind == "headers":
            limit, remaining, reset = args
            budget.update_from_headers(limit, remaining, self.reset_epoch(reset))
        elif kind == "retry_after":
            budget.on_retry_after(args[0])
        elif kind == "advance":
            clock.advance(args[0])
        elif kind == "try_acquire":
            blocked = budget.blocked_until is not None
            granted = budget.try_acquire(args[0])
            assert not (blocked and granted), "a request was admitted during a Retry-After"
        elif kind == "acquire":
            self.acquire(*args)
        elif kind == "reserved":
            self.reserve(*args)

    def acquire(self, priority: Priority, max_wait: float) -> None:
        blocked = self.budget.blocked_until
        try:
            self.budget.acquire(priority, max_wait=max_wait)
        except RequestDeferred:
            assert blocked is not None
        except BudgetExhausted:
            return
        else:
            assert blocked is None or self.clock.now() >= blocked, "admitted during Retry-After"

    def reserve(self, priority: Priority, count: int, max_wait: float, inner) -> None:
        try:
            with self.budget.reserved(priority, count, max_wait=max_wait):
                assert self.budget.blocked_until is None
                for step in inner:
                    self.step(step)
                    self.check()
                    try:
                        started = self.clock.monotonic()
                        self.budget.acquire(priority, max_wait=0)
                        assert self.clock.monotonic() == started
                    except RequestDeferred:
                        pass
                    except BudgetExhausted:
                        pass  # the reserved units are used up: an ordinary acquire
                    self.check()
        except BudgetExhausted:
            pass
        self.check()

    def reset_epoch(self, reset) -> float | None:
        if reset is None:
            return None
        how, value = reset
        return self.clock.now().timestamp() + value if how == "in" else value

    def check(self) -> None:
        """The invariants, as a reader of the budget sees them."""
        budget, now = self.budget, self.clock.now()
        limit, remaining = budget.limit, budget.remaining
        assert limit >= 1
        assert 0 <= remaining <= limit
        assert all(0 <= budget.floor(p) < limit for p in Priority)
        end = budget.window_resets_at
        if remaining < limit:
            assert end is not None, "spent requests that no window end will give back"
        if end is not None:
            tick = timedelta(seconds=TICK)  # datetimes hold microseconds
            assert now - tick < end <= now + timedelta(seconds=WINDOW_SECONDS) + tick
        assert 0 <= budget.seconds_until_reset() <= WINDOW_SECONDS + TICK
        blocked = budget.blocked_until
        if blocked is not None:
            assert blocked <= now + timedelta(seconds=MAX_RETRY_AFTER + TICK)

    def block_left(self) -> float:
        blocked = self.budget.blocked_until
        return 0.0 if blocked is None else (blocked - self.clock.now()).total_seconds()

    def seconds_to_admit(self, priority: Priority) -> float:
        started = self.clock.monotonic()
        self.budget.acquire(priority, max_wait=WINDOW_SECONDS + MAX_RETRY_AFTER + 10)
        return self.clock.monotonic() - started


@dataclass
class HonestServer:
    """A fixed window of `limit` requests starting at the first request after the last."""

    limit: int
    clock: ManualClock
    start: float | None = None
    count: int = 0

    def answer(self) -> tuple[int, int, float]:
        now = self.clock.now().timestamp()
        if self.start is None or now >= self.start + WINDOW_SECONDS:
            self.start, self.count = now, 0
        self.count += 1
        assert self.count <= self.limit, "the budget let more requests out than the key allows"
        return self.limit, self.limit - self.count, self.start + WINDOW_SECONDS


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(steps=steps)
def test_invariants_hold_and_every_priority_is_admitted_within_a_window_once_headers_stop(
    steps,
):
    for priority in Priority:
        run = Run()  # the same deterministic run again for each priority
        run.play(steps)
        bound = max(WINDOW_SECONDS, run.block_left())
        assert run.seconds_to_admit(priority) <= bound + LAST_SLEEP
        run.check()


@SETTINGS
@given(steps=steps, limit=st.integers(1, 100), order=st.permutations(list(Priority)))
def test_with_an_honest_server_after_them_each_request_is_admitted_within_a_window(
    steps, limit, order
):
    run = Run()
    run.play(steps)
    server = HonestServer(limit, run.clock)
    bound = max(WINDOW_SECONDS, run.block_left())
    for priority in order * 2:
        assert run.seconds_to_admit(priority) <= bound + LAST_SLEEP
        run.budget.update_from_headers(*server.answer())
        run.check()
        bound = WINDOW_SECONDS
