"""The Prometheus alerts pass promtool, are documented, tested both ways, read real metrics."""

import subprocess
from pathlib import Path

import pytest
import yaml

from daemon.exporter import exported_metric_names
from tests.deploy.promql_names import metric_names
from tests.support.integration import require_tool

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
# Minute-resolution cases, and the backup alerts' day-long cases evaluated hourly.
ALERTS_TESTS = [PROMETHEUS / "alerts_test.yml", PROMETHEUS / "alerts_days_test.yml"]

# Series Prometheus itself makes for every scrape target, not the daemon.
PROMETHEUS_MADE = {"up"}


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def alert_names() -> list[str]:
    return [rule["alert"] for rule in alert_rules()]


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [require_tool("promtool"), *args],
        capture_output=True,
        text=True,
        cwd=PROMETHEUS,
        timeout=120,
    )


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", ALERTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", *(path.name for path in ALERTS_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(ALERTS_TESTS)


def test_example_prometheus_config_is_valid() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_spec_alerts_exist() -> None:
    assert set(alert_names()) >= {
        "StacksContainerInError",
        "StacksRestartsGivenUp",
        "StacksBackupStale",
        "StacksNoWeeklyPin",
        "StacksApiDown",
        "StacksApiThrottled",
        "StacksSpendingCapReached",
        "StacksOpsdDown",
        "StacksBackupListUnread",  # staleness is unknown while a backup list goes unread
    }
    assert len(alert_names()) == len(set(alert_names())), "duplicate alert names"


@pytest.mark.parametrize("rule", alert_rules(), ids=alert_names())
def test_alert_is_documented(rule: dict) -> None:
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    assert rule["annotations"]["summary"].strip()
    assert rule["annotations"]["description"].strip()


def expected_alerts() -> list[dict]:
    """Every alert the promtool cases expect, with its `alertname`."""
    expected = []
    for path in ALERTS_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                for alert in case.get("exp_alerts") or []:
                    expected.append({"alertname": case["alertname"], **alert})
    return expected


def test_firing_alerts_about_a_container_name_it_in_the_summary() -> None:
    # promtool checks that the rendered annotations equal the expected ones.
    about_containers = [a for a in expected_alerts() if "name" in a["exp_labels"]]
    assert about_containers
    for alert in about_containers:
        assert alert["exp_labels"]["name"] in alert["exp_annotations"]["summary"], alert


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    firing = {alert["alertname"] for alert in expected_alerts()}
    silent = set()
    for path in ALERTS_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                if not case.get("exp_alerts"):
                    silent.add(case["alertname"])
    names = set(alert_names())
    assert names - firing == set(), "alerts never shown to fire"
    assert names - silent == set(), "alerts never shown to stay silent"


@pytest.mark.parametrize("rule", alert_rules(), ids=alert_names())
def test_alert_reads_only_exported_metrics(rule: dict) -> None:
    names = metric_names(rule["expr"])
    assert names, f"no metric found in {rule['expr']!r}"
    assert names - exported_metric_names() - PROMETHEUS_MADE == set()
