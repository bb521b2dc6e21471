"""The executor's guarantees: dry run, no unaudited change, one action per container, metrics."""

import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from daemon.audit import AuditStore, AuditWriteError
from daemon.clock import ManualClock
from daemon.executor import Executor
from daemon.stacks import ApiKey, Backup, Container, RateBudget, ServerError, StacksClient
from policies import Action, Note, PreChangeBackupOptions
from tests.executor.conftest import START
from tests.policies.audit_truth import assert_audit_matches


def restart(cid: str, policy: str = "auto_restart") -> Action:
    return Action(policy, "container.restart", cid, "web", "status error: restart 1")


@dataclass
class RecordingMetrics:
    actions: list[tuple[str, str, str]] = field(default_factory=list)
    audit_write_errors: int = 0

    def action(self, policy: str, action: str, outcome: str) -> None:
        self.actions.append((policy, action, outcome))

    def audit_write_error(self) -> None:
        self.audit_write_errors += 1


def test_dry_run_writes_one_row_and_calls_nothing(world):
    h = world(dry_run=True)
    cid = h.seed("web")
    assert h.daemon.executor.perform(restart(cid)).outcome == "dry_run"
    assert h.simulator.mutations() == []
    [row] = h.rows()
    assert (row.actor, row.action, row.outcome) == (
        "policy:auto_restart",
        "container.restart",
        "dry_run",
    )
    assert "dry run" in row.reason


def test_notes_become_single_rows_and_count_in_the_metrics(world):
    h = world()
    metrics = RecordingMetrics()
    executor = Executor(
        h.daemon.client, h.daemon.store, h.clock, PreChangeBackupOptions(), metrics=metrics
    )
    note = Note("auto_restart", "container.restart", "usr-x-web", "web", "gave_up", "gave up")
    assert executor.perform(note).outcome == "gave_up"
    [row] = h.rows()
    assert (row.outcome, row.reason, row.container_name) == ("gave_up", "gave up", "web")
    assert metrics.actions == [("auto_restart", "container.restart", "gave_up")]


def test_outcomes_are_counted_per_policy_action_and_outcome(world):
    h = world()
    metrics = RecordingMetrics()
    executor = Executor(
        h.daemon.client, h.daemon.store, h.clock, PreChangeBackupOptions(), metrics=metrics
    )
    cid = h.seed("web")
    executor.perform(restart(cid, policy="cli"))
    assert metrics.actions == [
        ("cli", "backup.create", "succeeded"),
        ("cli", "container.restart", "succeeded"),
    ]


class FailingStore:
    """An audit store whose database is gone."""

    def append(self, *args, **kwargs):
        raise AuditWriteError("audit database sqlite:///x: could not record: disk I/O error")

    claim = append


def test_no_change_without_an_audit_row(world):
    h = world()
    metrics = RecordingMetrics()
    cid = h.seed("web")
    h.simulator.crash(cid)  # not running: no backup, the restart itself is the first call
    executor = Executor(
        h.daemon.client, FailingStore(), h.clock, PreChangeBackupOptions(), metrics=metrics
    )
    outcome = executor.perform(restart(cid))
    assert outcome.outcome == "unaudited" and "disk I/O error" in outcome.error
    assert h.simulator.mutations() == []
    assert metrics.audit_write_errors == 1


def test_an_api_failure_is_audited_with_its_status(world):
    h = world()
    cid = h.seed("web", status="stopped")
    read_only = h.simulator.create_key(
        scopes=["containers:read"], account=h.simulator.account_of(h.key)
    )
    client = StacksClient(
        ApiKey(read_only), "http://sim/api/v1", transport=h.simulator.transport(), clock=h.clock
    )
    executor = Executor(client, h.daemon.store, h.clock, PreChangeBackupOptions())
    start = Action("cli", "container.start", cid, "web", "operator: start")
    assert executor.perform(start).outcome == "failed"
    failed = h.rows(outcome="failed")[0]
    assert failed.http_status == 403 and "containers:manage" in failed.error
    assert_audit_matches(h.rows(), h.simulator.mutations())


def test_a_backup_whose_list_cannot_be_read_first_is_audited_and_not_triggered(world):
    """`stacks-opsd backup web` reads the list before the trigger (to tell its backup from
    earlier ones); when that read fails, nothing is triggered, and the audit says so."""
    h = world()
    cid = h.seed("web")
    h.simulator.amend_faults(error_rate=1.0)  # every answer a 500, the retries' too
    backup = Action("cli", "backup.create", cid, "web", "operator: backup")
    outcome = h.daemon.executor.perform(backup)
    h.simulator.amend_faults(error_rate=0.0)
    assert outcome.outcome == "aborted" and "could not list its backups first" in outcome.error
    [row] = h.rows()
    assert (row.action, row.outcome, row.http_status) == ("backup.create", "aborted", 500)
    assert "nothing done" in row.reason and row.action_id == outcome.action_id
    assert h.simulator.mutations() == []


