"""An outcome row the audit database refuses is kept, written when it takes rows again,
and, while it is not, described in one redacted line (what a stopping process says)."""

import pytest

from daemon.audit import AuditWriteError
from daemon.executor.audit_trail import AuditTrail

KEY = "sk_stacks_" + "5" * 64


class FlakyStore:
    """Takes `started` rows; refuses the rest while `down`."""

    def __init__(self) -> None:
        self.down = True
        self.rows: list[dict] = []

    def append(self, **entry):
        if self.down and entry["outcome"] != "started":
            raise AuditWriteError("audit database sqlite:///x: could not record: locked")
        self.rows.append(entry)
        return entry


def test_a_refused_outcome_is_kept_described_and_written_later() -> None:
    store = FlakyStore()
    trail = AuditTrail(store)  # type: ignore[arg-type]
    row = {"action_id": "a1", "container_name": "web"}
    trail.write("cli", "cli", "container.stop", "started", reason="operator: stop", **row)
    with pytest.raises(AuditWriteError):  # the caller learns it was refused
        trail.write("cli", "cli", "container.stop", "succeeded", reason=f"with {KEY}", **row)

    assert trail.flush() == {}  # still refused
    [line] = trail.unrecorded()
    assert line.startswith("container.stop succeeded of web (action a1): with ")
    assert KEY not in line

    store.down = False
    assert trail.flush() == {"a1": "succeeded"}
    assert trail.unrecorded() == []
    assert [r["outcome"] for r in store.rows] == ["started", "succeeded"]
