"""The shared rate budget: priorities, the reserve for actions, header corrections, Retry-After."""

import math
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from daemon.clock import ManualClock
from daemon.stacks import BudgetExhausted, Priority, RateBudget, rate_limit_headers


def spend(budget: RateBudget, priority: Priority) -> int:
    """How many requests `priority` gets before the budget refuses it."""
    count = 0
    while budget.try_acquire(priority):
        count += 1
    return count


def seconds_to_admit(
    budget: RateBudget, clock, priority: Priority, max_wait: float = 3700
) -> float:
    """Simulated seconds `acquire(priority)` waited before the budget let a request out."""
    started = clock.monotonic()
    budget.acquire(priority, max_wait=max_wait)
    return clock.monotonic() - started


def test_low_priorities_never_use_the_last_reserve_for_actions(clock):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock)
    assert budget.available(Priority.METRICS) == 45
    assert spend(budget, Priority.METRICS) == 45
    assert spend(budget, Priority.BACKUPS) == 5
    assert spend(budget, Priority.STATUS) == 5
    assert budget.available(Priority.ACTION) == 5
    assert spend(budget, Priority.ACTION) == 5
    assert budget.remaining == 0


def test_the_window_resets_after_a_minute(clock):
    budget = RateBudget(limit_per_minute=5, reserve_for_actions=0, clock=clock)
    assert spend(budget, Priority.ACTION) == 5
    clock.advance(59)
    assert not budget.try_acquire(Priority.ACTION)
    clock.advance(1)
    assert budget.try_acquire(Priority.ACTION)


def test_acquire_waits_on_the_clock_until_the_next_window(clock):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock)
    spend(budget, Priority.METRICS)
    started = clock.monotonic()
    budget.acquire(Priority.METRICS)
    assert 59.0 <= clock.monotonic() - started <= 61.0


def test_an_action_is_not_kept_waiting_by_exhausted_metrics(clock):
    budget = RateBudget(clock=clock)
    spend(budget, Priority.METRICS)
    started = clock.monotonic()
    budget.acquire(Priority.ACTION)
    assert clock.monotonic() == started


def test_acquire_is_bounded(clock):
    budget = RateBudget(clock=clock)
    budget.on_retry_after(600)
    started = clock.monotonic()
    with pytest.raises(BudgetExhausted) as caught:
        budget.acquire(Priority.METRICS, max_wait=120)
    assert 120 <= clock.monotonic() - started <= 121
    assert "METRICS" in str(caught.value) and "rate_limit_per_minute" in str(caught.value)


def test_a_lower_server_limit_shrinks_the_reserve_instead_of_starving_reads(clock):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock)
    budget.update_from_headers(limit=6, remaining=6, reset_epoch=None)
    assert budget.floor(Priority.BACKUPS) == 1
    assert spend(budget, Priority.METRICS) == 5
    assert spend(budget, Priority.ACTION) == 1


