"""The public `Simulator`: its test controls in-process, and the entry to the handler core.

It owns the world, the faults, the mutation log and the traffic counts, and
hands requests to the handler core (api.py) or, under /_sim/, to the test
controls (adapters.py); `transport()` and `serve()` build the adapters.
"""

import copy
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import httpx

from daemon.clock import Clock, OffsetClock
from daemon.simulator.adapters import (
    CONTROL_PREFIX,
    SimulatorServer,
    SimulatorTransport,
    handle_control,
)
from daemon.simulator.api import API_PREFIX, ApiHandler, Mutation, MutationLog
from daemon.simulator.assumptions import Assumptions
from daemon.simulator.containers import provision, validate_create
from daemon.simulator.exchange import Refusal, Request, Response, not_found
from daemon.simulator.faults import FaultInjector, Faults
from daemon.simulator.limits import (
    ACCOUNT_PATTERN,
    ALL_SCOPES,
    DEFAULT_RATE_LIMIT,
    KEY_PATTERN,
    Traffic,
    TrafficCounter,
    issue_key,
)
from daemon.simulator.templates import TEMPLATES
from daemon.simulator.world import BackupRecord, World

SEED_STATUSES = ("running", "stopped", "pending", "error")  # the statuses the guide names
UNLISTED_STATUS = re.compile(r"[A-Za-z0-9_-]{1,32}")


