"""The action-safety invariants, checked against the audit rows and the simulator's truth.

Each check returns the problems it found as readable lines naming the container,
the audit rows and the applied changes involved (empty: it holds). The truth is
the simulator's mutation log plus what `Recorder` noted when each change was
applied (who sent it, the container's status right before, the newest audit row).

An applied change belongs to the one action that was open when it was applied: its
`started` row (same action and container, or backup for pins and restores) was
written before, and its outcome row (if any) after. The executor claims a
container for each action, so at most one such action can be open.
"""

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

from daemon.audit import AuditLog
from daemon.simulator import Mutation
from daemon.stacks import KNOWN_CONTAINER_STATUSES
from tests.policies.audit_truth import accepted, assert_audit_matches, mutation_key, row_key
from tests.reliability.state_machine_world import Applied, SimBackup

GATED = frozenset(("container.restart", "container.stop", "container.delete", "backup.restore"))
MAY_HAVE_APPLIED = ("unknown", "interrupted")  # an applied change may stand behind these
DAEMON_CHANGES = frozenset(("container.restart", "backup.create", "backup.pin", "backup.unpin"))
STOPPED, STARTED, CRASHED, UNLISTED = "stop", "start", "crash", "unlisted"
# What an outcome row says when the executor knows nothing reached STACKS.
NOTHING_SENT = ("nothing sent", "nothing done", "nothing changed", "stopped before the change")


def describe_row(row: AuditLog) -> str:
    return (
        f"row #{row.id} {row.at:%H:%M:%S} [{row.instance}] {row.actor} {row.action} "
        f"{row.container_name} target={row.target} -> {row.outcome}: {row.reason} "
        f"details={row.details} error={row.error}"
    )


def describe_mutation(m: Mutation, applied: Applied | None) -> str:
    told = (
        f"by {applied.actor}, status before {applied.status_before}, audit head "
        f"#{applied.audit_head}"
        if applied
        else "not seen by the recorder"
    )
    return (
        f"mutation #{m.seq} {m.at:%H:%M:%S} {m.method} {m.path} {m.body} answer={m.answer} ({told})"
    )


def details_of(row: AuditLog) -> dict:
    return json.loads(row.details) if row.details else {}


@dataclass
class ActionRows:
    """One action_id's rows, oldest first."""

    rows: list[AuditLog] = field(default_factory=list)

    @property
    def started(self) -> list[AuditLog]:
        return [r for r in self.rows if r.outcome == "started"]

    @property
    def ends(self) -> list[AuditLog]:
        return [r for r in self.rows if r.outcome != "started"]

    def describe(self) -> str:
        return "\n      ".join(describe_row(r) for r in self.rows)


def by_action(rows: Sequence[AuditLog]) -> dict[str, ActionRows]:
    actions: dict[str, ActionRows] = defaultdict(ActionRows)
    for row in rows:
        actions[row.action_id].rows.append(row)
    return dict(actions)


def one_outcome_per_action(rows: Sequence[AuditLog]) -> list[str]:
    """At most one `started` row and exactly one outcome row per action, the outcome last."""
    problems = []
    for action_id, action in by_action(rows).items():
        started, ends = action.started, action.ends
        if len(started) > 1 or len(ends) != 1:
            problems.append(
                f"action {action_id}: {len(started)} started and {len(ends)} outcome rows "
                f"(want <= 1 and exactly 1):\n      {action.describe()}"
            )
        elif started and ends[0].id < started[0].id:
            problems.append(
                f"action {action_id}: its outcome precedes its started row:\n"
                f"      {action.describe()}"
            )
    return problems


@dataclass
class Attribution:
    """Which action each applied change (by seq) belongs to, and the human ones."""

    owner: dict[int, str] = field(default_factory=dict)
    human: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def attribute(
    rows: Sequence[AuditLog], mutations: Sequence[Mutation], applied: Mapping[int, Applied]
) -> Attribution:
    actions = by_action(rows)
    ends = {aid: a.ends[0].id for aid, a in actions.items() if a.ends}
    found = Attribution()
    for m in mutations:
        told = applied.get(m.seq)
        if told is None:
            found.problems.append(f"{describe_mutation(m, None)}: the recorder never saw it")
            continue
        if told.actor == "human":
            found.human.add(m.seq)
            continue
        key = mutation_key(m)
        open_then = [
            aid
            for aid, action in actions.items()
            for start in action.started[:1]
            if row_key(start) == key
            and start.id <= told.audit_head
            and ends.get(aid, told.audit_head + 1) > told.audit_head
        ]
        if len(open_then) != 1:
            rows_shown = "\n      ".join(
                describe_row(r) for aid in open_then for r in actions[aid].rows
            )
            found.problems.append(
                f"{describe_mutation(m, told)} belongs to {len(open_then)} open audited "
                f"actions (want exactly 1) {key}:\n      {rows_shown or 'none'}"
            )
            continue
        owner = actions[open_then[0]]
        actor_is_cli = owner.started[0].actor == "cli"
        if actor_is_cli != (told.actor == "cli"):
            found.problems.append(
                f"{describe_mutation(m, told)} was sent by the {told.actor} but audited as "
                f"{owner.started[0].actor}:\n      {owner.describe()}"
            )
        found.owner[m.seq] = open_then[0]
    return found


