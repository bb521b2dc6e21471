"""`RateBudget.reserved()`: a state check and the change it authorises go out without a wait."""

import threading

import pytest

from daemon.stacks import BudgetExhausted, Priority, RateBudget, RequestDeferred


def spend_down_to(budget: RateBudget, left: int) -> None:
    while budget.remaining > left:
        assert budget.try_acquire(Priority.ACTION)


def in_thread(work):
    """`work()` run on another thread; its result, or the exception it raised."""
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(_call(work)))
    thread.start()
    thread.join(timeout=10)
    return outcome[0]


def _call(work):
    try:
        return work()
    except Exception as exc:
        return exc


def test_the_units_are_taken_when_the_block_is_entered(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    with budget.reserved(Priority.ACTION, 2):
        assert budget.remaining == 58
        budget.acquire(Priority.ACTION)
        budget.acquire(Priority.ACTION)
        assert budget.remaining == 58


def test_the_check_and_the_change_never_wait_even_when_the_window_is_spent(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    spend_down_to(budget, 2)
    with budget.reserved(Priority.ACTION, 2):
        assert budget.remaining == 0
        started = clock.monotonic()
        budget.acquire(Priority.STATUS)  # read the container's status
        budget.acquire(Priority.ACTION)  # then send the change
        assert clock.monotonic() == started
        budget.acquire(Priority.ACTION, max_wait=120)  # a third request was not reserved
        assert clock.monotonic() - started == pytest.approx(60, abs=0.01)


def test_try_acquire_in_the_block_uses_a_reserved_unit(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    spend_down_to(budget, 1)
    with budget.reserved(Priority.ACTION, 1):
        assert budget.try_acquire(Priority.METRICS)
        assert not budget.try_acquire(Priority.METRICS)


def test_taking_the_units_waits_like_acquire_and_is_bounded(clock):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock)
    spend_down_to(budget, 1)
    started = clock.monotonic()
    with budget.reserved(Priority.ACTION, 3):
        assert clock.monotonic() - started == pytest.approx(60, abs=0.01)
        assert budget.remaining == 57
    budget.on_retry_after(600)
    with (
        pytest.raises(BudgetExhausted, match="3 ACTION requests at once within 120 s"),
        budget.reserved(Priority.ACTION, 3, max_wait=120),
    ):
        pytest.fail("the block must not run without its units")


def test_a_reservation_no_window_can_hold_fails_at_once(clock):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock)
    budget.update_from_headers(limit=2, remaining=None, reset_epoch=None)
    started = clock.monotonic()
    with (
        pytest.raises(BudgetExhausted, match="no window can hold them"),
        budget.reserved(Priority.ACTION, 3),
    ):
        pass
    assert clock.monotonic() == started
    assert budget.remaining == 2


def test_a_priority_reserves_only_above_its_floor(clock):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock)
    spend_down_to(budget, 16)
    with (
        pytest.raises(BudgetExhausted),
        budget.reserved(Priority.METRICS, 2, max_wait=0),
    ):
        pass
    with budget.reserved(Priority.METRICS, 1, max_wait=0):
        assert budget.remaining == 15


