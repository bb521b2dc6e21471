"""One change's life at STACKS: fail closed, re-confirm right before the request, one outcome."""

from daemon.audit import AuditWriteError
from daemon.clock import StopRequested
from daemon.executor import Executor
from policies import Action, PreChangeBackupOptions
from tests.policies.audit_truth import assert_audit_matches
from tests.support.simulated_run import SimulatedRun


def operator(cid: str, action: str = "container.restart", **fields) -> Action:
    return Action("cli", action, cid, "web", f"operator: {action}", **fields)


def outcomes(h: SimulatedRun) -> list[tuple[str, str]]:
    return [(row.action, row.outcome) for row in h.rows()]


def test_a_status_the_guide_does_not_name_aborts_a_gated_change(world):
    h = world()
    cid = h.seed("web")
    h.simulator.set_status(cid, "starting")
    outcome = h.daemon.executor.perform(operator(cid, "container.stop"))
    assert outcome.outcome == "aborted"
    assert h.simulator.mutations() == []
    [row] = h.rows()
    assert '"status_seen":"starting"' in row.details and "--force" in row.reason


def test_force_tries_the_backup_and_goes_ahead_when_stacks_refuses_it(world):
    h = world()
    cid = h.seed("web")
    h.simulator.set_status(cid, "starting")
    outcome = h.daemon.executor.perform(operator(cid, "container.stop", force=True))
    assert outcome.outcome == "succeeded"
    assert [m.method for m in h.simulator.mutations()] == ["PUT"]  # the trigger was refused: 400
    stop = next(r for r in h.rows() if r.action == "container.stop" and r.outcome == "started")
    assert '"forced":true' in stop.details and '"pre_change_backup":"forced"' in stop.details
    assert ("backup.create", "failed") in outcomes(h)


def test_a_leader_deposed_during_the_backup_sends_nothing(world):
    h = world()
    cid = h.seed("web")
    leading = [True]
    executor = Executor(
        h.daemon.client,
        h.daemon.store,
        h.clock,
        PreChangeBackupOptions(),
        may_act=lambda: leading[0],
    )
    sleep = h.clock.sleep

    def lose_the_lock_while_waiting(seconds: float) -> None:
        leading[0] = False
        sleep(seconds)

    h.clock.sleep = lose_the_lock_while_waiting  # the gate waits for its backup on the clock
    outcome = executor.perform(operator(cid))
    assert outcome.outcome == "skipped"
    assert [m.method for m in h.simulator.mutations()] == ["POST"]  # the backup, not the restart
    skipped = next(r for r in h.rows() if r.action == "container.restart")
    assert "no longer the leader" in skipped.reason


def test_a_claim_taken_over_meanwhile_sends_nothing(world):
    h = world()
    cid = h.seed("web")
    h.simulator.crash(cid)
    h.daemon.store.holds_claim = lambda container_id: False  # e.g. this process stalled for a lease
    outcome = h.daemon.executor.perform(operator(cid))
    assert outcome.outcome == "skipped"
    assert h.simulator.mutations() == []
    assert "another process took over" in h.rows()[-1].reason


def test_an_outcome_the_database_refuses_is_written_later_not_lost(world):
    h = world()
    cid = h.seed("web")
    h.simulator.crash(cid)
    append_outcome = h.daemon.store.append_outcome
    refusals = [1]

    def refuse_the_outcome_once(**row):
        if row["outcome"] == "succeeded" and refusals:
            refusals.pop()
            raise AuditWriteError("audit database sqlite:///x: database is locked")
        return append_outcome(**row)

    h.daemon.store.append_outcome = refuse_the_outcome_once
    assert h.daemon.executor.perform(operator(cid)).outcome == "unaudited"
    assert outcomes(h) == [("container.restart", "started")]
    assert h.daemon.store.reconcile_interrupted() == []  # this process lives and knows the outcome
    h.daemon.executor.flush()
    assert outcomes(h) == [("container.restart", "started"), ("container.restart", "succeeded")]
    assert_audit_matches(h.rows(), h.simulator.mutations())
    assert h.daemon.store.reconcile_interrupted(including_own=True) == []