def test_headers_lower_the_local_view_within_a_window(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    budget.acquire(Priority.STATUS)
    end = budget.window_resets_at.timestamp()
    budget.update_from_headers(limit=60, remaining=20, reset_epoch=end)  # another program spends
    assert budget.remaining == 20
    budget.update_from_headers(limit=60, remaining=40, reset_epoch=end)  # an older answer
    assert budget.remaining == 20


def test_headers_of_a_new_server_window_are_adopted(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    spend(budget, Priority.ACTION)
    now = clock.now().timestamp()
    budget.update_from_headers(limit=120, remaining=119, reset_epoch=now + 61.5)
    assert (budget.limit, budget.remaining) == (120, 119)
    # 61.5 s is more than a fixed window can have left: the server's clock is ahead of
    # ours, and on our clock its window ends within the minute.
    assert budget.window_resets_at.timestamp() == now + 60


def test_a_reset_far_in_the_future_is_clock_skew_and_ignored(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    budget.acquire(Priority.STATUS)
    end = budget.window_resets_at
    budget.update_from_headers(limit=60, remaining=50, reset_epoch=clock.now().timestamp() + 3600)
    assert budget.window_resets_at == end
    assert budget.remaining == 50


def test_retry_after_blocks_every_priority_and_is_counted(clock):
    budget = RateBudget(clock=clock)
    budget.on_retry_after(12)
    assert budget.throttled_total == 1
    assert budget.blocked_until is not None
    assert all(budget.available(p) == 0 for p in Priority)
    assert not budget.try_acquire(Priority.ACTION)
    started = clock.monotonic()
    budget.acquire(Priority.ACTION)
    assert 12.0 <= clock.monotonic() - started <= 13.0
    assert budget.blocked_until is None


def test_threads_sharing_a_budget_never_exceed_the_limit(clock):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock)
    granted = []

    def work(priority):
        granted.extend(priority for _ in range(spend(budget, priority)))

    threads = [threading.Thread(target=work, args=(p,)) for p in Priority for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(granted) == 60
    assert granted.count(Priority.METRICS) <= 45


@pytest.mark.parametrize(("limit", "reserve"), [(0, 0), (10, 10), (10, -1)])
def test_nonsense_settings_are_refused(limit, reserve):
    with pytest.raises(ValueError):
        RateBudget(limit_per_minute=limit, reserve_for_actions=reserve)


# -- hostile headers: the budget always recovers within a window -----------------------


def test_a_spent_window_reported_just_after_ours_rolled_over_holds_requests_for_one_window(
    clock,
):
    """The reproduced defect: Remaining 0 with a past Reset used to block every request forever."""
    budget = RateBudget(limit_per_minute=60, clock=clock)
    budget.acquire(Priority.STATUS)
    clock.advance(60)  # our window rolled over; the answer was late, or the clocks differ
    budget.update_from_headers(limit=60, remaining=0, reset_epoch=clock.now().timestamp() - 1)
    assert not budget.try_acquire(Priority.ACTION)  # the server may still be right: be careful
    assert seconds_to_admit(budget, clock, Priority.ACTION) == pytest.approx(60, abs=0.01)
    assert seconds_to_admit(budget, clock, Priority.METRICS) == 0


RESETS = {
    "missing": None,
    "past": -1.0,
    "long past": -86_400.0,
    "an hour ahead": 3600.0,
    "just beyond the slack": 65.5,
    "epoch 0": "abs:0",
    "absurd future": "abs:1e300",
    "absurd past": "abs:-1e300",
}


@pytest.mark.parametrize("reset", RESETS.values(), ids=RESETS.keys())
@pytest.mark.parametrize("priority", list(Priority))
def test_a_spent_window_without_a_usable_reset_holds_back_every_priority_for_at_most_a_window(
    clock, reset, priority
):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    now = clock.now().timestamp()
    if isinstance(reset, str):
        reset_epoch = float(reset.removeprefix("abs:"))
    else:
        reset_epoch = None if reset is None else now + reset
    budget.update_from_headers(limit=60, remaining=0, reset_epoch=reset_epoch)
    assert budget.remaining == 0
    assert budget.window_resets_at.timestamp() <= now + 60
    assert seconds_to_admit(budget, clock, priority) <= 60.01


@pytest.mark.parametrize("reset_in", [10.0, 60.0, 64.9])
def test_a_plausible_reset_still_names_the_window_it_ends(clock, reset_in):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    budget.update_from_headers(
        limit=60, remaining=0, reset_epoch=clock.now().timestamp() + reset_in
    )
    assert seconds_to_admit(budget, clock, Priority.METRICS) == pytest.approx(
        min(reset_in, 60), abs=0.01
    )


def test_answers_without_headers_leave_the_budget_to_its_own_count(clock):
    budget = RateBudget(limit_per_minute=5, reserve_for_actions=0, clock=clock)
    budget.acquire(Priority.ACTION)
    budget.update_from_headers(None, None, None)
    assert (budget.limit, budget.remaining) == (5, 4)
    assert spend(budget, Priority.ACTION) == 4
    assert seconds_to_admit(budget, clock, Priority.ACTION) == pytest.approx(60, abs=0.01)


def test_remaining_above_the_limit_is_read_as_the_limit(clock):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=0, clock=clock)
    budget.update_from_headers(limit=10, remaining=500, reset_epoch=clock.now().timestamp() + 30)
    assert (budget.limit, budget.remaining) == (10, 10)
    assert spend(budget, Priority.ACTION) == 10


def test_negative_numbers_mean_spent_or_nothing(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    budget.update_from_headers(limit=-5, remaining=-3, reset_epoch=-1.0)
    assert (budget.limit, budget.remaining) == (60, 0)
    assert seconds_to_admit(budget, clock, Priority.METRICS) <= 60.01
    assert budget.remaining == 59


@pytest.mark.parametrize("limit", [0, 10**7, 10**30, math.inf, math.nan])
def test_an_impossible_limit_is_ignored(clock, limit):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock)
    budget.update_from_headers(limit=limit, remaining=None, reset_epoch=None)
    assert budget.limit == 60
    assert budget.available(Priority.METRICS) == 45


def test_a_limit_of_one_serves_every_priority_in_turn(clock):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock)
    budget.update_from_headers(limit=1, remaining=1, reset_epoch=None)
    assert all(budget.floor(p) == 0 for p in Priority)
    for priority in reversed(Priority):
        assert seconds_to_admit(budget, clock, priority) <= 60.01


def test_a_large_reserve_still_lets_metrics_out_of_a_fresh_window(clock):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=50, clock=clock)
    assert budget.floor(Priority.METRICS) == 59
    assert budget.try_acquire(Priority.METRICS)
    assert not budget.try_acquire(Priority.METRICS)