def test_a_pin_of_a_backup_that_is_gone_is_skipped_without_a_request(world):
    h = world()
    cid = h.seed("web")
    unpin = Action("weekly_pin", "backup.unpin", cid, "web", "old", target="999999", gated=False)
    assert h.daemon.executor.perform(unpin).outcome == "skipped"
    skipped = h.rows(outcome="skipped")[0]
    assert "backup 999999 is no longer listed" in skipped.reason
    assert h.simulator.mutations() == []


class SlowStacks:
    """A STACKS stand-in whose backups never finish; `trigger_backup` can be held."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.triggered = threading.Event()
        self.calls: list[str] = []
        self.budget = RateBudget(clock=ManualClock(START))

    def container_status(self, container_id, *, priority=None):
        return Container(id=container_id, name="web", status="running")

    def backups(self, container_id, limit=50, *, priority=None):
        self.calls.append("backups")
        return (Backup(id=7, container_id=container_id, status="in_progress", created_at=START),)

    def trigger_backup(self, container_id, *, priority=None):
        self.calls.append("trigger")
        self.triggered.set()
        self.release.wait(timeout=10)

    def restart(self, container_id, *, priority=None):
        self.calls.append("restart")
        raise ServerError("should not be called", http_status=500)


@pytest.fixture
def store(tmp_path):
    clock = ManualClock(START)
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", clock)
    yield store, clock
    store.close()


def test_a_backup_that_never_finishes_times_out_and_aborts(store):
    audit, clock = store
    stacks = SlowStacks()
    stacks.release.set()
    options = PreChangeBackupOptions(timeout=timedelta(minutes=2))
    outcome = Executor(stacks, audit, clock, options).perform(restart("usr-x-web"))
    assert outcome.outcome == "aborted"
    assert "restart" not in stacks.calls
    assert clock.now() - START >= timedelta(minutes=2)
    assert clock.now() - START < timedelta(minutes=3)
    # STACKS never said how the backup ended: not `failed` (that means it did not apply it).
    timed_out = audit.query(action="backup.create", outcome="unknown")[0]
    assert "timed out after 2m" in timed_out.error


def test_one_action_per_container_at_a_time(store):
    audit, clock = store
    stacks = SlowStacks()
    executor = Executor(stacks, audit, clock, PreChangeBackupOptions(timeout=timedelta(seconds=5)))
    first = threading.Thread(target=executor.perform, args=(restart("usr-x-web"),))
    first.start()
    assert stacks.triggered.wait(timeout=10)
    try:
        assert executor.perform(restart("usr-x-web")).outcome == "busy"
        other = Note("auto_restart", "container.restart", "usr-x-db", "db", "skipped", "wait")
        assert executor.perform(other).outcome == "skipped"
    finally:
        stacks.release.set()
        first.join(timeout=10)
    assert stacks.calls.count("trigger") == 1


def test_a_start_sent_to_a_running_container_is_backed_up_first(world):
    """The guide does not say what starting a running container does; it may restart it."""
    h = world()
    h.simulator.amend_assumptions(start_when_running="restart")  # a reading the guide allows
    running, stopped = h.seed("web"), h.seed("cache", status="stopped")

    for cid, name in ((running, "web"), (stopped, "cache")):
        start = Action("cli", "container.start", cid, name, "operator: start")
        assert h.daemon.executor.perform(start).outcome == "succeeded"

    sent = [(m.method, m.path.rsplit("/", 2)[-2:]) for m in h.simulator.mutations()]
    assert sent == [
        ("POST", [running, "backup"]),  # web: backed up, then started
        ("PUT", [running, "status"]),
        ("PUT", [stopped, "status"]),  # cache was stopped: nothing to back up
    ]
    web_rows = [(r.action, r.outcome) for r in h.rows() if r.container_id == running]
    assert ("backup.create", "succeeded") in web_rows
    assert_audit_matches(h.rows(), h.simulator.mutations())


def test_a_pre_change_backup_seen_running_at_the_timeout_is_named_in_its_row(world):
    """The trigger's answer was unreadable, but the new backup was listed in progress: the
    row names it (STACKS took the trigger) instead of saying none appeared."""
    h = world(pre_change_backup={"timeout": timedelta(minutes=1)})
    h.simulator.amend_assumptions(manual_backup_seconds=[600, 600])
    cid = h.seed("web")
    h.simulator.answer_after_apply("garbage", match=r"^POST /api/v1/containers/[^/]+/backup$")

    report = h.daemon.executor.perform(restart(cid, policy="cli"))

    assert report.outcome == "aborted"
    [backup] = [b for b in h.simulator.backups_of(cid)]
    assert backup.status == "in_progress"
    [row] = h.rows(action="backup.create", outcome="unknown")  # STACKS took it, still running
    assert row.target == str(backup.id)
    assert f"backup {backup.id} was still in_progress: timed out after 1m" in row.error
    assert "no new backup appeared" not in row.error
