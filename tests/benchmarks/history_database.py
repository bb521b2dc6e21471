"""Audit databases of months of operations for a fleet, built in bulk with the project's hash chain.

`build_history(url, names, rows, span, end)` writes about `rows` audit rows
spread over `span` before `end`, as the daemon and its operators would have:

- weekly pins (`started`, `succeeded`; 2% first `failed`, retried an hour later)
  every Sunday from 03:00 over the following ~45 minutes, and the unpin of the
  pin that falls out of `keep_weeks` (8) right after each; pinned are as many
  containers as `PIN_SHARE` of the rows allows (all 1,000 in a year of 1M rows);
- crashes: a single restart (`started`, `succeeded`), a crash loop (2 to 4
  restarts with the backoff notes between them), or a `gave_up` episode (5
  restarts, 4 backoff notes, `gave_up`), ended later by a "running again" note or
  an operator's `change NAME start`; `GIVEN_UP` containers end the span given up
  (their last episode months or days old, never reset);
- operator changes: `change NAME restart` with its pre-change backup;
- now and then an action cut off by a crash (`started`, then `interrupted`).

Rows are generated in time order (a heap holds the rows of episodes in flight),
chained with daemon/audit/chain.py exactly as AuditStore.append chains them,
and inserted with executemany in batches inside one transaction; the audit head
is set in it too, so `audit verify` passes. Names map to ids as the simulator makes
them for `ACCOUNT` (`usr-<account>-<name>`).
"""

import heapq
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, func, insert, select, update

from daemon.audit import (
    GENESIS_HASH,
    HEAD_ID,
    INTERRUPTED_REASON,
    AuditHead,
    AuditLog,
    AuditStore,
    canonical_json,
    row_hash,
)
from daemon.clock import ManualClock
from policies import IsoWeek

ACCOUNT = "0000abcd"
BATCH = 5000
SQLITE_CACHE_KIB = 256 * 1024  # while building: the indexes of a year of rows stay in memory
PIN_SHARE = 0.4  # of the rows, at most: weekly pins and unpins
KEEP_WEEKS = 8
GIVEN_UP = 0.01  # of the containers end the span given up
EPISODES = (  # kind, weight
    ("restart", 70),
    ("loop", 17),
    ("gave_up", 5),
    ("change", 6),
    ("interrupted", 2),
)
SECOND = timedelta(seconds=1)

LOG = AuditLog.__table__
HEAD = AuditHead.__table__


def container_id(name: str) -> str:
    return f"usr-{ACCOUNT}-{name}"


@dataclass(frozen=True)
class BuiltHistory:
    rows: int
    pinned_containers: int
    given_up_containers: int
    first_at: str
    last_at: str


def build_history(
    url: str, names: Sequence[str], rows: int, span: timedelta, end: datetime, seed: int = 1
) -> BuiltHistory:
    """Fill the (new) audit database at `url` with about `rows` rows over `span` before `end`."""
    AuditStore.open(url, "bench:build", ManualClock(end)).close()  # schema and head
    fleet = FleetHistory(names, rows, span, end, random.Random(seed))
    engine = create_engine(url)
    prev_hash, count, first_at, last_at = GENESIS_HASH, 0, None, None
    try:
        with engine.connect() as conn:
            if url.startswith("sqlite"):  # a bench fixture: a big cache, no fsync per page
                conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
            for batch in _batches(fleet.rows(), BATCH):
                for entry in batch:
                    entry["prev_hash"] = prev_hash
                    entry["hash"] = prev_hash = row_hash(entry)
                conn.execute(insert(LOG), batch)
                count += len(batch)
                first_at = first_at or batch[0]["at"]
                last_at = batch[-1]["at"]
            last_id = conn.execute(select(func.max(LOG.c.id))).scalar()
            conn.execute(
                update(HEAD)
                .where(HEAD.c.id == HEAD_ID)
                .values(row_count=count, last_id=last_id, last_hash=prev_hash)
            )
            conn.commit()
    finally:
        engine.dispose()
    return BuiltHistory(
        count,
        fleet.pinned,
        len(fleet.given_up),
        first_at.isoformat() if first_at else "",
        last_at.isoformat() if last_at else "",
    )


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while batch := list(itertools.islice(rows, size)):
        yield batch


