"""What `stacks-opsd explain CONTAINER` says: why the daemon does (or does not do) what it
does to one container, as a JSON-able document and as text.

    document = explanation(config, policies, view, states, now, pauses)
    print(render_text(document))        # or json.dumps(document)

For each policy: the effective value of every option and where it came from
(`default`, or `FILE:LINE` of the `[policies.NAME]` key or of the `[[overrides]]`
that set it; policies/overrides.py resolves them), and what the deciding
policies make of the container's audit history (each policy's `explain`: the
restart backoff and when the next restart may happen, the next weekly pin due
and which backup it would pin). Then what pauses automatic actions on it
(`pauses`: holds and maintenance windows) and its newest completed backup.

`pauses` is what `daemon.pauses.pauses_in_force` finds: dicts with `kind`
("hold", "window"), `name`, `until` and, where known, `reason`, `by` and `pauses`.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from daemon.config import Config, describe
from daemon.durations import format_duration
from daemon.snapshot import ContainerView
from policies import Policy, explain_options


def explanation(
    config: Config,
    policies: Sequence[Policy],
    view: ContainerView,
    states: Mapping[str, Mapping[str, Any]],
    now: datetime,
    pauses: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The explain document of the container in `view` (`states`: policy -> id -> state)."""
    container = view.container
    effective = explain_options(
        config.policies, config.overrides, container.name, container.type, config.origin_of
    )
    deciding = {policy.name: policy for policy in policies}
    sections = {}
    for policy_name, options in effective.items():
        section: dict[str, Any] = {
            "options": {
                option: {"value": _json_value(value.value), "origin": value.origin}
                for option, value in options.items()
            }
        }
        policy = deciding.get(policy_name)
        if policy is not None:
            state = states.get(policy_name, {}).get(container.id)
            section["state"] = dict(policy.explain(view, state, now))
        sections[policy_name] = section
    return {
        "container": {
            "id": container.id,
            "name": container.name,
            "type": container.type,
            "status": container.status,
        },
        "as_of": now.isoformat(),
        "config": config.source or "(defaults: no config file)",
        "dry_run": config.daemon.dry_run,
        "policies": sections,
        "pauses": [dict(pause) for pause in pauses],
        "newest_completed_backup": _newest_backup(view, now),
    }


def _newest_backup(view: ContainerView, now: datetime) -> dict[str, Any] | None:
    backup = view.newest_completed_backup
    if backup is None or backup.created_at is None:
        return None
    return {
        "id": backup.id,
        "created_at": backup.created_at.isoformat(),
        "age": format_duration(max(now - backup.created_at, timedelta(0))),
        "pinned": backup.pinned,
    }


def render_text(document: Mapping[str, Any]) -> str:
    """The document as an operator reads it: one block per policy, values with origins."""
    container = document["container"]
    lines = [
        f"{container['name']} ({container['id']}, type {container['type']}, "
        f"status {container['status']}) as of {document['as_of']}",
        f"config: {document['config']}" + (" (dry run: no changes)" if document["dry_run"] else ""),
        "",
    ]
    for policy, section in document["policies"].items():
        lines.append(f"[{policy}]")
        width = max(len(option) for option in section["options"])
        for option, shown in section["options"].items():
            value = describe(shown["value"])
            lines.append(f"  {option:<{width}} = {value:<20}  # {shown['origin']}")
        for key, value in section.get("state", {}).items():
            lines.append(f"  {key.replace('_', ' ')}: {_plain(value)}")
        lines.append("")
    lines.append("pauses:")
    if not document["pauses"]:
        lines.append("  none: no hold or maintenance window applies now")
    for pause in document["pauses"]:
        extra = "".join(
            f", {key} {_plain(pause[key])}" for key in ("reason", "by", "pauses") if key in pause
        )
        lines.append(f"  {pause['kind']} {pause['name']} until {_plain(pause['until'])}{extra}")
    lines.append("")
    backup = document["newest_completed_backup"]
    if backup is None:
        lines.append("newest completed backup: none listed")
    else:
        pinned = ", pinned" if backup["pinned"] else ""
        lines.append(
            f"newest completed backup: {backup['id']} of {backup['created_at']} "
            f"({backup['age']} old{pinned})"
        )
    return "\n".join(lines) + "\n"


def _json_value(value: object) -> object:
    """An option's value in JSON: durations as "5m", times as "03:00", lists as arrays."""
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return value


def _plain(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)
