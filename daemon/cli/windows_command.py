"""`stacks-opsd windows [export --grafana NAME]`: the maintenance windows of the config.

`windows` lists each `[[windows]]` table with whether it is active now.
`windows export --grafana NAME` prints that window as a Grafana alerting file
provisioning document (`apiVersion: 1`, `muteTimes`), to drop into Grafana's
`provisioning/alerting/` directory: referenced as a mute timing from a
notification policy, the alerts about those containers pause while the daemon's
actions do. The fields are Alertmanager's `time_intervals` fields, written as
the config has them.
"""

import argparse
import json
from collections.abc import Iterable

from daemon.cli.errors import UsageError
from daemon.cli.startup import config_from_args
from daemon.clock import SystemClock
from daemon.config import WindowConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "windows",
        help="list maintenance windows, or export one as a Grafana mute timing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=list_windows)
    commands = parser.add_subparsers(dest="windows_command", metavar="ACTION")
    export = commands.add_parser("export", help="print one window as a Grafana mute timing")
    export.add_argument("--grafana", metavar="NAME", required=True, help="the window's name")
    export.add_argument("--org-id", type=int, default=1, help="Grafana organisation (default 1)")
    export.set_defaults(handler=export_window)


def list_windows(args: argparse.Namespace) -> int:
    windows = config_from_args(args).windows
    if not windows:
        print("no maintenance windows configured ([[windows]] in the config file)")
        return 0
    now = SystemClock().now()
    for window in windows:
        state = "ACTIVE" if window.active(now) else "inactive"
        scope = ", ".join(window.match) + (
            f" (types {', '.join(window.types)})" if window.types else ""
        )
        print(f"{window.name}: {state}; pauses {', '.join(window.pause)} on {scope}")
    return 0


def export_window(args: argparse.Namespace) -> int:
    windows = config_from_args(args).windows
    chosen = [window for window in windows if window.name == args.grafana]
    if not chosen:
        names = ", ".join(window.name for window in windows) or "none configured"
        raise UsageError(f"no maintenance window named {args.grafana!r}; windows: {names}")
    print(grafana_mute_timing(chosen[0], args.org_id), end="")
    return 0


def time_interval(window: WindowConfig) -> dict:
    """The window as one Alertmanager/Grafana time interval (empty fields left out)."""
    interval: dict = {}
    if window.times:
        interval["times"] = [
            {"start_time": span.start_time, "end_time": span.end_time} for span in window.times
        ]
    for key in ("weekdays", "days_of_month", "months", "years"):
        values = getattr(window, key)
        if values:
            interval[key] = [str(value) for value in values]
    interval["location"] = window.location
    return interval


def grafana_mute_timing(window: WindowConfig, org_id: int = 1) -> str:
    """A Grafana alerting provisioning file (YAML) holding the window as a mute timing.
    Scalars are written as JSON strings and numbers, which YAML reads unchanged."""
    lines = [
        f"# Grafana mute timing exported from the stacks-opsd maintenance window {window.name!r}",
        "apiVersion: 1",
        "muteTimes:",
        f"  - orgId: {org_id}",
        f"    name: {json.dumps(window.name)}",
        "    time_intervals:",
    ]
    interval = time_interval(window)
    first = True
    for key, value in interval.items():
        lead = "      - " if first else "        "
        first = False
        if key == "times":
            lines.append(f"{lead}times:")
            for span in value:
                lines.append(f"          - start_time: {json.dumps(span['start_time'])}")
                lines.append(f"            end_time: {json.dumps(span['end_time'])}")
        elif isinstance(value, list):
            lines.append(f"{lead}{key}: {_flow(value)}")
        else:
            lines.append(f"{lead}{key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def _flow(values: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(value) for value in values) + "]"