def audit_matches_log(
    rows: Sequence[AuditLog],
    mutations: Sequence[Mutation],
    applied: Mapping[int, Applied],
    found: Attribution,
) -> list[str]:
    """Every applied change (minus the human's) is one action's, which says `succeeded`
    (or `unknown`/`interrupted`); no `succeeded` row claims a change that is not in the log."""
    problems = list(found.problems)
    actions = by_action(rows)
    changes_of: dict[str, list[Mutation]] = defaultdict(list)
    for m in mutations:
        if m.seq in found.owner:
            changes_of[found.owner[m.seq]].append(m)
    for action_id, action in actions.items():
        if not action.ends:
            continue
        end = action.ends[-1]
        made = changes_of.get(action_id, [])
        if accepted(end):
            wanted = (1,)
        elif end.outcome in MAY_HAVE_APPLIED:
            wanted = (0, 1)
        else:
            wanted = (0,)
        said = f"{end.reason} {end.error}"
        shown = "\n      ".join(describe_mutation(m, applied.get(m.seq)) for m in made)
        if made and any(words in said for words in NOTHING_SENT):
            problems.append(
                f"action {action_id} ({end.action} {end.container_name}) ended {end.outcome} "
                f"saying nothing was sent, yet STACKS applied it:\n      {action.describe()}\n"
                f"    changes:\n      {shown}"
            )
        if len(made) not in wanted:
            problems.append(
                f"action {action_id} ({end.action} {end.container_name}) ended {end.outcome} "
                f"with {len(made)} applied changes (want {' or '.join(map(str, wanted))}):\n"
                f"      {action.describe()}\n    changes:\n      {shown or 'none'}"
            )
    # The shared checker, on the changes whose actions say they happened.
    vague = {aid for aid, a in actions.items() if a.ends and a.ends[-1].outcome in MAY_HAVE_APPLIED}
    claimed = [
        SimpleNamespace(**vars(m))
        for m in mutations
        if m.seq not in found.human and found.owner.get(m.seq) not in vague
    ]
    try:
        assert_audit_matches(list(rows), claimed)
    except AssertionError as error:
        problems.append(f"assert_audit_matches: {error}")
    return problems


