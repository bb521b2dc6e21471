"""An outcome row the audit database refuses is kept, written when it takes rows again
(unless another process recorded an outcome of that action meanwhile: one action never
gets two), and, while it is not written, described in one redacted line."""

import pytest

from daemon.audit import AuditStore, AuditWriteError, new_action_id
from daemon.clock import ManualClock
from daemon.executor.audit_trail import AuditTrail

KEY = "sk_stacks_" + "5" * 64


class FlakyStore:
    """An AuditStore that refuses every row but `started` while `down`."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store
        self.down = True

    def append(self, **entry):
        if self.down and entry["outcome"] != "started":
            raise AuditWriteError("audit database sqlite:///x: could not record: locked")
        return self.store.append(**entry)

    def append_outcome(self, **entry):
        if self.down:
            raise AuditWriteError("audit database sqlite:///x: could not record: locked")
        return self.store.append_outcome(**entry)


@pytest.fixture
def stores(tmp_path):
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "cli:1", ManualClock())
    yield store, FlakyStore(store)
    store.close()


def stop_that_cannot_be_recorded(trail: AuditTrail, action_id: str) -> None:
    row = {"action_id": action_id, "container_name": "web", "container_id": "usr-x-web"}
    trail.write("cli", "cli", "container.stop", "started", reason="operator: stop", **row)
    with pytest.raises(AuditWriteError):  # the caller learns it was refused
        trail.write("cli", "cli", "container.stop", "succeeded", reason=f"with {KEY}", **row)


def test_a_refused_outcome_is_kept_described_and_written_later(stores) -> None:
    store, flaky = stores
    trail = AuditTrail(flaky)  # type: ignore[arg-type]
    action_id = new_action_id()
    stop_that_cannot_be_recorded(trail, action_id)

    assert trail.flush() == {}  # still refused
    [line] = trail.unrecorded()
    assert line.startswith(f"container.stop succeeded of web (action {action_id}): with ")
    assert KEY not in line

    flaky.down = False
    assert trail.flush()[action_id]["outcome"] == "succeeded"
    assert trail.unrecorded() == [] and trail.superseded == []
    assert [r.outcome for r in store.query()] == ["started", "succeeded"]


def test_a_kept_outcome_is_not_written_once_another_process_recorded_one(stores) -> None:
    """While this process could not reach the database, another one (a daemon on another
    host) thought it gone and closed its action `interrupted`."""
    store, flaky = stores
    trail = AuditTrail(flaky)  # type: ignore[arg-type]
    action_id = new_action_id()
    stop_that_cannot_be_recorded(trail, action_id)
    store.append("daemon", "container.stop", "interrupted", action_id=action_id,
                 container_id="usr-x-web", container_name="web")  # fmt: skip

    flaky.down = False
    assert trail.flush() == {}

    assert [r.outcome for r in store.query()] == ["started", "interrupted"]  # never two
    [line] = trail.superseded
    assert line.startswith(f"container.stop succeeded of web (action {action_id})")
    assert trail.unrecorded() == []


def test_an_outcome_is_not_written_once_another_process_closed_the_action(stores) -> None:
    """This process froze past its lease (SIGSTOP, a VM paused): the leader closed its
    action `interrupted`. When it resumes, its answer is logged, not made a second outcome."""
    store, _ = stores
    trail = AuditTrail(store)
    action_id = new_action_id()
    row = {"action_id": action_id, "container_name": "web", "container_id": "usr-x-web"}
    trail.write("cli", "cli", "container.stop", "started", reason="operator: stop", **row)
    store.append("daemon", "container.stop", "interrupted", **row)

    assert trail.write("cli", "cli", "container.stop", "succeeded", reason="stopped", **row) is None

    assert [r.outcome for r in store.query()] == ["started", "interrupted"]  # never two
    [line] = trail.superseded
    assert line.startswith(f"container.stop succeeded of web (action {action_id})")
    assert trail.unrecorded() == []
