"""One row format: what the JSON-lines sink writes, what the webhook sends and what `audit export`
writes are the same document, so a file the sink wrote verifies with `audit verify --file`."""

import json
import os
import subprocess
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from daemon.audit import AuditAction, AuditStore, Outcome, export_line, new_action_id
from daemon.clock import ManualClock
from daemon.exporter import NotificationMetrics
from daemon.notify import DeliveryWorker, JsonLinesSink, NotifyConfig, WebhookSink
from tests.support.processes import command
from tests.support.webhook_receiver import WebhookReceiver


def append_some(store: AuditStore, count: int) -> None:
    for index in range(count):
        store.append(
            "policy:auto_restart",
            AuditAction.CONTAINER_RESTART,
            Outcome.SUCCEEDED if index % 2 else Outcome.GAVE_UP,
            action_id=new_action_id(),
            container_id=f"usr-0000abcd-app{index}",
            container_name=f"app{index}",
            reason=f"status error, attempt {index} — ünïcode kept",
            details={"event": "crash", "attempt": index, "backoff_seconds": 2.5, "nested": [1]},
        )


def verify_file(path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command("audit", "verify", "--file", str(path), *options),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_json_lines_file_written_by_the_sink_verifies_and_a_tampered_one_does_not(tmp_path):
    clock = ManualClock()
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", clock)
    append_some(store, 2)  # before the sink's cursor: the file starts mid-chain
    path = tmp_path / "audit.jsonl"
    settings = NotifyConfig(name="lines", kind="jsonl", path=str(path))
    worker = DeliveryWorker(
        JsonLinesSink(settings),
        settings,
        store,
        clock,
        NotificationMetrics(CollectorRegistry()),
        lambda: True,
    )
    worker.step()
    append_some(store, 5)
    clock.advance(1)
    worker.step()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == list(range(3, 8))
    assert json.loads(lines[0])["details"]["attempt"] == 0  # parsed, for log shippers
    exported = [export_line(row) for row in store.export_rows()][2:]
    assert [line + "\n" for line in lines] == exported  # the very same format as audit export
    store.close()

    result = verify_file(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: 5 rows, ids 3..7, hash chain intact" in result.stdout

    with path.open("a", encoding="utf-8") as file:  # at least once: a repeat after a crash
        file.write(lines[-1] + "\n")
    assert verify_file(path).returncode == 0

    document = json.loads(lines[2])
    document["details"]["attempt"] = 99
    lines[2] = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tampered = verify_file(path)
    assert tampered.returncode == 1
    assert "TAMPERED: line 3: row id 5 was altered" in tampered.stderr


def test_the_webhook_sends_the_same_row_document(tmp_path):
    clock = ManualClock()
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", clock)
    receiver = WebhookReceiver()
    try:
        settings = NotifyConfig(
            name="hook", kind="webhook", url=receiver.url, timeout=timedelta(seconds=2)
        )
        worker = DeliveryWorker(
            WebhookSink(settings),
            settings,
            store,
            clock,
            NotificationMetrics(CollectorRegistry()),
            lambda: True,
        )
        worker.step()
        append_some(store, 2)
        worker.step()
        exported = [json.loads(export_line(row)) for row in store.export_rows()]
        assert receiver.rows() == exported
    finally:
        receiver.stop()
        store.close()


def test_notify_test_in_the_sinks_file_does_not_break_its_verification(tmp_path):
    """An operator tries the sink first (README), then the daemon appends real rows."""
    path = tmp_path / "audit.jsonl"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[api]\nbase_url = "http://127.0.0.1:9"\n\n[daemon]\n'
        f'database_url = "sqlite:///{tmp_path / "audit.db"}"\n\n'
        f'[[notify]]\nname = "lines"\nkind = "jsonl"\npath = "{path}"\n'
    )
    tried = subprocess.run(
        command("--config", str(config), "notify", "test", "lines"),
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "STACKS_API_KEY": "sk_stacks_" + "a" * 32},
    )  # fmt: skip
    assert tried.returncode == 0, tried.stderr
    assert json.loads(path.read_text(encoding="utf-8"))["details"] == {"test": True}
    alone = verify_file(path)  # before the daemon wrote anything: nothing to verify yet
    assert alone.returncode == 1 and "TAMPERED" not in alone.stderr
    assert "no audit rows yet, only 1 `notify test` line(s)" in alone.stderr
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", ManualClock())
    settings = NotifyConfig(name="lines", kind="jsonl", path=str(path))
    worker = DeliveryWorker(
        JsonLinesSink(settings),
        settings,
        store,
        ManualClock(),
        NotificationMetrics(CollectorRegistry()),
        lambda: True,
    )
    worker.step()
    append_some(store, 3)
    worker.step()
    store.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4

    result = verify_file(path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: 3 rows, ids 1..3, hash chain intact (1 `notify test` line(s) passed over)" in (
        result.stdout
    )
    # A real row dressed as the sample is not passed over: the next line no longer links.
    middle = json.loads(lines[2])
    middle.update(id=0, hash="0" * 64, prev_hash="0" * 64, details={"test": True})
    lines[2] = json.dumps(middle)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    hidden = verify_file(path)
    assert hidden.returncode == 1
    assert "line 4: row id 3 does not link to the line before it" in hidden.stderr


