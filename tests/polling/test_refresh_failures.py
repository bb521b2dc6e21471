"""A read that keeps failing waits before it is tried again (daemon/refresh_plan.py).

A backup list or metrics answer the client cannot read leaves its data due. Tried
again at every refresh tick, one broken answer would take its kind's whole pace
(hundreds of requests in minutes, the other containers' data growing old and the
account's key, shared with other tools, drawing 429s). The user notices the
request count and the other containers' freshness: both are asserted here, over
real HTTP semantics of the in-process simulator with a 60-a-minute key.
"""

import logging
from collections import Counter
from datetime import timedelta

import httpx

from daemon.clock import ManualClock
from daemon.poller import Poller
from daemon.refresh_plan import DueRefresh, FailedRefreshes, Kind, Reason
from daemon.simulator import Simulator
from daemon.stacks import ApiKey, RateBudget, StacksClient
from tests.support.simulated_run import MONDAY

NAMES = ("web", "shop", "blog")
MINUTES = 12
RETRIES = 3  # the client's retries of a read whose answer it cannot read


class BreakingTransport(httpx.BaseTransport):
    """The simulator's answers, except the paths in `broken`: a proxy's HTML error page
    with status 200. Counts the requests per path."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.broken: set[str] = set()
        self.requests: Counter[str] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests[path] += 1
        answer = self.inner.handle_request(request)
        if path in self.broken:
            answer.read()
            return httpx.Response(
                200, headers=answer.headers, content=b"<html>bad gateway</html>", request=request
            )
        return answer


def polling(minutes: int, poller: Poller, clock: ManualClock) -> None:
    """The daemon's jobs, second by second: a status poll when due, a refresh tick."""
    for _ in range(minutes * 60):
        if poller.status_due(clock.now()):
            poller.poll_status()
        poller.refresh()
        clock.advance(1)


def fleet() -> tuple[Poller, BreakingTransport, ManualClock, dict[str, str]]:
    clock = ManualClock(MONDAY + timedelta(hours=12))
    simulator = Simulator(clock=clock, seed=1)
    key = simulator.create_key(rate_limit=60)
    ids = {name: simulator.seed_container(key, name) for name in NAMES}
    transport = BreakingTransport(simulator.transport())
    client = StacksClient(
        ApiKey(key),
        "http://stacks.test/api/v1",
        transport=transport,
        budget=RateBudget(limit_per_minute=60, reserve_for_actions=10, clock=clock),
        clock=clock,
        retries=RETRIES,
    )
    poller = Poller(
        client,
        clock,
        status_interval=timedelta(seconds=15),
        metrics_interval=timedelta(minutes=1),
        backups_interval=timedelta(minutes=10),
    )
    return poller, transport, clock, ids


def test_a_list_that_never_reads_is_tried_ever_more_rarely_and_starves_nothing(caplog):
    poller, transport, clock, ids = fleet()
    broken = f"/api/v1/containers/{ids['web']}/backups"
    transport.broken.add(broken)
    with caplog.at_level(logging.WARNING, logger="daemon.poller"):
        polling(MINUTES, poller, clock)

    # Tried at the start, then 1, 2, 4 minutes after each failure: 4 tries in 12 minutes,
    # each the client's request and its RETRIES retries of an unreadable answer.
    tries = [r.getMessage() for r in caplog.records if "backups of" in r.getMessage()]
    assert len(tries) == 4
    assert transport.requests[broken] == 4 * (1 + RETRIES)
    assert "(1 in a row, next try in 1m)" in tries[0]
    assert "(4 in a row, next try in 8m)" in tries[-1]
    # Everything else was read on time: the other lists, every container's metrics.
    now = clock.now()
    for name, view in poller.snapshot.containers.items():
        assert view.metrics_at is not None and now - view.metrics_at <= timedelta(minutes=2), name
        if name != ids["web"]:
            assert view.backups_at is not None, name
    assert poller.snapshot.containers[ids["web"]].backups_at is None
    assert sum(transport.requests.values()) <= 60 * MINUTES  # never over the key's limit


def test_a_failure_waits_no_longer_than_the_data_s_interval_and_a_success_forgets_it():
    poller, transport, clock, ids = fleet()
    broken = f"/api/v1/containers/{ids['shop']}/metrics"
    transport.broken.add(broken)
    polling(MINUTES, poller, clock)
    # Every minute: the metrics interval caps the wait, so the data is tried as often as
    # its rotation would read it, and no more.
    assert transport.requests[broken] <= (MINUTES + 1) * (1 + RETRIES)
    assert poller.snapshot.containers[ids["shop"]].metrics_at is None

    transport.broken.clear()
    polling(2, poller, clock)  # the next try reads it, and it is back in its rotation
    read_at = poller.snapshot.containers[ids["shop"]].metrics_at
    assert read_at is not None
    polling(3, poller, clock)
    assert clock.now() - poller.snapshot.containers[ids["shop"]].metrics_at < timedelta(minutes=2)
    assert poller.snapshot.containers[ids["shop"]].metrics_at > read_at


def test_a_read_that_fails_for_good_is_tried_every_half_hour_at_most_apart():
    """At 10,000 containers a backup list's interval is about 25 h: a failing list (or one
    the daemon must read again, after a pin) waits no longer than half an hour."""
    failures, now = FailedRefreshes(), MONDAY
    refresh = DueRefresh(now, 1, Kind.BACKUPS, "usr-0000abcd-web", Reason.CHANGED)
    waits = [failures.failed(refresh, now, timedelta(hours=25))[1] for _ in range(8)]
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 30, 30, 30)]
    assert failures.waiting(refresh, now + timedelta(minutes=29))
    assert not failures.waiting(refresh, now + timedelta(minutes=30))
    failures.succeeded(refresh)
    assert not failures.waiting(refresh, now)
