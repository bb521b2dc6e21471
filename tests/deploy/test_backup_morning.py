"""The 1,000-container morning: the 02:00 backups are confirmed, and StacksBackupStale stays silent.

The real daemon (default config) runs from 00:40 to 03:20 against the in-process
simulator, whose 1,000 containers have a week of daily backups. Every simulated
minute the series the rule reads are recorded from the daemon's own registry
(backups, fleet, each container's `max_age`); promtool then evaluates
`alerts.yml` over exactly those series. With a 60-request budget each
backup list is read only every ~2.5 hours, so a rule on `time() - last success`
would see yesterday's backup turn 26 h old before some lists are read again; the
rule judges staleness as of each list's read instead, and the daemon confirms
every container's new backup within half an hour of the schedule settling.
"""

import subprocess
from datetime import timedelta
from pathlib import Path

import yaml

from daemon.config import Config
from daemon.refresh_plan import CONFIRM_WITHIN, SCHEDULE_SETTLED
from tests.benchmarks.counting_transport import CountedSimulator
from tests.benchmarks.fleet_day import WaitRecordingClock
from tests.support.integration import require_tool
from tests.support.simulated_run import MONDAY, SimulatedRun

CONTAINERS = 1000
START, END = timedelta(minutes=40), timedelta(hours=3, minutes=20)  # after Monday 00:00
SCHEDULE = MONDAY + timedelta(hours=2)
# The confirmations are paced to end CONFIRM_WITHIN after the schedule settled; a margin
# for the budget's rhythm.
CONFIRMED_BY = SCHEDULE + SCHEDULE_SETTLED + CONFIRM_WITHIN + timedelta(minutes=5)
SERIES = (
    "stacks_backup_list_timestamp_seconds",
    "stacks_backup_last_success_timestamp_seconds",
    "stacks_container_created_timestamp_seconds",
    "stacks_opsd_backup_max_age_seconds",
)
ALERTS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"


def compact(values: list[float]) -> str:
    """promtool's expanding notation: runs of one value as `v xN`."""
    parts, index = [], 0
    while index < len(values):
        run = index
        while run + 1 < len(values) and values[run + 1] == values[index]:
            run += 1
        count = run - index
        parts.append(f"{values[index]:.0f}" + (f"x{count}" if count else ""))
        index = run + 1
    return " ".join(parts)


def record_the_morning(directory: Path) -> tuple[dict[tuple[str, str, str], list[float]], dict]:
    clock = WaitRecordingClock(MONDAY - timedelta(days=7))
    simulator = CountedSimulator(clock, seed=3)
    key = simulator.create_key()
    ids = [simulator.seed_container(key, f"app-{i:04d}") for i in range(CONTAINERS)]
    simulator.advance((timedelta(days=7) + START).total_seconds())
    run = SimulatedRun(directory, Config(), simulator=simulator, clock=clock, key=key)
    series: dict[tuple[str, str, str], list[float]] = {}
    minutes = int((END - START).total_seconds() // 60)
    try:
        for minute in range(minutes):
            run.advance(timedelta(minutes=1))
            for family in run.daemon.metrics.registry.collect():
                if family.name not in SERIES:
                    continue
                for sample in family.samples:
                    labels = (family.name, sample.labels["container_id"], sample.labels["name"])
                    values = series.setdefault(labels, [])
                    values.extend([values[-1] if values else 0.0] * (minute - len(values)))
                    values.append(sample.value)
        snapshot = run.daemon.poller.snapshot
    finally:
        run.close()
    assert len(snapshot.containers) == len(ids)
    return series, snapshot.containers


def test_the_schedule_is_confirmed_and_no_stale_alert_fires(tmp_path):
    promtool = require_tool("promtool")
    series, containers = record_the_morning(tmp_path)

    # Every new backup was confirmed soon after the schedule: its list's first read after it.
    mark = (SCHEDULE + SCHEDULE_SETTLED).timestamp()
    confirmed = {
        cid: min(value for value in values if value >= mark)
        for (name, cid, _), values in series.items()
        if name == "stacks_backup_list_timestamp_seconds"
    }
    assert len(confirmed) == CONTAINERS
    last = max(confirmed.values())
    print(f"every new backup confirmed {(last - mark) / 60:.1f} min after the schedule settled")
    assert last <= CONFIRMED_BY.timestamp()
    for view in containers.values():
        assert view.newest_completed_backup.created_at >= SCHEDULE, view.container.name

    # Every series the rule reads is there for every container: it could fire.
    for name in SERIES:
        assert sum(key[0] == name for key in series) == CONTAINERS, name
    minutes = max(len(values) for values in series.values())
    cases = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": f'{name}{{container_id="{cid}",name="{label}"}}',
                        "values": compact(values),
                    }
                    for (name, cid, label), values in series.items()
                ],
                "alert_rule_test": [
                    {"eval_time": f"{minute}m", "alertname": "StacksBackupStale", "exp_alerts": []}
                    for minute in range(20, minutes, 10)
                ],
            }
        ],
    }
    test_file = tmp_path / "morning_test.yml"
    test_file.write_text(yaml.safe_dump(cases, width=1 << 20))
    result = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "SUCCESS" in result.stdout