class ShippedFile:
    """A real JSON-lines sink (summarize_after 1 h) writing a file on a volume that can go
    away, with rows arriving meanwhile; the sink's cursor starts at the empty log."""

    def __init__(self, tmp_path) -> None:
        self.clock = ManualClock()
        self.store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", self.clock)
        self.folder, self.away = tmp_path / "shipped", tmp_path / "away"
        self.folder.mkdir()
        self.path = self.folder / "audit.jsonl"
        self.settings = NotifyConfig(
            name="lines", kind="jsonl", path=str(self.path), summarize_after=timedelta(hours=1)
        )
        self.restart()

    def restart(self) -> None:
        """A new worker on the same database, as after the daemon restarted."""
        self.worker = DeliveryWorker(
            JsonLinesSink(self.settings),
            self.settings,
            self.store,
            self.clock,
            NotificationMetrics(CollectorRegistry()),
            lambda: True,
        )
        self.worker.step()

    def down_for(self, hours: int) -> None:
        """The volume gone for `hours`, a row every 10 minutes; each step that finds the
        oldest row too old summarizes (passing over the rows, and summaries, before)."""
        if self.folder.exists():
            self.folder.rename(self.away)
        for _ in range(hours * 6):
            append_some(self.store, 1)
            self.clock.advance(600)
            self.worker.step()
        self.away.rename(self.folder)

    def catch_up(self) -> None:
        append_some(self.store, 1)
        self.clock.advance(60)  # past its backoff: what is old summarized, then the rest sent
        for _ in range(10):
            self.worker.step()

    def lines(self) -> list[str]:
        return self.path.read_text(encoding="utf-8").splitlines()


def sink_down_for_a_while(tmp_path, hours: int) -> list[str]:
    """The lines the sink wrote: ids 1 and 2, then its volume gone for `hours`, then back."""
    shipped = ShippedFile(tmp_path)
    append_some(shipped.store, 2)
    shipped.worker.step()
    shipped.down_for(hours)
    shipped.catch_up()
    shipped.store.close()
    return shipped.lines()


