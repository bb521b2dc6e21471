"""The running daemon: wires config to client, poller, policies, executor, audit and exporter.

    leadership()      take or keep the single-instance lock; reconcile the audit on taking it
    status_cycle()    leader only: one status poll, then evaluate policies, screen their
                      decisions through the pauses (holds, windows), and act on the rest
    refresh()         leader only: metrics and backup lists within the budget; the lists
                      then go to the notification sinks (stale-backup alerts)
    heartbeat()       liveness for /healthz and the systemd watchdog
    notifications     the audit stream's delivery to each [[notify]] sink (its own threads)
    check_database()  database writability for /readyz

`run` schedules these jobs on APScheduler (service.py); `once` takes leadership
and runs one complete `status_cycle` with its actions performed inside it. A
standby instance polls nothing and exports `stacks_opsd_leader 0`.

The collaborators are built in dependency order and nothing points back: the
snapshot holder and the budget, the metrics that read them, the client that
reports to the metrics, the poller that publishes into the holder, the audit
store, then the executor, which asks whether this instance still leads (the flag, and
the lock confirmed held) right before every change, and
tells the poller of backups it changed through `on_backups_changed`.
"""

import hashlib
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import httpx

from daemon.audit import AuditError, AuditStore, Hold, Outcome
from daemon.clock import Clock, StoppableClock
from daemon.config import PAUSABLE_ACTIONS, Config, ConfigError
from daemon.evaluation import NOTHING, Evaluation, PolicyHistory, evaluate
from daemon.executor import Executor, Report
from daemon.exporter import Health, PolicySeries, build_daemon_metrics
from daemon.leader import LeaderLock, leader_lock_for
from daemon.notify import (
    DeliveryWorker,
    Notifications,
    NotifyConfig,
    SinkConfigError,
    SinkEnvironment,
)
from daemon.pauses import PauseGate, Screened, hold_expiries
from daemon.poller import Poller
from daemon.snapshot import LatestSnapshot, Snapshot
from daemon.stacks import ApiKey, RateBudget, StacksClient
from daemon.status_report import status_document
from daemon.systemd_notify import SystemdNotifier
from policies import (
    Action,
    Decision,
    actor_name,
    deciding_policies,
    max_age_of,
    policy_options,
)

log = logging.getLogger(__name__)

HEARTBEAT_MAX_AGE = timedelta(seconds=30)  # /healthz fails once the heartbeat is this old
# A stop waits this long at most for actions in flight. With the sinks' stop before it
# (2 s) and the audit writes after it (a few seconds on a busy database), the process
# exits within the shipped systemd unit's TimeoutStopSec (30 s; the Kubernetes grace
# period is longer), never killed before it has audited what it could not finish.
STOP_WAIT_LIMIT = timedelta(seconds=15)


def stop_wait(api_timeout: timedelta) -> float:
    """Seconds a stop gives a change in flight: its answer (at most `api.timeout`; no
    read-back is sent once stopping, an ambiguous answer is audited `interrupted` with
    it) and a moment to write the row; at most `STOP_WAIT_LIMIT`. A change still in
    flight then is audited `interrupted`."""
    return min(api_timeout + timedelta(seconds=2), STOP_WAIT_LIMIT).total_seconds()


NO_WORKERS: Mapping[str, DeliveryWorker] = MappingProxyType({})


def sink_inputs(notify: Sequence[NotifyConfig]) -> dict[str, tuple]:
    """Each sink's settings with a digest of each file it reads, by sink name: a reload
    rebuilds a sink when this changed (a rotated token), and no other."""
    return {one.name: (one, tuple(_digest(path) for path in one.files_read())) for one in notify}