def test_a_stop_during_the_read_back_is_interrupted_with_the_answer(world):
    h = world()
    cid = h.seed("web", status="stopped")
    h.simulator.answer_after_apply("garbage")
    send = h.daemon.client._sender.send

    def stop_once_the_start_was_sent(route, path, parse, **kwargs):
        if route.method == "GET" and h.simulator.mutations():
            raise StopRequested
        return send(route, path, parse, **kwargs)

    h.daemon.client._sender.send = stop_once_the_start_was_sent
    outcome = h.daemon.executor.perform(operator(cid, "container.start"))
    assert outcome.outcome == "interrupted"
    assert [m.answer for m in h.simulator.mutations()] == ["garbage"]
    row = h.rows()[-1]
    assert '"answer"' in row.details and "cut short" in row.details


def test_a_closed_store_records_nothing_more(world):
    h = world()
    cid = h.seed("web")
    h.daemon.store.close()
    outcome = h.daemon.executor.perform(operator(cid))
    assert outcome.outcome == "unaudited"
    assert h.simulator.mutations() == []


def puts_sent(h: SimulatedRun, before_each=lambda: None) -> list[str]:
    """The PUTs the daemon's client sends from now on (`before_each` runs as one leaves)."""
    transport = h.daemon.client._sender._http._transport
    handle, sent = transport.handle_request, []

    def counting(request):
        if request.method == "PUT":
            sent.append(request.url.path)
            before_each()
        return handle(request)

    transport.handle_request = counting
    return sent


def test_a_refusal_that_arrives_while_stopping_is_audited_as_the_refusal(world):
    """SIGTERM while the change is in flight; STACKS answers 429 (nothing applied). The
    row says what happened, with the status, and a stopping daemon does not send it again."""
    h = world()
    cid = h.seed("web", status="error")

    def sigterm_and_a_429():
        h.daemon.clock.stop()
        h.simulator.reject_mutations_429(1, retry_after=5)

    sent = puts_sent(h, sigterm_and_a_429)
    action = Action("auto_restart", "container.restart", cid, "web", "crashed", gated=False)
    outcome = h.daemon.executor.perform(action)
    assert outcome.outcome == "failed"
    assert len(sent) == 1 and h.simulator.mutations() == []  # refused, not sent again
    row = h.rows()[-1]
    assert (row.outcome, row.http_status) == ("failed", 429)
    assert h.simulator.container_status(cid) == "error"


def test_a_stop_between_the_started_row_and_the_request_says_nothing_was_sent(world):
    h = world()
    cid = h.seed("web", status="error")
    sent, store = puts_sent(h), h.daemon.store
    append = store.append

    def sigterm_right_after_the_started_row(*args, **kwargs):
        row = append(*args, **kwargs)
        if row.outcome == "started":
            h.daemon.clock.stop()
        return row

    store.append = sigterm_right_after_the_started_row
    action = Action("auto_restart", "container.restart", cid, "web", "crashed", gated=False)
    outcome = h.daemon.executor.perform(action)
    assert outcome.outcome == "interrupted" and sent == []
    assert [r.outcome for r in h.rows()] == ["started", "interrupted"]
    assert "the daemon stopped before the change" in h.rows()[-1].reason


def test_a_stop_of_a_stopped_container_whose_answer_is_lost_is_not_called_done(world):
    """The read-back shows `stopped`, as it did before the request: it does not show that
    STACKS did anything, so the row must not say it does."""
    h = world()
    cid = h.seed("web", status="stopped")
    h.simulator.answer_after_apply("drop")
    outcome = h.daemon.executor.perform(operator(cid, "container.stop"))
    assert outcome.outcome == "unknown"
    assert "read-back does not show the change" in h.rows()[-1].reason
