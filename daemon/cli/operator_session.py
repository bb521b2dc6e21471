"""What `backup` and `change` share: a client, the audit store and the executor, from config.

Operator actions go through the same executor and pre-change backup gate as the
daemon's own, audited with actor `cli` and the operator (user@host) in each row's
`details.operator` (operator_store.py). The command's audit session is renewed
in the background while it waits (a running daemon never mistakes it for a
crashed process), and a container the daemon is acting on is waited for, up to
`BUSY_WAIT`, before the command gives up and says who holds it.

A change whose outcome row the audit database refused (it was down for a moment)
is not reported `unaudited` at once: the row is written as soon as the database
takes it again, trying for `RECORD_PATIENCE`. A row still refused when the
command ends cannot be kept by anyone: it is printed on stderr, so the operator
can record what happened (the next leader marks the action `interrupted`).
"""

import dataclasses
import logging
import sys
import time
from datetime import UTC, datetime

from daemon.audit import Outcome
from daemon.cli.errors import CliError, UsageError
from daemon.cli.operator_store import OperatorStore
from daemon.cli.progress import Progress
from daemon.cli.startup import api_key_from, instance_name, operator_name
from daemon.clock import SystemClock
from daemon.config import Config
from daemon.executor import Executor, NotAudited, Report
from daemon.stacks import MAX_BACKUPS, Backup, Container, Priority, RateBudget, StacksClient
from policies import OPERATOR, Action

BUSY_WAIT = 30.0  # seconds to wait for another actor's action on the same container
BUSY_POLL = 1.0
RECORD_PATIENCE = 30.0  # seconds to keep offering a refused outcome row to the database
RECORD_POLL_MAX = 8.0
BACKUPS_LISTED = 10  # backups a refused restore names (the newest), then "and N more"

log = logging.getLogger(__name__)


class OperatorSession:
    def __init__(self, config: Config, progress: Progress | None = None) -> None:
        """`progress` shows the waits of `perform` (None: show nothing)."""
        self.progress = progress or Progress.for_command(quiet=True)
        clock = SystemClock()
        budget = RateBudget(
            limit_per_minute=config.api.rate_limit_per_minute,
            reserve_for_actions=config.api.reserve_for_actions,
            clock=clock,
        )
        self.client = StacksClient(
            api_key_from(config),
            config.api.base_url,
            timeout=config.api.timeout.total_seconds(),
            budget=budget,
            clock=clock,
        )
        self.store = OperatorStore.open_for(
            operator_name(), config.daemon.database_url, instance_name(config), clock
        )
        self.executor = Executor(
            self.client,
            self.store,
            clock,
            config.policies.pre_change_backup,
            dry_run=config.daemon.dry_run,
            on_backup_wait=self.progress.backup,
        )

    def close(self) -> None:
        self.executor.flush()  # an outcome the database refused a moment ago
        for lost in self.executor.unrecorded():
            print(
                f"stacks-opsd: NOT RECORDED in the audit log (the database refused it): {lost}; "
                "the next leader marks the action `interrupted`",
                file=sys.stderr,
            )
        self.client.close()
        self.store.close()

    def find(self, wanted: str) -> Container:
        """The container whose id or name is `wanted`."""
        containers = self.client.list_containers(priority=Priority.ACTION)
        for container in containers:
            if wanted in (container.id, container.name):
                return container
        names = ", ".join(sorted(c.name for c in containers)) or "none"
        raise CliError(f"no container with id or name {wanted!r}; containers: {names}")

    def check_backup_of(self, container: Container, backup_id: int) -> None:
        """Refuse to restore a backup that is not this container's."""
        backups = self.client.backups(container.id, limit=MAX_BACKUPS, priority=Priority.ACTION)
        if not any(backup.id == backup_id for backup in backups):
            mistake = f"backup {backup_id} is not one of {container.name}'s backups"
            if not backups:
                raise UsageError(f"{mistake}: STACKS lists none for it")
            raise UsageError(
                f"{mistake}; STACKS lists these for it, newest first:\n{_listed(backups)}"
            )

    def perform(
        self,
        container: Container,
        action: str,
        reason: str,
        target: str | None = None,
        *,
        wait: bool = True,
        force: bool = False,
    ) -> Report:
        decision = Action(
            policy=OPERATOR,
            action=action,
            container_id=container.id,
            container_name=container.name,
            reason=reason,
            target=target,
            wait=wait,
            force=force,
        )
        with self.progress.waiting(f"{action} {container.name}"), self.store.renewing():
            deadline = time.monotonic() + BUSY_WAIT
            while True:
                report = self.executor.perform(decision)
                if report.outcome == NotAudited.UNAUDITED and report.action_id is not None:
                    return self._recorded_late(report)
                if report.outcome != NotAudited.BUSY or time.monotonic() >= deadline:
                    return report
                self.progress.update(
                    f"another action on {container.name} is in progress; waiting up to "
                    f"{BUSY_WAIT:.0f}s for it to end"
                )
                time.sleep(BUSY_POLL)

    def _recorded_late(self, report: Report) -> Report:
        """The change ended but its outcome row was refused: offer it to the database again
        for up to RECORD_PATIENCE; the report as recorded, or as it was if never."""
        log.warning("the audit database refused the outcome row; trying again for %.0fs",
                    RECORD_PATIENCE)  # fmt: skip
        deadline = time.monotonic() + RECORD_PATIENCE
        wait = 1.0
        action_id = report.action_id or ""
        while True:
            row = self.executor.flush().get(action_id)
            if row is not None:
                outcome = Outcome(row["outcome"])
                error = row.get("error") or (
                    None if outcome == Outcome.SUCCEEDED else row["reason"]
                )
                return dataclasses.replace(report, outcome=outcome, error=error)
            if not self.executor.awaits_record(action_id):
                return report  # another process recorded an outcome: the trail logged it
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return report
            time.sleep(min(wait, remaining))
            wait = min(wait * 2, RECORD_POLL_MAX)


def _listed(backups: tuple[Backup, ...]) -> str:
    """The newest BACKUPS_LISTED backups, one line each (id, created, status, pinned)."""
    newest = sorted(
        backups,
        key=lambda b: (b.created_at or datetime.min.replace(tzinfo=UTC), b.id),
        reverse=True,
    )
    lines = [
        f"  backup {b.id}: created {_utc(b.created_at)}, {b.status}{', pinned' if b.pinned else ''}"
        for b in newest[:BACKUPS_LISTED]
    ]
    if len(newest) > BACKUPS_LISTED:
        lines.append(f"  and {len(newest) - BACKUPS_LISTED} more")
    return "\n".join(lines)


def _utc(moment: datetime | None) -> str:
    return (
        "at an unknown time"
        if moment is None
        else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    )
