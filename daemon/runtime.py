"""The running daemon: wires config to client, poller, policies, executor, audit and exporter.

    leadership()    take or keep the single-instance lock; reconcile the audit on taking it
    status_cycle()  leader only: one status poll, then evaluate policies and dispatch actions
    refresh()       leader only: metrics and backup lists within the budget
    heartbeat()     liveness for /healthz and the systemd watchdog; database writability

`run` schedules these on APScheduler; `once` calls them in order, synchronously.
A standby instance polls nothing and exports `stacks_opsd_leader 0`.
"""

import logging
import threading
from datetime import timedelta

import httpx

from daemon.audit import AuditError, AuditStore
from daemon.clock import Clock, StoppableClock
from daemon.config import Config
from daemon.dispatcher import Dispatcher
from daemon.evaluation import Evaluation, evaluate
from daemon.executor import Executor
from daemon.exporter import Health, build_daemon_metrics
from daemon.leader import LeaderLock, leader_lock_for
from daemon.policy_history import PolicyHistory
from daemon.poller import Poller
from daemon.snapshot import Snapshot
from daemon.stacks import ApiKey, RateBudget, StacksClient
from daemon.status_report import status_document
from daemon.systemd_notify import SystemdNotifier
from policies import Action, Decision, build_policies

log = logging.getLogger(__name__)


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
        self.budget = RateBudget(
            limit_per_minute=config.api.rate_limit_per_minute,
            reserve_for_actions=config.api.reserve_for_actions,
            clock=self.clock,
        )
        self.poller: Poller  # set below; the metrics read its snapshot
        self.metrics = build_daemon_metrics(lambda: self.poller.snapshot, self.clock, self.budget)
        self.client = StacksClient(
            api_key,
            config.api.base_url,
            transport=transport,
            timeout=config.api.timeout.total_seconds(),
            budget=self.budget,
            clock=self.clock,
            observer=self.metrics.api,
        )
        self.poller = Poller(
            self.client,
            self.budget,
            self.clock,
            status_interval=config.poll.fixed_status_interval,
            metrics_interval=config.poll.metrics_interval,
            backups_interval=config.poll.backups_interval,
            reserve_for_actions=config.api.reserve_for_actions,
        )
        self.store = AuditStore.open(config.daemon.database_url, instance, self.clock)
        self.leader = leader_lock or leader_lock_for(
            config.daemon.database_url, api_key.fingerprint()
        )
        self.health = Health(self.clock, heartbeat_max_age=timedelta(seconds=30))
        self.policies = build_policies(config.policies, dry_run=config.daemon.dry_run)
        self.executor = Executor(
            self.client,
            self.store,
            self.clock,
            config.policies.pre_change_backup,
            dry_run=config.daemon.dry_run,
            metrics=self.metrics.ops,
            may_act=lambda: self.acting,
        )
        self.history = PolicyHistory(self.store)
        self.dispatcher = Dispatcher(self.perform)
        self._synchronous = synchronous_actions
        self.last_evaluation = Evaluation((), {})
        self.metrics.ops.set_leader(False)
        self._ready_sent = False
        self._lock = threading.Lock()
        self.acting = False  # leader, and its predecessor's unfinished actions reconciled

    # -- jobs ------------------------------------------------------------------------

    def leadership(self) -> bool:
        """Take the lock if free, notice if it was lost; True while this instance leads."""
        with self._lock:
            if self.leader.held and not self.leader.check_alive():
                log.error("lost leadership (the lock's connection died); standing by")
                self._stand_by()
            if not self.leader.held and self.leader.try_acquire():
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
            if self.leader.held and not self.acting:
                # Retried every tick until the audit database takes the `interrupted` rows.
                self.acting = self._reconcile()
                self.metrics.ops.set_leader(self.acting)
            elif self.acting:
                self._reconcile()  # actions of processes that died since (`change`, kill -9)
            return self.acting

    def _stand_by(self) -> None:
        """Stop acting and forget the fleet: what the new leader sees is what counts."""
        self.acting = False
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

    def status_cycle(self) -> Evaluation:
        """Poll status, then evaluate the policies and dispatch what they decide.

        With `status_interval = "auto"` the scheduler ticks faster than any interval
        and the poller says when a poll is due."""
        if not self.acting or not self.poller.status_due(self.clock.now()):
            return Evaluation((), {})
        snapshot = self.poller.poll_status()
        if not snapshot.status_ok:
            return Evaluation((), {})
        self.health.mark_polled()
        self.metrics.ops.retain(snapshot.containers)
        self._notify_ready("polling STACKS")
        evaluation = self.evaluate(snapshot)
        for decision in evaluation.decisions:
            if self._synchronous:
                self.perform(decision)
            else:
                self.dispatcher.submit(decision)
        return evaluation

    def evaluate(self, snapshot: Snapshot) -> Evaluation:
        if not self.health.readiness()[0] and not self._database_writable():
            log.warning("audit database not writable: deciding nothing until it recovers")
            return Evaluation((), {})
        try:
            evaluation = evaluate(self.policies, snapshot, self.history, self.clock.now())
        except AuditError as error:
            self._audit_failed(error)
            return Evaluation((), {})
        self.last_evaluation = evaluation
        self._export_policy_state(snapshot, evaluation)
        return evaluation

    def perform(self, decision: Decision) -> None:
        outcome = self.executor.perform(decision)
        log.info(
            "%s %s %s -> %s",
            decision.actor,
            decision.action,
            decision.container_name,
            outcome.outcome,
        )
        changed_backups = decision.action.startswith("backup.") or outcome.backup_id is not None
        if isinstance(decision, Action) and outcome.action_id and changed_backups:
            self.poller.invalidate_backups(decision.container_id)

    def refresh(self) -> int:
        if not self.acting:
            return 0
        return self.poller.refresh()

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

    def _export_policy_state(self, snapshot: Snapshot, evaluation: Evaluation) -> None:
        now = self.clock.now()
        for policy in self.policies:
            states = evaluation.states.get(policy.name, {})
            policy.export(snapshot, states, now, self.metrics.ops)

    def status(self) -> dict:
        now = self.clock.now()
        states = self.last_evaluation.states
        return status_document(
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

    def _audit_failed(self, error: AuditError) -> None:
        log.error("%s", error)
        self.metrics.ops.audit_write_error()
        self.health.set_database_ok(False)

    def _notify_ready(self, status: str) -> None:
        if not self._ready_sent:
            self._ready_sent = True
            self.notifier.ready(status)

    # -- shutdown --------------------------------------------------------------------

    def close(self, grace: float = 3.0) -> None:
        """Stop within seconds: end every wait, let in-flight actions finish or audit
        themselves as interrupted, then close the store and release the lock last."""
        self.notifier.stopping()
        self.clock.stop()
        drained = self.dispatcher.drain(grace)
        self.executor.flush()  # outcome rows the database refused earlier, if it takes them now
        if drained:
            self.client.close()  # closing under a request in flight would wait for it
        else:
            log.warning("actions still in flight at shutdown: auditing them as interrupted")
            self._reconcile(including_own=True)
        self.store.close()
        self.leader.release()