def _digest(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None  # building the sink says what is wrong with it


@dataclass(frozen=True)
class Cycle:
    """What one status cycle did: its poll (None when none was due or this instance does
    not lead), the evaluation, what passed the pauses (and what they held back), and each
    decision it performed itself with its report (synchronous actions; otherwise they
    went to the executor's workers)."""

    snapshot: Snapshot | None = None
    evaluation: Evaluation = NOTHING
    performed: tuple[tuple[Decision, Report], ...] = ()
    screened: Screened | None = None

    @property
    def decisions(self) -> tuple[Decision, ...]:
        """The decisions handed to the executor (the policies' own when nothing was paused)."""
        return self.evaluation.decisions if self.screened is None else self.screened.passed


class Daemon:
    def __init__(
        self,
        config: Config,
        api_key: ApiKey,
        clock: Clock,
        *,
        instance: str,
        transport: httpx.BaseTransport | None = None,
        notifier: SystemdNotifier | None = None,
        leader_lock: LeaderLock | None = None,
        synchronous_actions: bool = False,
    ) -> None:
        """`synchronous_actions` performs actions inside the status cycle instead of on
        worker threads: for `once` and for simulated-time runs on a ManualClock."""
        self.config = config
        self.clock = StoppableClock(clock)
        self.instance = instance
        self.notifier = notifier or SystemdNotifier({})
        self._synchronous = synchronous_actions
        # Set while this instance leads and its predecessor's unfinished actions are
        # reconciled: the executor asks it right before every change.
        self._leading = threading.Event()
        latest = LatestSnapshot()
        budget = RateBudget(
            limit_per_minute=config.api.rate_limit_per_minute,
            reserve_for_actions=config.api.reserve_for_actions,
            clock=self.clock,
        )
        # Every policy's options per container, from the running config: the policies hold
        # them, and the exporter and the stale-backup alerts read the same objects.
        self.policy_options = policy_options(config.policies, config.overrides)
        self.metrics = build_daemon_metrics(
            latest.read, self.clock, budget, lambda: self.policy_options
        )
        self.client = StacksClient(
            api_key,
            config.api.base_url,
            transport=transport,
            timeout=config.api.timeout.total_seconds(),
            budget=budget,
            clock=self.clock,
            observer=self.metrics.api,
        )
        self.poller = Poller(
            self.client,
            self.clock,
            status_interval=config.poll.fixed_status_interval,
            metrics_interval=config.poll.metrics_interval,
            backups_interval=config.poll.backups_interval,
            latest=latest,
        )
        self.store = AuditStore.open(config.daemon.database_url, instance, self.clock)
        self.leader = leader_lock or leader_lock_for(
            config.daemon.database_url, api_key.fingerprint()
        )
        self.health = Health(self.clock, heartbeat_max_age=HEARTBEAT_MAX_AGE)
        self.policies = deciding_policies(self.policy_options, dry_run=config.daemon.dry_run)
        self.history = PolicyHistory(self.store)
        self.executor = Executor(
            self.client,
            self.store,
            self.clock,
            config.policies.pre_change_backup,
            dry_run=config.daemon.dry_run,
            metrics=self.metrics.ops,
            may_act=self._still_leading,
            paused=self._paused_since_decided,
            on_backups_changed=self.poller.invalidate_backups,
        )
        self._delivering = False  # the sinks' threads run (start_notifications)
        self._sink_inputs = sink_inputs(config.notify)
        try:
            self.notifications = self._notifications_for(config)
        except Exception:
            self.store.close()
            raise
        self.last_evaluation = NOTHING
        self.metrics.ops.set_leader(False)
        self.metrics.ops.config_loaded(True, self.clock.now())
        self._config_lock = threading.Lock()  # a reload waits for the evaluation in progress
        self.pauses = PauseGate(config.windows)
        self.holds: list[Hold] = []  # the active holds as of the last status cycle
        self._pause_notes_read = False
        self._export_windows()
        self._ready_sent = False
        self._lock = threading.Lock()  # one leadership tick at a time
        self._lock_use = threading.Lock()  # the leader lock's connection, one user at a time

    @property
    def acting(self) -> bool:
        """Leader, and its predecessor's unfinished actions reconciled."""
        return self._leading.is_set()

    # -- jobs ------------------------------------------------------------------------

    def leadership(self) -> bool:
        """Take the lock if free, notice if it was lost; True while this instance leads."""
        with self._lock:
            with self._lock_use:
                lost = self.leader.held and not self.leader.check_alive()
            if lost or (self._leading.is_set() and not self.leader.held):
                self._lost_leadership()
            with self._lock_use:
                acquired = not self.leader.held and self.leader.try_acquire()
            if acquired:
                log.info("this instance (%s) is now the leader", self.instance)
            elif not self.leader.held and not self._ready_sent:
                # A standby is doing its job: ready, so a Kubernetes Pod carrying it as a
                # sidecar is not held back, and systemd's start completes.
                log.info("another instance leads; standing by (polling nothing)")
                self.health.mark_polled()
                self._notify_ready("standby: another instance leads")
            # This process's own actions outlive its leadership by moments: keep its session
            # alive and its late outcome rows flowing whether it leads or not.
            self._keep_session()
            self._export_windows()
            if self.leader.held and not self.acting:
                # Retried every tick until the audit database takes the `interrupted` rows.
                if self._reconcile():
                    self._leading.set()
                self.metrics.ops.set_leader(self.acting)
            elif self.acting:
                self._reconcile()  # actions of processes that died since (`change`, kill -9)
            return self.acting

    def _still_leading(self) -> bool:
        """Asked right before each change: leading, and the lock confirmed held now (one
        query on the lock's connection, not waiting for a leadership tick's audit writes).
        A lock lost since the last tick (its connection dropped, another instance took
        it), or one that cannot be checked, stops the change."""
        if not self._leading.is_set():
            return False
        try:
            with self._lock_use:
                if self.leader.held and self.leader.check_alive():
                    return True
        except Exception:
            log.exception("cannot confirm the leader lock; standing by")
        if self._leading.is_set():
            self._lost_leadership()
        return False

    def _lost_leadership(self) -> None:
        log.error("lost leadership (the lock's connection died); standing by")
        self._stand_by()

    def _stand_by(self) -> None:
        """Stop acting and forget the fleet: what the new leader sees is what counts."""
        self._leading.clear()
        self._pause_notes_read = False  # another leader may write pause notes meanwhile
        self.metrics.ops.set_leader(False)
        self.poller.forget()
        self.metrics.ops.retain(())

    def _reconcile(self, *, including_own: bool = False) -> bool:
        """`interrupted` rows for the actions of processes that are gone; False if unaudited."""
        try:
            interrupted = self.store.reconcile_interrupted(including_own=including_own)
        except AuditError as error:
            self._audit_failed(error)
            return False
        for row in interrupted:
            log.warning(
                "audit: %s on %s was interrupted: the process that started it ended first",
                row.action,
                row.container_name or row.container_id,
            )
        return True

    def _keep_session(self) -> None:
        try:
            self.store.renew_session()
        except AuditError as error:
            self._audit_failed(error)
            return
        self.executor.flush()

    def status_cycle(self, *, complete: bool = False) -> Cycle:
        """Poll status, then evaluate the policies and act on what they decide.

        With `status_interval = "auto"` the scheduler ticks faster than any interval
        and the poller says when a poll is due. `complete` (for `once`) reads every
        metric and backup list after the poll, waiting for the budget, before deciding.
        """
        if not self.acting or not self.poller.status_due(self.clock.now()):
            return Cycle()
        snapshot = self.poller.poll_status()
        if not snapshot.status_ok:
            return Cycle(snapshot)
        self.health.mark_polled()
        self.metrics.ops.retain(snapshot.containers)
        self._notify_ready("polling STACKS")
        if complete:
            self.poller.refresh(everything=True)
            snapshot = self.poller.snapshot
            self._backups_read(snapshot)
        evaluation = self.evaluate(snapshot)
        screened = self.screen(snapshot, evaluation)
        performed = []
        for decision in screened.passed:
            if self._synchronous:
                performed.append((decision, self.executor.perform(decision)))
            else:
                self.executor.submit(decision)
        return Cycle(snapshot, evaluation, tuple(performed), screened)

    def screen(self, snapshot: Snapshot, evaluation: Evaluation) -> Screened:
        """The decisions that may go to the executor now: expired holds are ended (audited
        once, here, by the leader), then the active holds and windows hold back the
        automatic actions they pause (daemon/pauses.py). Holds that cannot be read mean
        nothing is done (fail closed)."""
        now = self.clock.now()
        try:
            for hold in self.store.expire_holds():
                log.info("hold expired: %s", hold.describe())
            holds = self.store.active_holds()
            if not self._pause_notes_read:
                self._read_pause_notes(holds, now)
        except AuditError as error:
            self._audit_failed(error)
            return Screened(())
        self.holds = holds
        self.metrics.ops.set_hold_expiries(hold_expiries(snapshot, holds, now))
        screened = self.pauses.screen(evaluation.decisions, snapshot, holds, now)
        for action, pause in screened.paused:
            log.debug("paused %s on %s: %s", action.action, action.container_name, pause.reason)
        return screened

    def _read_pause_notes(self, holds: Sequence[Hold], now: datetime) -> None:
        """Once per leadership: the pause notes earlier leaders wrote for the holds and
        windows in force, each since its pause began, so none is written again. Read by
        the deciding policies' `skipped` rows, from the oldest such beginning. Marked read
        first: a stand-by meanwhile (another thread) marks it unread again, and wins."""
        self._pause_notes_read = True
        began = self.pauses.began(holds, now)
        if not began:
            return
        actors = [actor_name(policy.name) for policy in self.policies]
        try:
            rows = self.store.history(
                min(began.values()), actors, PAUSABLE_ACTIONS, outcomes=[Outcome.SKIPPED]
            )
        except AuditError:
            self._pause_notes_read = False
            raise
        self.pauses.remember(rows, began)

    def _paused_since_decided(self, action: Action) -> str | None:
        """Why a change the pauses let through may not be sent now: a hold placed or a
        window begun since it was decided (the executor asks right before each request).
        Holds that cannot be read keep it back (fail closed)."""
        try:
            holds = self.store.active_holds()
        except AuditError as error:
            return f"the holds could not be read ({error})"
        pause = self.pauses.pause_of(action, self.poller.snapshot, holds, self.clock.now())
        return None if pause is None else pause.reason

    def evaluate(self, snapshot: Snapshot) -> Evaluation:
        if not self.health.readiness()[0] and not self._database_writable():
            log.warning("audit database not writable: deciding nothing until it recovers")
            return NOTHING
        try:
            with self._config_lock:
                evaluation = evaluate(self.policies, snapshot, self.history, self.clock.now())
        except AuditError as error:
            self._audit_failed(error)
            return NOTHING
        self.last_evaluation = evaluation
        self._export_policy_state(snapshot, evaluation)
        return evaluation

    def _notifications_for(
        self, config: Config, kept: Mapping[str, DeliveryWorker] = NO_WORKERS
    ) -> Notifications:
        """Delivery reads the audit log on its own threads (started by `serve`): a sink that
        is down or slow never touches an action's path. `kept`: the workers a reload carries
        over, by sink name. SinkConfigError if one cannot be built."""
        return Notifications(
            config.notify,
            self.store,
            self.clock,
            self.metrics.notifications,
            may_deliver=self._leading.is_set,
            environment=SinkEnvironment(
                instance=self.instance, status_url=config.daemon.status_url, clock=self.clock
            ),
            kept=kept,
        )

    def start_notifications(self) -> None:
        self._delivering = True
        self.notifications.start()

    def apply_config(self, config: Config) -> None:
        """Run with `config` from the next evaluation on (a reload, daemon/config_reload.py,
        which keeps the settings that cannot change live). The policies are rebuilt and
        their states folded again from the audit history with the new options; windows
        apply at once; the `[[notify]]` sinks are rebuilt when their settings or the
        files they read changed (a rotated token applies on reload; each sink resumes
        from its cursor), and kept as they are otherwise (an Alertmanager sink keeps
        what it pushes). ConfigError, with nothing applied, if a sink cannot be built."""
        options = policy_options(config.policies, config.overrides)
        policies = deciding_policies(options, dry_run=config.daemon.dry_run)
        inputs = sink_inputs(config.notify)
        kept = {
            worker.name: worker
            for worker in self.notifications.workers
            if inputs.get(worker.name) == self._sink_inputs.get(worker.name)
        }
        sinks = None
        if inputs != self._sink_inputs:
            try:
                sinks = self._notifications_for(config, kept)
            except SinkConfigError as error:
                raise ConfigError([str(error)]) from error
        with self._config_lock:
            self.config = config
            self.policies = policies
            self.policy_options = options
            self.history = PolicyHistory(self.store)
            self.pauses.windows = tuple(config.windows)
            self.executor.set_gate_options(config.policies.pre_change_backup)
            self.poller.set_intervals(
                status_interval=config.poll.fixed_status_interval,
                metrics_interval=config.poll.metrics_interval,
                backups_interval=config.poll.backups_interval,
            )
        self._export_windows()
        if sinks is not None:
            self.notifications.stop(keep=kept.values())
            for name in set(self._sink_inputs) - set(inputs):
                self.metrics.notifications.remove_sink(name)
            self.notifications, self._sink_inputs = sinks, inputs
            if self._delivering:
                sinks.start()

    def refresh(self) -> int:
        if not self.acting:
            return 0
        fetched = self.poller.refresh()
        if fetched:
            self._backups_read(self.poller.snapshot)
        return fetched

    def _backups_read(self, snapshot: Snapshot) -> None:
        """Hand the backup lists to the sinks that alert on stale ones (they only keep them)."""
        max_age = max_age_of(self.policy_options["backup_freshness"])
        self.notifications.observe_backups(snapshot.containers.values(), max_age)

    def heartbeat(self) -> None:
        """Liveness only: a slow database must not make a healthy daemon look hung."""
        self.health.beat()
        self.notifier.watchdog()

    def check_database(self) -> None:
        self._database_writable()

    def _database_writable(self) -> bool:
        """A write probe; a failed one counts as an audit write error (it is one).

        While another probe still waits for the database, answer False at once instead
        of queueing behind it: the caller decides nothing this time, and /readyz turns
        503 once that probe has run too long (Health's database check timeout)."""
        if self.health.database_check_running():
            return False
        with self.health.checking_database():
            writable = self.store.healthy()
        self.health.set_database_ok(writable)
        if not writable:
            self.metrics.ops.audit_write_error()
        return writable

    # -- state -----------------------------------------------------------------------

    def _export_windows(self) -> None:
        now = self.clock.now()
        self.metrics.ops.set_windows_active(
            {window.name: window.active(now) for window in self.pauses.windows}
        )

    def _export_policy_state(self, snapshot: Snapshot, evaluation: Evaluation) -> None:
        now = self.clock.now()
        exported = PolicySeries()
        for policy in self.policies:
            states = evaluation.states.get(policy.name, {})
            policy.export(snapshot, states, now, exported)
        self.metrics.ops.set_policy_series(exported)

    def status(self) -> dict:
        now = self.clock.now()
        states = self.last_evaluation.states
        document = status_document(
            self.poller.snapshot,
            leader=self.acting,
            instance=self.instance,
            dry_run=self.config.daemon.dry_run,
            policy_states={
                policy.name: {
                    container_id: policy.describe(state, now)
                    for container_id, state in states.get(policy.name, {}).items()
                }
                for policy in self.policies
            },
            now=now,
        )
        return {**document, **self._pauses_status(now)}

    def _pauses_status(self, now: datetime) -> dict:
        """/status `holds` (each with its reason, who set it, and the containers it covers now)
        and `windows` (each with whether it is active)."""
        try:
            holds = self.store.active_holds()
        except AuditError:
            holds = [hold for hold in self.holds if hold.active(now)]
        containers = [view.container for view in self.poller.snapshot.containers.values()]
        return {
            "holds": [
                {
                    **hold.as_json(),
                    "containers": sorted(c.name for c in containers if hold.covers(c.id, c.name)),
                }
                for hold in holds
            ],
            "windows": [
                {
                    "name": window.name,
                    "active": window.active(now),
                    "pause": list(window.pause),
                    "match": list(window.match),
                    "types": list(window.types),
                }
                for window in self.pauses.windows
            ],
        }

    def _audit_failed(self, error: AuditError) -> None:
        log.error("%s", error)
        self.metrics.ops.audit_write_error()
        self.health.set_database_ok(False)

    def _notify_ready(self, status: str) -> None:
        if not self._ready_sent:
            self._ready_sent = True
            self.notifier.ready(status)

    # -- shutdown --------------------------------------------------------------------

    def close(self, grace: float | None = None) -> None:
        """Stop: end every wait, give a request in flight `grace` seconds (`stop_wait`) to
        be answered and audited, audit what is still in flight as interrupted, then close
        the store and release the lock last."""
        self.notifier.stopping()
        self.clock.stop()
        self.notifications.stop()
        drained = self.executor.drain(
            stop_wait(self.config.api.timeout) if grace is None else grace
        )
        self.executor.flush()  # outcome rows the database refused earlier, if it takes them now
        for lost in self.executor.unrecorded():
            log.error(
                "NOT RECORDED in the audit log (the database refused it; this process is "
                "stopping and cannot keep it): %s; the next leader marks the action "
                "`interrupted`",
                lost,
            )
        if drained:
            self.client.close()  # closing under a request in flight would wait for it
        else:
            log.warning("actions still in flight at shutdown: auditing them as interrupted")
            self._reconcile(including_own=True)
        self.store.close()
        self.leader.release()
