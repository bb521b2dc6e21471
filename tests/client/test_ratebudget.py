"""The shared rate budget: priorities, the reserve for actions, header corrections, Retry-After."""

import threading

import pytest

from daemon.stacks.errors import BudgetExhausted
from daemon.stacks.ratebudget import Priority, RateBudget


def spend(budget: RateBudget, priority: Priority) -> int:
    """How many requests `priority` gets before the budget refuses it."""
    count = 0
    while budget.try_acquire(priority):
        count += 1
    return count


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
    assert budget.window_resets_at.timestamp() == now + 61.5


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