def test_a_retry_after_inside_the_block_defers_the_change_and_gives_the_units_back(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    with budget.reserved(Priority.ACTION, 3):
        budget.acquire(Priority.STATUS)  # the status read
        budget.on_retry_after(30)  # another thread met a 429
        with pytest.raises(RequestDeferred) as deferred:
            budget.acquire(Priority.ACTION)  # the change is not sent
        assert budget.remaining == 59  # only the status read was spent
        with pytest.raises(RequestDeferred, match="leave the reserved block"):
            budget.acquire(Priority.ACTION)  # the check is stale: nothing more goes out
        assert not budget.try_acquire(Priority.ACTION)
    message = str(deferred.value)
    assert "Retry-After" in message and "check the state again" in message
    assert budget.remaining == 59
    budget.acquire(Priority.ACTION)  # outside the block, requests wait for the block as usual
    assert budget.blocked_until is None


def test_a_retry_after_that_began_before_the_reservation_is_waited_out_first(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    budget.on_retry_after(30)
    started = clock.monotonic()
    with budget.reserved(Priority.ACTION, 2):
        assert clock.monotonic() - started == pytest.approx(30, abs=0.01)
        budget.acquire(Priority.STATUS)
        budget.acquire(Priority.ACTION)
        assert clock.monotonic() - started == pytest.approx(30, abs=0.01)


def test_unused_units_go_back_to_their_window(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    with budget.reserved(Priority.ACTION, 3):
        budget.acquire(Priority.STATUS)
    assert budget.remaining == 59


def test_units_are_given_back_when_the_block_raises(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    with (
        pytest.raises(KeyError),
        budget.reserved(Priority.ACTION, 2),
    ):
        raise KeyError("the status said no change is needed")
    assert budget.remaining == 60


def test_units_of_a_window_that_rolled_over_are_not_given_back(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    with budget.reserved(Priority.ACTION, 3):
        clock.advance(60)
        assert budget.remaining == 60
        budget.acquire(Priority.ACTION)  # used in the new window: it counts there
        assert budget.remaining == 59
    assert budget.remaining == 59


def test_units_of_a_window_the_server_replaced_are_not_given_back(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    with budget.reserved(Priority.ACTION, 3):
        clock.advance(30)
        later = clock.now().timestamp() + 59
        budget.update_from_headers(limit=60, remaining=40, reset_epoch=later)  # a new window
        assert budget.remaining == 40
        budget.acquire(Priority.ACTION)  # counts in the server's window, without waiting
        assert budget.remaining == 39
    assert budget.remaining == 39


def test_units_are_never_given_back_above_the_limit(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    with budget.reserved(Priority.ACTION, 5):
        budget.update_from_headers(limit=3, remaining=None, reset_epoch=None)
    assert (budget.limit, budget.remaining) == (3, 3)


def test_the_server_count_leaves_the_reserved_units_to_their_holder(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    spend_down_to(budget, 10)
    end = budget.window_resets_at.timestamp()
    with budget.reserved(Priority.ACTION, 2):
        # Another program spent the key: 3 left, 2 of them already promised to this block.
        budget.update_from_headers(limit=60, remaining=3, reset_epoch=end)
        assert budget.remaining == 1
        assert in_thread(lambda: budget.try_acquire(Priority.ACTION))
        assert not in_thread(lambda: budget.try_acquire(Priority.ACTION))
        budget.acquire(Priority.STATUS)
        budget.acquire(Priority.ACTION)


def test_other_threads_cannot_take_the_reserved_units(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    spend_down_to(budget, 2)
    with budget.reserved(Priority.ACTION, 2):
        assert not in_thread(lambda: budget.try_acquire(Priority.ACTION))
        assert isinstance(
            in_thread(lambda: budget.acquire(Priority.ACTION, max_wait=0)), BudgetExhausted
        )
        started = clock.monotonic()
        budget.acquire(Priority.STATUS)
        budget.acquire(Priority.ACTION)
        assert clock.monotonic() == started


def test_other_threads_acquire_from_the_shared_budget_not_the_reservation(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    with budget.reserved(Priority.ACTION, 2):
        assert in_thread(lambda: budget.try_acquire(Priority.METRICS))
        assert budget.remaining == 57
        while in_thread(lambda: budget.try_acquire(Priority.ACTION)):
            pass
        assert budget.remaining == 0
        started = clock.monotonic()
        budget.acquire(Priority.STATUS)
        budget.acquire(Priority.ACTION)
        assert clock.monotonic() == started


def test_threads_reserve_independently(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    with budget.reserved(Priority.ACTION, 2):
        other = in_thread(lambda: _reserve_and_use(budget, 3))
        assert other == 3
        assert budget.remaining == 58 - 3
        budget.acquire(Priority.ACTION)
        budget.acquire(Priority.ACTION)
    assert budget.remaining == 55


def _reserve_and_use(budget: RateBudget, count: int) -> int:
    with budget.reserved(Priority.ACTION, count):
        for _ in range(count):
            budget.acquire(Priority.ACTION, max_wait=0)
    return count


def test_reservations_do_not_nest(clock):
    budget = RateBudget(limit_per_minute=60, clock=clock)
    with budget.reserved(Priority.ACTION, 2):
        with (
            pytest.raises(RuntimeError, match="do not nest"),
            budget.reserved(Priority.ACTION, 1),
        ):
            pass
        assert budget.remaining == 58
        budget.acquire(Priority.ACTION)
        budget.acquire(Priority.ACTION)
    with budget.reserved(Priority.ACTION, 1):  # one after the other is fine
        assert budget.remaining == 57


def test_a_reservation_needs_at_least_one_request(clock):
    budget = RateBudget(clock=clock)
    with (
        pytest.raises(ValueError),
        budget.reserved(Priority.ACTION, 0),
    ):
        pass


def test_threads_reserving_and_spending_together_never_exceed_the_limit(clock):
    budget = RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock)
    sent = []

    def reserve_pairs():
        while True:
            try:
                with budget.reserved(Priority.ACTION, 2, max_wait=0):
                    budget.acquire(Priority.STATUS, max_wait=0)
                    budget.acquire(Priority.ACTION, max_wait=0)
                    sent.extend([Priority.ACTION] * 2)
            except BudgetExhausted:
                return

    def spend_singles(priority):
        while budget.try_acquire(priority):
            sent.append(priority)

    threads = [threading.Thread(target=reserve_pairs) for _ in range(3)]
    threads += [threading.Thread(target=spend_singles, args=(p,)) for p in Priority]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert 59 <= len(sent) <= 60
    assert budget.remaining == 60 - len(sent)
    assert sent.count(Priority.METRICS) <= 45
