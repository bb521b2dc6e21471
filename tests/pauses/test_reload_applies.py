"""A reloaded config reaches what holds it: new windows pause at once, the `[[notify]]`
sinks are rebuilt (resuming from their cursors, with their secret files read again), and
a sink that cannot be built refuses the whole reload. The real Daemon in simulated time
(tests/support/simulated_run.py)."""

import dataclasses
import json
from datetime import timedelta

import pytest
from prometheus_client import generate_latest

from daemon.config import ConfigError, WindowConfig
from daemon.notify import NotifyConfig
from tests.support.simulated_run import SimulatedRun, config_with
from tests.support.webhook_receiver import WebhookReceiver

INTERVAL = timedelta(seconds=5)


@pytest.fixture
def run(tmp_path):
    run = SimulatedRun(tmp_path, config_with(status_interval=INTERVAL))
    yield run
    run.close()


def restarts(run: SimulatedRun, outcome: str) -> int:
    return len(run.rows(action="container.restart", outcome=outcome))


def scrape(run: SimulatedRun) -> str:
    return generate_latest(run.daemon.metrics.registry).decode()


def test_a_window_added_by_a_reload_pauses_restarts_and_removing_it_lets_them_resume(run):
    web = run.seed("web")
    run.advance(timedelta(minutes=2))
    run.simulator.crash(web)
    run.advance(INTERVAL * 2)
    assert restarts(run, "succeeded") == 1  # no window yet

    window = WindowConfig(name="always", match=("web",), pause=("container.restart",))
    run.daemon.apply_config(dataclasses.replace(run.daemon.config, windows=(window,)))
    run.advance(timedelta(minutes=5))  # past the restart backoff
    run.simulator.crash(web)
    run.advance(timedelta(minutes=2))
    assert restarts(run, "succeeded") == 1
    paused = run.rows(action="container.restart", outcome="skipped")
    assert [row.reason for row in paused][-1].startswith("maintenance window 'always'")

    run.daemon.apply_config(dataclasses.replace(run.daemon.config, windows=()))
    run.advance(INTERVAL * 2)
    assert restarts(run, "succeeded") == 2  # the window is gone: the crash is healed


def test_a_sink_added_by_a_reload_delivers_and_an_unbuildable_one_refuses_the_reload(run, tmp_path):
    lines = tmp_path / "audit.jsonl"
    sink = NotifyConfig(name="lines", kind="jsonl", path=str(lines))
    run.daemon.apply_config(dataclasses.replace(run.daemon.config, notify=(sink,)))
    web = run.seed("web")
    run.advance(timedelta(minutes=2))
    run.daemon.notifications.deliver_pending()  # a new sink starts at the newest row
    run.simulator.crash(web)
    run.advance(INTERVAL * 2)
    assert run.daemon.notifications.deliver_pending() > 0
    delivered = [json.loads(line) for line in lines.read_text().splitlines()]
    assert "container.restart" in {row["action"] for row in delivered}

    broken = NotifyConfig(
        name="hook", kind="webhook", url="http://127.0.0.1:9/", secret_file=str(tmp_path / "nope")
    )
    running = run.daemon.config
    with pytest.raises(ConfigError) as refused:
        run.daemon.apply_config(dataclasses.replace(running, notify=(sink, broken)))
    assert "nope" in str(refused.value)
    assert run.daemon.config is running  # nothing of the refused reload applied
    assert [worker.sink.kind for worker in run.daemon.notifications.workers] == ["jsonl"]


def test_a_reload_reads_a_rotated_header_file_though_the_config_is_unchanged(run, tmp_path):
    """`systemctl reload` after rotating a webhook token: the next delivery carries the new
    one (the config file itself did not change)."""
    receiver = WebhookReceiver()
    try:
        token = tmp_path / "token"
        token.write_text("Bearer old-token\n")
        sink = NotifyConfig(
            name="hook", kind="webhook", url=receiver.url,
            headers_files={"Authorization": str(token)},
        )  # fmt: skip
        run.daemon.apply_config(dataclasses.replace(run.daemon.config, notify=(sink,)))
        web = run.seed("web")
        run.advance(timedelta(minutes=2))
        run.daemon.notifications.deliver_pending()  # a new sink starts at the newest row
        token.write_text("Bearer new-token\n")
        run.daemon.apply_config(run.daemon.config)  # SIGHUP: the same file
        run.simulator.crash(web)
        run.advance(INTERVAL * 2)
        assert run.daemon.notifications.deliver_pending() > 0
        sent = {headers["Authorization"] for headers, _ in receiver.requests}
        assert sent == {"Bearer new-token"}
    finally:
        receiver.stop()


def test_a_reload_that_changes_no_sink_keeps_them_and_a_removed_sink_leaves_no_series(
    run, tmp_path
):
    """A policy change keeps the sinks as they are (an Alertmanager sink keeps the alerts it
    pushes); a sink the file no longer names takes its series along (its lag would fire
    StacksOpsdNotificationsLagging forever)."""
    kept = NotifyConfig(name="lines", kind="jsonl", path=str(tmp_path / "audit.jsonl"))
    gone = NotifyConfig(name="old", kind="jsonl", path=str(tmp_path / "old.jsonl"))
    run.daemon.apply_config(dataclasses.replace(run.daemon.config, notify=(kept, gone)))
    run.seed("web")
    run.advance(timedelta(minutes=2))
    run.daemon.notifications.deliver_pending()
    assert 'sink="old"' in scrape(run)
    workers = run.daemon.notifications.workers

    policies = config_with(status_interval=INTERVAL, auto_restart={"max_restarts": 2}).policies
    run.daemon.apply_config(dataclasses.replace(run.daemon.config, policies=policies))
    assert run.daemon.notifications.workers is workers
    run.daemon.apply_config(dataclasses.replace(run.daemon.config, notify=(gone, kept)))
    assert run.daemon.notifications.workers is workers  # the same sinks, reordered

    changed = dataclasses.replace(gone, path=str(tmp_path / "renamed.jsonl"))
    run.daemon.apply_config(dataclasses.replace(run.daemon.config, notify=(kept, changed)))
    now = {worker.sink.name: worker for worker in run.daemon.notifications.workers}
    assert now["lines"] is workers[0]  # only the changed sink is rebuilt
    assert now["old"] is not workers[1]

    run.daemon.apply_config(dataclasses.replace(run.daemon.config, notify=(kept,)))
    assert [worker.sink.name for worker in run.daemon.notifications.workers] == ["lines"]
    assert run.daemon.notifications.workers[0] is workers[0]
    assert 'sink="old"' not in scrape(run)
    assert 'sink="lines"' in scrape(run)


def test_a_window_a_reload_renames_or_removes_leaves_no_series(run):
    freeze = WindowConfig(name="deploy-freeze", match=("web",))
    run.daemon.apply_config(dataclasses.replace(run.daemon.config, windows=(freeze,)))
    assert 'stacks_opsd_window_active{window="deploy-freeze"} 1.0' in scrape(run)

    renamed = dataclasses.replace(freeze, name="release-freeze")
    run.daemon.apply_config(dataclasses.replace(run.daemon.config, windows=(renamed,)))
    assert 'window="deploy-freeze"' not in scrape(run)
    assert 'stacks_opsd_window_active{window="release-freeze"} 1.0' in scrape(run)

    run.daemon.apply_config(dataclasses.replace(run.daemon.config, windows=()))
    assert "stacks_opsd_window_active{" not in scrape(run)