def write_lines(path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_file_whose_sink_passed_over_rows_verifies_with_its_name(tmp_path):
    lines = sink_down_for_a_while(tmp_path, hours=2)
    path = tmp_path / "shipped" / "audit.jsonl"
    ids = [json.loads(line)["id"] for line in lines]
    assert ids[:2] == [1, 2] and ids[2] > 3  # a gap: the rows passed over are not there
    summaries = [json.loads(line) for line in lines if '"notify.summary"' in line]
    assert summaries and all(s["details"]["sink"] == "lines" for s in summaries)

    unsaid = verify_file(path)  # which sink wrote it? another sink's summary proves nothing
    assert unsaid.returncode == 1
    assert "TAMPERED: line 3: row id" in unsaid.stderr
    assert "the notify.summary rows of sink 'lines' in the file say it passed over" in (
        unsaid.stderr
    )
    assert "verify it with --sink lines" in unsaid.stderr
    assert verify_file(path, "--sink", "other").returncode == 1

    result = verify_file(path, "--sink", "lines")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hash chain intact except where sink 'lines' passed over rows" in result.stdout
    # What is left to check against the database: the line before the gap (a summary row
    # proves nothing by itself, anyone can write one).
    before_gap = json.loads(lines[1])
    assert f"row {before_gap['id']} {before_gap['hash']}" in result.stdout


def test_a_sink_down_for_hours_passes_over_its_own_summaries_and_its_file_verifies(tmp_path):
    """Down for 4 h with rows arriving: one summary an hour, each passed over by the next;
    the one that reaches the file names the whole outage."""
    lines = sink_down_for_a_while(tmp_path, hours=4)
    summaries = [json.loads(line) for line in lines if '"notify.summary"' in line]
    assert summaries and summaries[0]["details"]["first_id"] > 3  # earlier ones passed over
    result = verify_file(tmp_path / "shipped" / "audit.jsonl", "--sink", "lines")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_sink_back_for_two_lines_between_two_outages_verifies(tmp_path):
    """Its second outage passes over the summaries that span the first one's gap: their
    spans are taken in, so the summary that reaches the file still spans it."""
    shipped = ShippedFile(tmp_path)
    append_some(shipped.store, 2)
    shipped.worker.step()
    shipped.down_for(3)
    sent, written = shipped.worker.sink.send, []

    def two_lines_then_gone(notification):
        receipt = sent(notification)
        written.append(notification)
        if len(written) == 2:
            shipped.folder.rename(shipped.away)
        return receipt

    shipped.worker.sink.send = two_lines_then_gone
    shipped.clock.advance(60)
    for _ in range(4):
        shipped.worker.step()
    shipped.worker.sink.send = sent
    shipped.away.rename(shipped.folder)
    shipped.down_for(3)
    shipped.catch_up()
    shipped.store.close()
    ids = [json.loads(line)["id"] for line in shipped.lines()]
    assert len(written) == 2 and ids[2] > 3 and ids[4] > ids[3] + 1  # two gaps
    result = verify_file(shipped.path, "--sink", "lines")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_line_written_before_a_crash_then_an_outage_verifies(tmp_path):
    """Back from an outage, the sink writes a line and the daemon dies before its cursor
    moves; after the restart the volume is gone again."""
    shipped = ShippedFile(tmp_path)
    append_some(shipped.store, 2)
    shipped.worker.step()
    shipped.down_for(3)
    shipped.clock.advance(60)
    sent = shipped.worker.sink.send

    def written_then_killed(notification):
        sent(notification)
        shipped.folder.rename(shipped.away)  # and the volume is gone again
        raise SystemExit("killed")  # nothing after the write runs, as with kill -9

    shipped.worker.sink.send = written_then_killed
    with pytest.raises(SystemExit):
        for _ in range(4):
            shipped.worker.step()
    shipped.restart()  # on the same database, the volume still gone
    shipped.down_for(3)
    shipped.catch_up()
    shipped.store.close()
    result = verify_file(shipped.path, "--sink", "lines")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rows_cut_beside_a_passed_over_gap_are_tampering(tmp_path):
    lines = sink_down_for_a_while(tmp_path, hours=2)
    path = tmp_path / "shipped" / "audit.jsonl"
    gap = next(i for i, line in enumerate(lines) if json.loads(line)["id"] > i + 1)

    write_lines(path, [lines[0], *lines[gap:]])  # row 2 cut, just before the gap
    cut = verify_file(path, "--sink", "lines")
    assert cut.returncode == 1
    assert "TAMPERED: line 2: row id" in cut.stderr
    assert "no notify.summary row of sink 'lines' covers it before the file ends" in cut.stderr

    first = json.loads(lines[0])  # ...and row 1 given the id of row 2 (ids are not hashed)
    first["id"] = 2
    forged_id = json.dumps(first, ensure_ascii=False, separators=(",", ":"))
    write_lines(path, [forged_id, *lines[gap:]])
    assert verify_file(path, "--sink", "lines").returncode == 1

    write_lines(path, [*lines[: gap + 1], *lines[gap + 2 :]])  # a row cut after the gap
    assert verify_file(path, "--sink", "lines").returncode == 1


def test_sink_without_a_file_is_a_usage_error():
    done = subprocess.run(
        command("audit", "verify", "--sink", "lines"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--sink names the jsonl sink that wrote a --file; give --file FILE too" in done.stderr