class FleetHistory:
    """The episodes of every container over the span, as audit rows in time order."""

    def __init__(
        self, names: Sequence[str], rows: int, span: timedelta, end: datetime, rng: random.Random
    ) -> None:
        self.names = list(names)
        self.budget = rows
        self.start, self.end = end - span, end
        self.rng = rng
        per_pinned = self._pin_rows_per_container()
        self.pinned = min(len(self.names), int(PIN_SHARE * rows / per_pinned)) if per_pinned else 0
        self.given_up = set(rng.sample(self.names, int(len(self.names) * GIVEN_UP)))
        self._sessions = itertools.count(1)

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row, oldest first; about `rows` of them."""
        starts = [*self._pin_weeks(), *self._episodes()]
        starts.sort(key=lambda start: start[0])
        heap: list[tuple[datetime, int, dict[str, Any]]] = []
        order = itertools.count()
        for at, make in starts:
            while heap and heap[0][0] <= at:
                yield heapq.heappop(heap)[2]
            for row in make():
                if row["at"] < self.end:
                    heapq.heappush(heap, (row["at"], next(order), row))
        while heap:
            yield heapq.heappop(heap)[2]

    # -- weekly pins -------------------------------------------------------------------

    def _sundays(self) -> list[datetime]:
        first = self.start.date() + timedelta(days=(6 - self.start.weekday()) % 7)
        sundays = []
        moment = datetime.combine(first, datetime.min.time(), UTC) + timedelta(hours=3)
        while moment < self.end:
            if moment >= self.start:
                sundays.append(moment)
            moment += timedelta(weeks=1)
        return sundays

    def _pin_rows_per_container(self) -> int:
        weeks = len(self._sundays())
        return 2 * weeks + 2 * max(weeks - KEEP_WEEKS, 0)

    def _pin_weeks(self) -> Iterator[tuple[datetime, Any]]:
        for number, name in enumerate(self.names[: self.pinned]):
            offset = timedelta(minutes=45) * number / max(self.pinned, 1)
            held: list[tuple[str, IsoWeek]] = []
            for week_number, sunday in enumerate(self._sundays()):
                week = IsoWeek.of(sunday)
                backup_id = str(10_000_000 + 10_000 * week_number + number)
                held.append((backup_id, week))
                old = held.pop(0) if len(held) > KEEP_WEEKS else None
                at = sunday + offset
                yield at, lambda n=name, a=at, w=week, b=backup_id, o=old: self._pin(n, a, w, b, o)

    def _pin(
        self, name: str, at: datetime, week: IsoWeek, backup_id: str, old: tuple | None
    ) -> list[dict[str, Any]]:
        actor = "policy:weekly_pin"
        created = datetime.combine(at.date(), datetime.min.time(), UTC) + timedelta(hours=2)
        details = {"iso_week": week.label, "backup_created_at": created.isoformat()}
        reason = f"weekly pin for {week.label}: newest completed backup"
        rows = []
        if self.rng.random() < 0.02:
            started, answered = self._action(
                actor, "backup.pin", name, at, reason, details, target=backup_id
            )
            error = "STACKS answered 503 Service Unavailable"
            rows += [started, {**answered, "outcome": "failed", "http_status": 503, "error": error}]
            at += timedelta(hours=1)
        rows += self._action(actor, "backup.pin", name, at, reason, details, target=backup_id)
        if old is not None:
            unpin = {"iso_week": old[1].label}
            why = f"weekly pin of {old[1].label} is older than the newest {KEEP_WEEKS} weekly pins"
            rows += self._action(
                actor, "backup.unpin", name, at + 2 * SECOND, why, unpin, target=old[0]
            )
        return rows

    # -- crashes and changes -------------------------------------------------------------

    def _episodes(self) -> Iterator[tuple[datetime, Any]]:
        remaining = self.budget - self.pinned * self._pin_rows_per_container()
        span = (self.end - self.start).total_seconds()
        kinds, weights = zip(*EPISODES, strict=True)
        sizes = {"restart": 2, "loop": 8, "gave_up": 16, "change": 4, "interrupted": 2}
        ago = min(self.end - self.start, timedelta(days=120)).total_seconds()
        for name in sorted(self.given_up):  # their last episode: given up, never reset
            at = self.end - timedelta(seconds=self.rng.uniform(ago / 60, ago))
            remaining -= sizes["gave_up"]
            yield at, lambda n=name, a=at: self._gave_up(n, a, resolved=False)
        free = [name for name in self.names if name not in self.given_up]
        while remaining > 0:
            kind = self.rng.choices(kinds, weights)[0]
            if sizes[kind] > remaining:
                kind = "restart"
            remaining -= sizes[kind]
            name = self.rng.choice(free)
            at = self.start + timedelta(seconds=self.rng.uniform(0, span))
            yield at, lambda k=kind, n=name, a=at: self._episode(k, n, a)

    def _episode(self, kind: str, name: str, at: datetime) -> list[dict[str, Any]]:
        if kind == "restart":
            return self._restart(name, at, 1)
        if kind == "loop":
            return self._loop(name, at, self.rng.randint(2, 4))
        if kind == "gave_up":
            return self._gave_up(name, at, resolved=True)
        if kind == "change":
            return self._change(name, at)
        started = self._restart(name, at, 1)[0]
        return [
            started,
            {
                **started,
                "at": at + 40 * SECOND,
                "outcome": "interrupted",
                "reason": INTERRUPTED_REASON,
                "details": canonical_json({"started_by": started["instance"]}),
                "instance": self._instance(at + 40 * SECOND),
            },
        ]

    def _restart(self, name: str, at: datetime, number: int) -> list[dict[str, Any]]:
        details = {
            "restart_number": number,
            "observed_status": "error",
            "pre_change_backup": "not running: no backup can be taken",
            "backup_id": 20_000_000 + self.rng.randrange(1_000_000),
        }
        reason = (
            f"status error: restart {number} since the last reset; not running, so no backup "
            "first (the newest completed backup is recorded)"
        )
        return self._action("policy:auto_restart", "container.restart", name, at, reason, details)

    def _loop(self, name: str, at: datetime, restarts: int) -> list[dict[str, Any]]:
        rows, wait = [], timedelta(seconds=10)
        for number in range(1, restarts + 1):
            rows += self._restart(name, at, number)
            if number < restarts:
                next_at = at + wait
                rows.append(
                    self._note(
                        name,
                        at + 5 * SECOND,
                        "skipped",
                        f"backoff: next restart at {next_at.isoformat()} "
                        f"(restart {number + 1}, status error)",
                        event="backoff",
                        restart_number=number + 1,
                        next_restart_at=next_at.isoformat(),
                    )
                )
                at, wait = next_at + 5 * SECOND, wait * 2
        return rows

    def _gave_up(self, name: str, at: datetime, resolved: bool) -> list[dict[str, Any]]:
        rows = self._loop(name, at, 5)
        at = rows[-1]["at"] + 15 * SECOND
        rows.append(
            self._note(
                name,
                at,
                "gave_up",
                "gave up: 5 restarts within 1h. Restarts resume after it runs 10m, or after "
                f"`stacks-opsd change {name} start`.",
                event="gave_up",
                restarts=5,
            )
        )
        if not resolved:
            return rows
        later = at + timedelta(hours=self.rng.uniform(1, 48))
        if self.rng.random() < 0.6:
            rows.append(
                self._note(
                    name,
                    later,
                    "skipped",
                    "running again without a restart by the daemon (was given up); the backoff "
                    "resets once it has run 10m",
                    event="running",
                )
            )
        else:
            details = {"pre_change_backup": "not running: no backup can be taken"}
            rows += self._action("cli", "container.start", name, later, "operator", details)
        return rows

    def _change(self, name: str, at: datetime) -> list[dict[str, Any]]:
        correlation = self._new_id()
        backup_id = 30_000_000 + self.rng.randrange(1_000_000)
        reason = "pre-change backup before container.restart"
        backup = self._action(
            "cli", "backup.create", name, at, reason, {"triggered": True}, correlation=correlation
        )
        backup[1] = {**backup[1], "target": str(backup_id), "at": at + timedelta(minutes=3)}
        details = {"pre_change_backup": f"completed backup {backup_id}", "backup_id": backup_id}
        change = self._action(
            "cli",
            "container.restart",
            name,
            at + timedelta(minutes=3, seconds=1),
            f"operator: restart; completed backup {backup_id}",
            details,
            target=str(backup_id),
            correlation=correlation,
        )
        return backup + change

    # -- rows ----------------------------------------------------------------------------

    def _action(
        self,
        actor: str,
        action: str,
        name: str,
        at: datetime,
        reason: str,
        details: dict[str, Any],
        target: str | None = None,
        correlation: str | None = None,
    ) -> list[dict[str, Any]]:
        """An action's `started` row and its `succeeded` row a moment later."""
        action_id = self._new_id()
        session = f"{next(self._sessions) // 500:016x}"  # a session lives ~500 actions
        started = self._row(
            actor,
            action,
            name,
            at,
            "started",
            reason,
            {**details, "session": session},
            target=target,
            action_id=action_id,
            correlation_id=correlation,
        )
        done = at + timedelta(milliseconds=self.rng.randint(300, 4000))
        succeeded = self._row(
            actor,
            action,
            name,
            done,
            "succeeded",
            reason,
            details,
            target=target,
            action_id=action_id,
            correlation_id=correlation,
            http_status=200,
            duration_ms=round((done - at).total_seconds() * 1000),
        )
        return [started, succeeded]

    def _note(
        self, name: str, at: datetime, outcome: str, reason: str, **details: Any
    ) -> dict[str, Any]:
        return self._row(
            "policy:auto_restart", "container.restart", name, at, outcome, reason, details
        )

    def _row(
        self,
        actor: str,
        action: str,
        name: str,
        at: datetime,
        outcome: str,
        reason: str,
        details: dict[str, Any],
        **fields: Any,
    ) -> dict[str, Any]:
        return {
            "at": at,
            "instance": self._instance(at),
            "actor": actor,
            "action": action,
            "container_id": container_id(name),
            "container_name": name,
            "target": None,
            "outcome": outcome,
            "reason": reason,
            "action_id": self._new_id(),
            "correlation_id": None,
            "http_status": None,
            "error": None,
            "details": canonical_json(details),
            "duration_ms": None,
            **fields,
        }

    def _new_id(self) -> str:
        """An action or correlation id like new_action_id()'s, from the seeded generator."""
        return f"{self.rng.getrandbits(128):032x}"

    def _instance(self, at: datetime) -> str:
        """The daemon was redeployed every week or so."""
        week = int((at - self.start).total_seconds() // (7 * 86400))
        return f"opsd-{week % 3}:{1000 + week}"