class Simulator:
    """A faithful local STACKS API (see the guide), deterministic for a given seed."""

    def __init__(
        self, clock: Clock | None = None, seed: int = 0, assumptions: Assumptions | None = None
    ) -> None:
        self.clock = clock or OffsetClock()
        self._world = World(self.clock, seed)
        self._world.assumptions = assumptions or Assumptions()
        self._faults = FaultInjector(seed)
        self._mutations = MutationLog()
        self._traffic = TrafficCounter()
        self._api = ApiHandler(self._world, self._faults, self._mutations, self._traffic)

    # -- test controls -----------------------------------------------------------------

    def create_key(
        self,
        scopes: Iterable[str] = ALL_SCOPES,
        spending_cap: float | None = None,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        account: str | None = None,
    ) -> str:
        with self._world.lock:
            return issue_key(self._world, scopes, spending_cap, rate_limit, account).secret

    def account_of(self, key: str) -> str:
        record = self._world.keys.get(key)
        if record is None:
            raise ValueError("unknown API key: create it with Simulator.create_key first")
        return record.account

    def seed_container(
        self,
        key_or_account: str,
        name: str,
        template: str = "nodejs",
        plan: str = "basic",
        status: str = "running",
    ) -> str:
        """A container placed directly (no rate limit, no spending, not in the mutation log)."""
        if status not in SEED_STATUSES:
            raise ValueError(f"status must be one of {SEED_STATUSES}, got {status!r}")
        with self._world.lock:
            now = self._world.catch_up()
            if KEY_PATTERN.fullmatch(key_or_account):
                account = self.account_of(key_or_account)
            elif ACCOUNT_PATTERN.fullmatch(key_or_account):
                account = key_or_account
                self._world.accounts.add(account)
            else:
                raise ValueError("seed_container needs an API key or an 8-hex-digit account id")
            known = TEMPLATES.get(template)
            if known is not None and known.tier != "basic" and plan == "basic":
                plan = known.plans[0]
            try:
                name, tmpl, plan, tier = validate_create(
                    self._world, account, {"name": name, "template": template, "plan": plan}
                )
            except Refusal as refusal:
                raise ValueError(
                    f"cannot seed container {name!r}: {refusal.body['error']}"
                ) from None
            return provision(self._world, account, name, tmpl, plan, tier, status, now).id

    def crash(self, container_id: str) -> None:
        """The container dies: status `error`, exit code 1."""
        with self._world.lock:
            now = self._world.catch_up()
            container = self._world.containers.get(container_id)
            if container is None:
                raise ValueError(f"cannot crash {container_id}: no such container")
            container.set_status("error", now, exit_code=1)

    def set_status(self, container_id: str, status: str) -> None:
        """STACKS reports `status` for the container, listed in the guide or not (`starting`).

        Like a crash, it moves `updatedAt`; nothing in the simulator moves the
        container out of a status the guide does not list (a timed creation or
        restart transition pending for it is dropped). Such a status counts as
        "not running" for every rule (see assumptions.py).
        """
        if not isinstance(status, str) or not UNLISTED_STATUS.fullmatch(status):
            raise ValueError(
                f"status must be 1-32 characters (letters, digits, _ or -), got {status!r}"
            )
        with self._world.lock:
            now = self._world.catch_up()
            container = self._world.containers.get(container_id)
            if container is None:
                raise ValueError(f"cannot set the status of {container_id}: no such container")
            container.set_status(status, now, exit_code=1 if status == "error" else 0)

    def fail_backups(self, container_id: str | None = None, enabled: bool = True) -> None:
        """Backups finishing from now on fail (for one container, or all when None)."""
        with self._world.lock:
            self._world.catch_up()
            if container_id is None:
                self._world.all_backups_fail = enabled
                if not enabled:
                    self._world.failing_backups.clear()
            elif enabled:
                self._world.failing_backups.add(container_id)
            else:
                self._world.failing_backups.discard(container_id)

    def container_status(self, container_id: str) -> str:
        """The container's status as STACKS holds it now (no request, no rate limit)."""
        with self._world.lock:
            self._world.catch_up()
            container = self._world.containers.get(container_id)
            if container is None:
                raise ValueError(f"no container {container_id}")
            return container.status

    def backups_of(self, container_id: str) -> list[BackupRecord]:
        """Copies of the container's backups as they stand now (no request, no rate limit)."""
        with self._world.lock:
            self._world.catch_up()
            return [copy.copy(backup) for backup in self._world.backups_of(container_id)]

    @property
    def faults(self) -> Faults:
        return self._faults.faults

    def set_faults(self, faults: Faults) -> None:
        """Replace every fault; counted faults start their counts afresh."""
        with self._world.lock:
            self._faults.configure(faults)

    def amend_faults(self, **changes: Any) -> Faults:
        """Change the named `Faults` fields only; the other faults and their counts carry on."""
        with self._world.lock:
            self._faults.amend(changes)
            return self._faults.faults

    def answer_after_apply(
        self,
        answer: str,
        count: int = Faults.after_apply_count,
        match: str | None = None,
        garbage_kind: str = Faults.garbage_kind,
        slow_seconds: float = Faults.slow_seconds,
    ) -> None:
        """The next `count` applied mutations matching `match` are answered as `answer`.

        `answer`: "garbage", "empty204", "drop" or "slow" (see faults.py);
        `match`: a regex searched in "METHOD /api/v1/path" (None: every mutation).
        """
        self.amend_faults(
            after_apply=answer,
            after_apply_count=count,
            after_apply_match=match,
            garbage_kind=garbage_kind,
            slow_seconds=slow_seconds,
        )

    def reject_mutations_429(self, count: int, retry_after: int | None = None) -> None:
        """The next `count` mutating requests answer 429 unprocessed (reads pass)."""
        changes: dict[str, Any] = {"reject_mutations_429": count}
        if retry_after is not None:
            changes["retry_after"] = retry_after
        self.amend_faults(**changes)

    def skew_rate_headers(self, mode: str) -> None:
        """X-RateLimit-* headers from now on, as `mode` says (see faults.py)."""
        self.amend_faults(rate_headers=mode)

    def faults_remaining(self) -> dict[str, int]:
        """How many answers each counted fault still has to give (0 = switched off)."""
        with self._world.lock:
            return self._faults.remaining()

    @property
    def assumptions(self) -> Assumptions:
        return self._world.assumptions

    def set_assumptions(self, assumptions: Assumptions) -> None:
        """Behave as `assumptions` say from the next request on."""
        with self._world.lock:
            self._world.assumptions = assumptions

    def amend_assumptions(self, **switches: Any) -> Assumptions:
        """Change the named switches only."""
        with self._world.lock:
            self._world.assumptions = Assumptions.from_json(switches, base=self._world.assumptions)
            return self._world.assumptions

    def advance(self, seconds: float) -> None:
        """Move the clock forward (ManualClock or OffsetClock) and run what fell due."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError(f"{type(self.clock).__name__} cannot be advanced")
        with self._world.lock:
            advance(seconds)
            self._world.catch_up()

    def now(self) -> datetime:
        return self.clock.now()

    def mutations(self) -> list[Mutation]:
        with self._world.lock:
            return self._mutations.entries()

    def traffic(self) -> Traffic:
        """Requests received so far, 429s by cause, requests sent before a Retry-After ended."""
        with self._world.lock:
            return self._traffic.counts

    # -- the handler core and its adapters ---------------------------------------------

    def handle_request(self, request: Request) -> Response:
        if request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/"):
            return self._api.handle(request)
        if request.path.startswith(CONTROL_PREFIX + "/"):
            return handle_control(self, request)
        return not_found(f"Not found: {request.path} (the API is under {API_PREFIX})").response()

    def transport(self, client_ip: str = "127.0.0.1") -> httpx.BaseTransport:
        return SimulatorTransport(self.handle_request, client_ip, self._let_time_pass)

    def _let_time_pass(self, seconds: float) -> None:
        """Advance the clock when it can be advanced; sleep on it otherwise."""
        if hasattr(self.clock, "advance"):
            self.advance(seconds)
        else:
            self.clock.sleep(seconds)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SimulatorServer:
        return SimulatorServer(self.handle_request, host, port)
