"""World state: keys, accounts, containers, backups, connections, the clock, the timeline.

The state every route reads and changes. One `World` per simulator, guarded by
one re-entrant lock that the handler core holds for the whole of a request.
Random values (keys, ids, sizes) come from one seeded generator, so the same
sequence of requests gives the same answers.

Nothing runs in the background: due events (creation finishing, a restart
transition ending, backups) wait on the `Timeline`, and before each request the
simulator runs every event due up to the clock's `now`, each with its own due
time, so a clock advanced by a week replays that week in order and in milliseconds.
"""

import heapq
import itertools
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from daemon.clock import Clock
from daemon.simulator.assumptions import RESTARTING, Assumptions
from daemon.simulator.templates import STORAGE_TIERS, Template, resources

PUBLIC_HOST = "stacks.hosting"  # where SSH and VPN reach a container

DueAction = Callable[[datetime], None]


class Timeline:
    """Due events of the world, run lazily in time order."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, DueAction]] = []
        self._order = itertools.count()

    def schedule(self, due: datetime, action: DueAction) -> None:
        heapq.heappush(self._heap, (due, next(self._order), action))

    def run_until(self, now: datetime) -> None:
        while self._heap and self._heap[0][0] <= now:
            due, _, action = heapq.heappop(self._heap)
            action(due)


@dataclass
class KeyRecord:
    secret: str = field(repr=False)
    account: str
    scopes: tuple[str, ...]
    spending_cap: float | None
    rate_limit: int


@dataclass
class AllowedIp:
    id: str
    ip_address: str
    description: str
    service_type: str
    added_at: datetime


@dataclass
class VpnClient:
    name: str
    address: str
    created_at: datetime
    private_key: str = field(repr=False)


@dataclass
class ContainerRecord:
    id: str
    account: str
    name: str
    template: Template
    plan: str
    status: str
    created_at: datetime
    updated_at: datetime
    status_since: datetime
    ip_address: str
    port: int
    storage_tier: int | None
    password: str = field(repr=False)
    private_key: str = field(repr=False)
    exit_code: int = 0
    status_changes: int = 0  # counts set_status calls, so a timed transition knows it is stale
    subdomain: str | None = None
    allowed_ips: list[AllowedIp] = field(default_factory=list)
    vpn_clients: dict[str, VpnClient] = field(default_factory=dict)

    @property
    def external_access(self) -> bool:
        return self.subdomain is not None

    @property
    def url(self) -> str | None:
        return f"{self.name}-{self.subdomain}.stackshosting.cloud" if self.subdomain else None

    @property
    def ssh_user(self) -> str:
        return f"usr-{self.account}"

    @property
    def allocation(self) -> tuple[float, int, int]:
        """(vCPU, RAM MB, storage MB) of its plan, with its additional storage tier."""
        cpu, ram, storage, _ = resources(self.template, self.plan)
        if self.storage_tier:
            storage += STORAGE_TIERS[self.storage_tier][0]
        return cpu, ram, storage

    def set_status(self, status: str, now: datetime, exit_code: int = 0) -> None:
        self.status = status
        self.status_since = now
        self.updated_at = now
        self.exit_code = exit_code
        self.status_changes += 1

    def later(self, status: str, when: datetime, timeline: Timeline) -> None:
        """Schedule a move to `status` at `when`, dropped if the status changed meanwhile."""
        token = self.status_changes

        def move(at: datetime) -> None:
            if self.status_changes == token:
                self.set_status(status, at)

        timeline.schedule(when, move)


@dataclass
class BackupRecord:
    id: int
    container_id: str
    container_name: str
    backup_type: str
    status: str
    created_at: datetime
    backup_server: str
    completed_at: datetime | None = None
    snapshot_id: str | None = None
    size_bytes: int | None = None
    error_message: str | None = None
    pinned: bool = False


@dataclass
class Connection:
    id: str
    source_id: str
    target_id: str
    name: str
    type: str
    environment: dict[str, str]
    connection_string: str
    created_at: datetime


class World:
    """Everything STACKS holds, and the seeded generator of its random values."""

    def __init__(self, clock: Clock, seed: int) -> None:
        self.clock = clock
        self.assumptions = Assumptions()
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.timeline = Timeline()
        self.keys: dict[str, KeyRecord] = {}
        self.accounts: set[str] = set()
        self.containers: dict[str, ContainerRecord] = {}
        self.backups: dict[int, BackupRecord] = {}
        self._backups_by_container: dict[str, dict[int, BackupRecord]] = {}
        self.connections: dict[str, Connection] = {}
        self.failing_backups: set[str] = set()
        self.all_backups_fail = False
        self.next_backup_id = 1
        self.containers_made = 0

    def catch_up(self) -> datetime:
        """Run every event due by now; return now."""
        now = self.clock.now()
        self.timeline.run_until(now)
        return now

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def new_account(self) -> str:
        account = self.hex(8)
        while account in self.accounts:
            account = self.hex(8)
        self.accounts.add(account)
        return account

    def backups_of(self, container_id: str) -> list[BackupRecord]:
        return list(self._backups_by_container.get(container_id, {}).values())

    def add_backup(self, backup: BackupRecord) -> None:
        self.backups[backup.id] = backup
        self._backups_by_container.setdefault(backup.container_id, {})[backup.id] = backup

    def remove_backup(self, backup: BackupRecord) -> None:
        self.backups.pop(backup.id, None)
        self._backups_by_container.get(backup.container_id, {}).pop(backup.id, None)

    def backups_fail(self, container_id: str) -> bool:
        return self.all_backups_fail or container_id in self.failing_backups

    def restart(self, container: ContainerRecord, now: datetime) -> None:
        """A restart (`PUT status`, a restore): `running` at once, or `restarting` first.

        `restarting` lasts `restart_transition` seconds (an assumption); a change
        meanwhile wins over the timed move to `running`.
        """
        seconds = self.assumptions.restart_transition
        if seconds > 0:
            container.set_status(RESTARTING, now)
            container.later("running", now + timedelta(seconds=seconds), self.timeline)
        else:
            container.set_status("running", now)
