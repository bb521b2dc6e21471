"""The Grafana dashboard and provisioned alert rules query only metrics the daemon exports."""

import json
import re
from pathlib import Path

import pytest
import yaml

from daemon.exporter import exported_metric_names
from tests.deploy.promql_names import metric_names

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "stacks-opsd.json"
RULES = GRAFANA / "provisioning" / "alerting" / "stacks-opsd-rules.yaml"
DATASOURCE = GRAFANA / "provisioning" / "datasources" / "stacks-opsd-prometheus.yaml"
PROMETHEUS_ALERTS = GRAFANA.parent / "prometheus" / "alerts.yml"

# Series Prometheus itself makes for every scrape target, not the daemon.
PROMETHEUS_MADE = {"up"}
LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),)?\s*\w+\s*\)$")


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict]:
    """Every panel, including those nested in collapsed rows."""
    found = []
    for panel in dashboard()["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return [panel for panel in found if panel["type"] != "row"]


def dashboard_exprs() -> list[str]:
    exprs = [target["expr"] for panel in panels() for target in panel["targets"]]
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            query = query["query"] if isinstance(query, dict) else query
            match = LABEL_VALUES.match(query)
            exprs.append(match["selector"] if match and match["selector"] else query)
    return exprs


def grafana_rules() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def rule_exprs() -> list[str]:
    return [
        query["model"]["expr"]
        for rule in grafana_rules()
        for query in rule["data"]
        if query["datasourceUid"] != "__expr__"
    ]


def test_dashboard_covers_the_fleet_backups_api_and_daemon() -> None:
    queried = set().union(*map(metric_names, dashboard_exprs()))
    assert queried >= {
        "stacks_container_status",
        "stacks_opsd_restart_backoff_seconds",
        "stacks_opsd_actions_total",
        "stacks_backup_last_success_timestamp_seconds",
        "stacks_backup_last_pinned_timestamp_seconds",
        "stacks_api_ratelimit_remaining",
        "stacks_api_throttled_total",
        "stacks_opsd_leader",
        "up",
    }


@pytest.mark.parametrize("expr", dashboard_exprs())
def test_dashboard_queries_exported_metrics(expr: str) -> None:
    names = metric_names(expr)
    assert names, f"no metric found in {expr!r}"
    assert names - exported_metric_names() - PROMETHEUS_MADE == set()


def test_dashboard_panels_use_the_datasource_variable() -> None:
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    for panel in panels():
        for holder in (panel, *panel["targets"]):
            assert holder["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]


def test_dashboard_panel_ids_are_unique() -> None:
    ids = [panel["id"] for panel in dashboard()["panels"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("expr", rule_exprs())
def test_alert_rules_query_exported_metrics(expr: str) -> None:
    names = metric_names(expr)
    assert names, f"no metric found in {expr!r}"
    assert names - exported_metric_names() - PROMETHEUS_MADE == set()


def test_alert_rules_mirror_the_prometheus_alerts() -> None:
    prometheus = {
        rule["alert"]: rule
        for group in yaml.safe_load(PROMETHEUS_ALERTS.read_text())["groups"]
        for rule in group["rules"]
    }
    grafana = {rule["title"]: rule for rule in grafana_rules()}
    assert grafana.keys() == prometheus.keys()
    for title, rule in grafana.items():
        assert rule["labels"] == prometheus[title]["labels"], title
        assert rule["annotations"] == prometheus[title]["annotations"], title
        assert rule["for"] == prometheus[title].get("for", "0s"), title


def test_alert_rules_are_well_formed_for_provisioning() -> None:
    datasource_uids = {d["uid"] for d in yaml.safe_load(DATASOURCE.read_text())["datasources"]}
    uids = [rule["uid"] for rule in grafana_rules()]
    assert len(uids) == len(set(uids))
    assert all(len(uid) <= 40 for uid in uids), "Grafana rule uids are at most 40 characters"
    for rule in grafana_rules():
        ref_ids = {query["refId"] for query in rule["data"]}
        assert rule["condition"] in ref_ids, rule["title"]
        for query in rule["data"]:
            assert query["datasourceUid"] in datasource_uids | {"__expr__"}, rule["title"]
            if query["datasourceUid"] == "__expr__":
                assert query["model"]["expression"] in ref_ids, rule["title"]