def gate_before_change(
    rows: Sequence[AuditLog],
    mutations: Sequence[Mutation],
    applied: Mapping[int, Applied],
    found: Attribution,
    backups: Mapping[int, SimBackup],
    reuse_within: timedelta,
) -> list[str]:
    """A gated change applied to a running container had a backup of it, completed first
    (created by the same correlation, or reused); one to a container not running says so
    (`not running`). An operator's --force past a status the guide does not name says
    `forced` when STACKS refused the backup, or names the backup it took or reused, which
    is then held to the same rules as a running container's."""
    problems = []
    actions = by_action(rows)
    for m in mutations:
        action_id = found.owner.get(m.seq)
        if action_id is None or mutation_key(m)[0] not in GATED:
            continue
        action = actions[action_id]
        start = action.started[0]
        details = details_of(start)
        how, backup_id = details.get("pre_change_backup"), details.get("backup_id")
        status = applied[m.seq].status_before
        where = f"{describe_mutation(m, applied[m.seq])}\n      {action.describe()}"
        # README: a status the guide does not name fails closed unless the operator forced
        # the change; the gate then still tries (or reuses) a backup, and when STACKS
        # refuses it the row says `forced`.
        forced = (
            details.get("forced") is True
            and start.actor == "cli"
            and status not in KNOWN_CONTAINER_STATUSES
        )
        if status != "running":
            if how == "not running" or (forced and how == "forced"):
                continue
            if not (forced and how in ("created", "reused")):
                problems.append(
                    f"{start.container_name} was {status}, but the change's started row says "
                    f"pre_change_backup={how!r} (want 'not running'; or when an operator "
                    f"forced a change past a status the guide does not name, 'forced', "
                    f"'created' or 'reused'):\n    {where}"
                )
                continue
        if how not in ("created", "reused") or backup_id is None:
            problems.append(
                f"{start.container_name} was {status} and changed without a pre-change backup "
                f"(pre_change_backup={how!r}, backup_id={backup_id}):\n    {where}"
            )
            continue
        backup = backups.get(int(backup_id))
        if backup is None or backup.container_id != m.container_id:
            problems.append(
                f"{start.container_name}: its pre-change backup {backup_id} is not one of its "
                f"backups ({backup}):\n    {where}"
            )
            continue
        completed = backup.completed_at
        if backup.status != "completed" or completed is None or completed > m.at:
            problems.append(
                f"{start.container_name}: pre-change backup {backup_id} is {backup.status}, "
                f"completed at {backup.completed_at}, but the change was applied at {m.at}:\n"
                f"    {where}"
            )
            continue
        if how == "reused":
            oldest = start.at - reuse_within
            if backup.created_at < oldest:
                problems.append(
                    f"{start.container_name}: reused backup {backup_id} was created at "
                    f"{backup.created_at}, before {oldest} (reuse_within {reuse_within}):\n"
                    f"    {where}"
                )
            continue
        made = [
            r
            for r in rows
            if r.action == "backup.create"
            and r.outcome == "succeeded"
            and r.correlation_id == start.correlation_id
            and r.target == str(backup_id)
            and r.id < start.id
        ]
        if not made:
            problems.append(
                f"{start.container_name}: no succeeded backup.create row with the change's "
                f"correlation {start.correlation_id} names backup {backup_id}:\n    {where}"
            )
            continue
        # SPEC 7: "a backup created after the trigger" (STACKS's 202 names no backup id, so
        # a scheduled or someone else's backup that started after the trigger counts too).
        triggers = [t for t in mutations if found.owner.get(t.seq) == made[0].action_id]
        if len(triggers) != 1 or backup.created_at < triggers[0].at:
            problems.append(
                f"{start.container_name}: the change's pre-change backup {backup_id} "
                f"({backup.backup_type}, created {backup.created_at:%H:%M:%S}) was not created "
                f"after its correlation's trigger "
                f"({[describe_mutation(t, applied[t.seq]) for t in triggers]}):\n"
                f"      {describe_row(made[0])}\n    {where}"
            )
    return problems


@dataclass
class HandEvents:
    """What people did to each container outside the daemon, in order.

    A position is a point in the mutation log: an event at `n + 0.5` happened after
    change #n and before #n+1.
    """

    events: dict[str, list[tuple[float, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def add(self, container_id: str, position: float, kind: str, what: str) -> None:
        self.events[container_id].append((position, kind, what))


def no_restart_after_a_stop(
    mutations: Sequence[Mutation],
    applied: Mapping[int, Applied],
    found: Attribution,
    hands: HandEvents,
    restart_statuses: Sequence[str],
) -> list[str]:
    """No daemon restart reaches a container someone stopped (by hand or `change ... stop`),
    with no crash or start in between; and a daemon restart meets only a crashed container."""
    problems = []
    events: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for container_id, happened in hands.events.items():
        events[container_id].extend(happened)
    for m in mutations:
        told = applied.get(m.seq)
        if told is None or told.actor != "cli" or mutation_key(m)[0] == "backup.create":
            continue
        if m.method == "PUT" and m.body and m.body.get("status") == "stopped":
            events[m.container_id].append((m.seq, STOPPED, describe_mutation(m, told)))
        elif m.method == "PUT" or mutation_key(m)[0] == "backup.restore":
            events[m.container_id].append((m.seq, STARTED, describe_mutation(m, told)))
    for m in mutations:
        told = applied.get(m.seq)
        if told is None or told.actor != "daemon":
            continue
        kind = mutation_key(m)[0]
        if kind not in DAEMON_CHANGES:
            problems.append(
                f"the daemon made a change no policy makes: {describe_mutation(m, told)}"
            )
        if kind != "container.restart":
            continue
        # sorted() is stable: events at one position stay in the order they happened.
        before = [e for e in sorted(events.get(m.container_id, []), key=lambda e: e[0])]
        before = [e for e in before if e[0] < m.seq]
        last = before[-1] if before else None
        if last is not None and last[1] == STOPPED:
            problems.append(
                f"the daemon restarted {m.container_id}, which was stopped ({last[2]}) with no "
                f"crash or start since:\n    {describe_mutation(m, told)}"
            )
        if told.status_before not in restart_statuses:
            problems.append(
                f"the daemon restarted {m.container_id} while it was {told.status_before} "
                f"(auto_restart acts on {list(restart_statuses)} only):\n"
                f"    {describe_mutation(m, told)}"
            )
    return problems