def test_a_raised_limit_with_no_window_running_is_all_available(clock):
    """Lowered to 3, then raised without a Remaining: low priorities used to starve for good."""
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock)
    budget.update_from_headers(limit=3, remaining=None, reset_epoch=None)
    clock.advance(60)
    budget.update_from_headers(limit=600, remaining=None, reset_epoch=None)
    assert (budget.limit, budget.remaining) == (600, 600)
    assert seconds_to_admit(budget, clock, Priority.METRICS) == 0


def test_a_limit_lowered_mid_window_caps_what_is_left_and_the_next_window(clock):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock)
    budget.acquire(Priority.ACTION)
    budget.update_from_headers(limit=6, remaining=None, reset_epoch=None)
    assert (budget.limit, budget.remaining) == (6, 6)
    assert spend(budget, Priority.METRICS) == 5
    clock.advance(60)
    assert budget.remaining == 6


def test_a_header_reset_a_minute_ahead_every_time_holds_back_only_while_it_lasts(clock):
    """A server whose window never ends: once its answers stop, requests flow within a minute."""
    budget = RateBudget(limit_per_minute=60, clock=clock)
    for _ in range(10):
        budget.update_from_headers(60, 0, clock.now().timestamp() + 65)
        assert not budget.try_acquire(Priority.ACTION)
        clock.advance(30)
    assert seconds_to_admit(budget, clock, Priority.METRICS) <= 60.01


def test_the_lower_remaining_wins_even_when_the_reset_is_past(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    budget.acquire(Priority.ACTION)
    past = clock.now().timestamp() - 5
    budget.update_from_headers(60, 20, past)
    budget.update_from_headers(60, 50, past)
    assert budget.remaining == 20


def test_the_lower_remaining_wins_when_the_server_clock_runs_ahead(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    budget.acquire(Priority.ACTION)
    reset = clock.now().timestamp() + 63  # the server's clock is 3 s ahead of ours
    budget.update_from_headers(60, 50, reset)
    clock.advance(2)
    budget.update_from_headers(60, 55, reset)  # an older answer of the same window
    assert budget.remaining == 50
    assert budget.seconds_until_reset() <= 60


def test_no_request_is_admitted_during_a_retry_after_whatever_the_headers_say(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    budget.on_retry_after(30)
    budget.update_from_headers(120, 120, clock.now().timestamp() + 30)
    clock.advance(29.9)
    assert not any(budget.try_acquire(p) for p in Priority)
    clock.advance(0.1)
    assert budget.try_acquire(Priority.METRICS)


@pytest.mark.parametrize(
    ("seconds", "blocked_for"),
    [(math.inf, 3600), (1e300, 3600), (10**400, 3600), (-5, 0), (math.nan, 60)],
    ids=["inf", "1e300", "10**400", "negative", "nan"],
)
def test_a_retry_after_is_honoured_for_at_most_an_hour(clock, seconds, blocked_for):
    budget = RateBudget(clock=clock)
    budget.on_retry_after(seconds)
    assert seconds_to_admit(budget, clock, Priority.METRICS) == pytest.approx(blocked_for, abs=0.01)


class RewindableClock(ManualClock):
    """A wall clock that can be set back, as NTP does to a real one."""

    def rewind(self, seconds: float) -> None:
        with self._lock:
            self._now -= timedelta(seconds=seconds)


def test_a_clock_set_back_does_not_stretch_the_window_or_the_block():
    clock = RewindableClock(datetime(2026, 5, 17, 12, tzinfo=UTC))
    budget = RateBudget(limit_per_minute=5, reserve_for_actions=0, clock=clock)
    spend(budget, Priority.ACTION)
    budget.on_retry_after(3600)
    clock.rewind(86_400)
    now = clock.now()
    assert budget.window_resets_at <= now + timedelta(seconds=60)
    assert budget.blocked_until <= now + timedelta(seconds=3600)
    assert seconds_to_admit(budget, clock, Priority.ACTION) <= 3600.01


# -- reading the headers ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "1e400",
        "1_000",
        "0x10",
        "",
        " ",
        "abc",
        "٣".encode(),  # an Arabic-Indic digit, which float() would take
        b"\xb2",  # a superscript two in Latin-1
        "60, 60",
        "5 requests",
    ],
)
def test_a_header_that_is_not_a_finite_number_is_missing(value):
    headers = httpx.Headers(
        {"X-RateLimit-Limit": value, "X-RateLimit-Remaining": value, "X-RateLimit-Reset": value}
    )
    assert rate_limit_headers(headers) == (None, None, None)


def test_numbers_are_read_as_sent_and_judged_by_the_budget():
    headers = httpx.Headers(
        {"X-RateLimit-Limit": " 60 ", "X-RateLimit-Remaining": "-3", "X-RateLimit-Reset": "1.5e9"}
    )
    assert rate_limit_headers(headers) == (60, -3, 1.5e9)
    assert rate_limit_headers(httpx.Headers({"X-RateLimit-Limit": "59.9"})) == (59, None, None)
    assert rate_limit_headers(httpx.Headers({"X-RateLimit-Limit": "1e30"}))[0] == int(1e30)
