"""The demo: a simulated STACKS account and the daemon watching it, in one process.

A handful of containers of several templates live in the built-in simulator,
served over real HTTP on loopback. The simulated clock is moved ahead to Tuesday
of next week, so scheduled 02:00 backups exist and the weekly pin has something
to pin (this week's and, by catch-up, last week's). Then chaos starts: now and
then a container crashes, and one of them crash-loops so the backoff and
`gave_up` show. Every audit row the daemon writes is printed as a readable line.
"""

import contextlib
import logging
import random
import tempfile
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from daemon.audit import AuditAction, AuditError, Outcome
from daemon.clock import OffsetClock
from daemon.config import Config
from daemon.durations import format_duration
from daemon.exporter import Listener, MetricsServer
from daemon.runtime import Daemon
from daemon.service import serve
from daemon.simulator import Simulator
from daemon.stacks import ApiKey
from policies import OPERATOR, Action, AutoRestartOptions, WeeklyPinOptions

log = logging.getLogger(__name__)

CONTAINERS = (
    ("shop-web", "nodejs"),
    ("shop-api", "python"),
    ("shop-db", "postgresql"),
    ("shop-cache", "redis"),
    ("blog", "wordpress"),
    ("git", "forgejo"),
)
CRASH_LOOPING = "shop-api"
OPERATOR_TARGET = "shop-web"
OPERATOR_DELAY = timedelta(seconds=20)


def headstart(now: datetime) -> timedelta:
    """Move the simulated clock to Tuesday of next week: a full week of scheduled
    backups lies behind it (the weekly pin catches it up) and this week's two."""
    days_to_monday = 7 - now.weekday()
    return timedelta(days=days_to_monday + 8)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def demo_config(base_url: str, database_url: str, listen: str, weekday: str) -> Config:
    """Livelier intervals than production, and a weekly pin due today."""
    config = Config()
    return replace(
        config,
        api=replace(config.api, base_url=base_url),
        daemon=replace(config.daemon, database_url=database_url, listen=listen),
        poll=replace(
            config.poll,
            status_interval=timedelta(seconds=5),
            metrics_interval=timedelta(seconds=30),
            backups_interval=timedelta(seconds=30),
        ),
        policies=replace(
            config.policies,
            auto_restart=AutoRestartOptions(
                backoff_initial=timedelta(seconds=5),
                backoff_max=timedelta(minutes=1),
                reset_after=timedelta(minutes=2),
                max_restarts=4,
                window=timedelta(minutes=10),
            ),
            weekly_pin=WeeklyPinOptions(weekday=weekday, at=WeeklyPinOptions().at.replace(hour=0)),
        ),
    )


def settings_line(config: Config) -> str:
    """What the demo sets livelier than the defaults, read from its config."""
    restart, pin = config.policies.auto_restart, config.policies.weekly_pin
    return (
        f"Livelier than the defaults: status every {format_duration(config.poll.status_interval)}"
        f", backoff from {format_duration(restart.backoff_initial)}, at most "
        f"{restart.max_restarts} restarts in {format_duration(restart.window)}, weekly pin due "
        f"{pin.weekday} {pin.at:%H:%M} UTC (today: past weeks catch up at once). The API allows "
        f"{config.api.rate_limit_per_minute} requests a minute: once the start has spent them, "
        "lines pause until the budget refills."
    )


class Chaos:
    """Crashes a random container every so often, and the crash-looping one constantly."""

    def __init__(self, simulator: Simulator, ids: dict[str, str], stop: threading.Event) -> None:
        self._simulator = simulator
        self._ids = ids
        self._stop = stop
        self._random = random.Random(7)
        self._thread = threading.Thread(target=self._run, name="demo-chaos", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        tick = 0
        while not self._stop.wait(4):
            tick += 1
            if tick % 2 == 0:
                self._simulator.crash(self._ids[CRASH_LOOPING])
            if tick % 6 == 3:
                victims = [name for name in self._ids if name != CRASH_LOOPING]
                self._simulator.crash(self._ids[self._random.choice(victims)])


def operator_change(daemon: Daemon, container_id: str, stop: threading.Event) -> None:
    """After a while, an operator restarts a healthy container: the backup gate shows."""
    if stop.wait(OPERATOR_DELAY.total_seconds()):
        return
    view = daemon.poller.snapshot.containers[container_id]
    daemon.executor.submit(
        Action(
            policy=OPERATOR,
            action=AuditAction.CONTAINER_RESTART,
            container_id=container_id,
            container_name=view.container.name,
            reason=f"demo operator: stacks-opsd change {view.container.name} restart",
        )
    )


class AuditPrinter:
    """Prints each new audit outcome (not the write-ahead `started` rows) as one line."""

    def __init__(self, daemon: Daemon, stop: threading.Event, out: Callable[[str], None]) -> None:
        self._daemon = daemon
        self._stop = stop
        self._out = out
        self._last_id = 0
        self._thread = threading.Thread(target=self._run, name="demo-audit", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1):
            self.print_new()

    def join(self) -> None:
        """Wait for the printing thread, then print what the last moments added."""
        self._thread.join()
        with contextlib.suppress(AuditError):
            self.print_new()

    def print_new(self) -> None:
        for row in self._daemon.store.query():
            if row.id is None or row.id <= self._last_id:
                continue
            self._last_id = row.id
            if row.outcome == Outcome.STARTED:
                continue
            target = f" backup {row.target}" if row.target else ""
            reason = f"  ({row.reason})" if row.reason else ""
            self._out(
                f"{row.at:%H:%M:%S}  {row.actor:<22} {row.action:<18} "
                f"{row.container_name or '-':<11}{target}  -> {row.outcome}{reason}"
            )


def run_demo(
    listen: str, duration: timedelta | None, stop: threading.Event, out: Callable[[str], None]
) -> int:
    clock = OffsetClock()
    simulator = Simulator(clock=clock, seed=42)
    key = simulator.create_key()
    ids = {name: simulator.seed_container(key, name, template) for name, template in CONTAINERS}
    simulator.advance(headstart(clock.now()).total_seconds())
    with simulator.serve("127.0.0.1", 0) as api, tempfile.TemporaryDirectory() as workdir:
        database = Path(workdir) / "audit.db"
        weekday = WEEKDAYS[clock.now().weekday()]
        config = demo_config(f"{api.url}/api/v1", f"sqlite:///{database}", listen, weekday)
        daemon = Daemon(config, ApiKey(key), clock, instance="demo")
        server = MetricsServer(
            Listener.of(listen), daemon.metrics.registry, daemon.health, daemon.status
        )
        out(f"STACKS simulator: {api.url}/api/v1 with {len(ids)} containers (key for curl: {key})")
        out(f"metrics: {server_url(listen)}/metrics   status: {server_url(listen)}/status")
        out(f"audit database: {database} (gone when the demo ends)")
        out(f"{CRASH_LOOPING} crash-loops; others crash now and then; after 20 s an operator")
        out(f"restarts {OPERATOR_TARGET} through the pre-change backup gate. Ctrl-C ends the demo.")
        out(settings_line(config))
        out("")
        if duration is not None:
            timer = threading.Timer(duration.total_seconds(), stop.set)
            timer.daemon = True
            timer.start()
        printer = AuditPrinter(daemon, stop, out)
        Chaos(simulator, ids, stop).start()
        printer.start()
        threading.Thread(
            target=operator_change, args=(daemon, ids[OPERATOR_TARGET], stop), daemon=True
        ).start()
        try:
            serve(daemon, server, config, stop)
        finally:
            stop.set()
            printer.join()
    return 0


def server_url(listen: str) -> str:
    return f"http://{listen}"
