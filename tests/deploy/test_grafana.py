"""The Grafana dashboard and provisioned alert rules query only metrics the daemon exports,
and its audit annotations and table query only columns the audit log has."""

import json
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from daemon.audit import COLUMNS, AuditStore, new_action_id
from daemon.clock import ManualClock
from daemon.exporter import exported_metric_names
from tests.deploy.promql_names import metric_names
from tests.support.integration import postgres_url, require_tool

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "stacks-opsd.json"
RULES = GRAFANA / "provisioning" / "alerting" / "stacks-opsd-rules.yaml"
DATASOURCE = GRAFANA / "provisioning" / "datasources" / "stacks-opsd-prometheus.yaml"
AUDIT_DATASOURCE = GRAFANA / "provisioning" / "datasources" / "stacks-opsd-audit-postgres.yaml"
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


def prometheus_panels() -> list[dict]:
    return [panel for panel in panels() if panel["datasource"]["uid"] == "${DS_PROMETHEUS}"]


def audit_panels() -> list[dict]:
    return [panel for panel in panels() if panel["datasource"]["uid"] == "${DS_AUDIT}"]


def dashboard_exprs() -> list[str]:
    exprs = [target["expr"] for panel in prometheus_panels() for target in panel["targets"]]
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


def test_dashboard_panels_use_the_datasource_variables() -> None:
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_AUDIT"]["type"] == "datasource"
    assert variables["DS_AUDIT"]["query"] == "grafana-postgresql-datasource"
    for panel in panels():
        uid = panel["datasource"]["uid"]
        assert uid in {"${DS_PROMETHEUS}", "${DS_AUDIT}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, panel["title"]
    for annotation in dashboard()["annotations"]["list"]:
        assert annotation["datasource"]["uid"] == "${DS_AUDIT}", annotation["name"]


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


THRESHOLDS = {"gt": ">", "lt": "<"}


def as_prometheus_rule(rule: dict) -> dict:
    """What a provisioned rule decides, as a Prometheus alerting rule: its query (A)
    compared with its threshold (B), or absent with `noDataState: Alerting`, with its
    `for`, labels and annotations."""
    queries = {query["refId"]: query["model"] for query in rule["data"]}
    (condition,) = queries["B"]["conditions"]
    evaluator = condition["evaluator"]
    (threshold,) = evaluator["params"]
    query = queries["A"]["expr"].strip()
    expr = f"({query}) {THRESHOLDS[evaluator['type']]} {threshold}"
    if rule["noDataState"] == "Alerting":
        expr += f" or absent({query})"
    return {
        "alert": rule["title"],
        "expr": expr,
        "for": rule["for"],
        "labels": rule["labels"],
        "annotations": rule["annotations"],
    }


@pytest.mark.parametrize("cases", ["alerts_days_test.yml", "alerts_test.yml"])
def test_alert_rules_fire_where_the_prometheus_alerts_do(tmp_path, cases: str) -> None:
    """promtool runs the Prometheus alerts' unit tests over the Grafana rules' queries and
    thresholds: each case fires and stays silent as it does for alerts.yml."""
    promtool = require_tool("promtool")
    rules = tmp_path / "grafana_rules.yml"
    converted = [as_prometheus_rule(rule) for rule in grafana_rules()]
    rules.write_text(yaml.safe_dump({"groups": [{"name": "grafana", "rules": converted}]}))
    tests = yaml.safe_load((PROMETHEUS_ALERTS.parent / cases).read_text())
    tests["rule_files"] = [str(rules)]
    test_file = tmp_path / cases
    test_file.write_text(yaml.safe_dump(tests, width=1 << 20))
    result = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


NAME_FILTER = '{name=~"$name"}'


def stale_backups_query() -> str:
    (panel,) = [panel for panel in prometheus_panels() if panel["title"] == "Stale backups"]
    (target,) = panel["targets"]
    return target["expr"]


def test_stale_backups_stat_counts_what_stacks_backup_stale_fires_on() -> None:
    """The stat is the alert's own expression, counted (the dashboard's $name aside), so
    it never shows a container stale that the alert does not fire on, nor misses one."""
    (stale,) = [
        rule
        for group in yaml.safe_load(PROMETHEUS_ALERTS.read_text())["groups"]
        for rule in group["rules"]
        if rule.get("alert") == "StacksBackupStale"
    ]
    query = stale_backups_query()
    assert NAME_FILTER in query
    assert "".join(query.replace(NAME_FILTER, "").split()) == "".join(
        f"count({stale['expr']}) or vector(0)".split()
    )


def test_stale_backups_stat_judges_each_container_by_its_max_age_at_its_list_read(
    tmp_path,
) -> None:
    """Lists read at 31h: db (a 72h override, a 30h-old backup) is not stale, web (26h)
    is, and so is new (created 30h before, never backed up); each counted through $name."""
    promtool = require_tool("promtool")
    containers = {
        # name: (created, last completed backup or None, max_age), list read at 31h
        "db": (-864000, 3600, 259200),
        "web": (-864000, 3600, 93600),
        "new": (3600, None, 93600),
    }
    input_series = []
    for name, (created, backup, max_age) in containers.items():
        labels = f'{{container_id="usr-0a1b2c3d-{name}",name="{name}"}}'
        values = {
            "stacks_container_created_timestamp_seconds": created,
            "stacks_backup_list_timestamp_seconds": 111600,
            "stacks_opsd_backup_max_age_seconds": max_age,
            "stacks_backup_last_success_timestamp_seconds": backup,
        }
        input_series += [
            {"series": metric + labels, "values": f"{value}x70"}
            for metric, value in values.items()
            if value is not None
        ]
    expected = {"db": 0, "web": 1, "new": 1, ".*": 2}
    cases = {
        "evaluation_interval": "30m",
        "tests": [
            {
                "interval": "30m",
                "input_series": input_series,
                "promql_expr_test": [
                    {
                        "expr": stale_backups_query().replace("$name", name),
                        "eval_time": "31h",
                        "exp_samples": [{"labels": "{}", "value": count}],
                    }
                    for name, count in expected.items()
                ],
            }
        ],
    }
    test_file = tmp_path / "stale_stat_test.yml"
    test_file.write_text(yaml.safe_dump(cases, width=1 << 20))
    result = subprocess.run(
        [promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


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


# -- the audit database: annotations and the "Recent actions" table ---------------------

SQL_WORDS = {
    "select", "from", "where", "and", "or", "not", "in", "as", "order", "by", "desc", "asc",
    "limit", "coalesce", "concat", "concat_ws", "nullif", "is", "null", "audit_log",
}  # fmt: skip
# Grafana's macros and variables, replaced as Grafana would for one day and every container.
MACROS = {
    "$__timeFilter(at)": "at BETWEEN '{start}' AND '{end}'",
    "${name:regex}": ".*",
}


def audit_queries() -> dict[str, str]:
    """Every SQL the dashboard sends to the audit database, by annotation or panel name."""
    queries = {a["name"]: a["target"]["rawSql"] for a in dashboard()["annotations"]["list"]}
    for panel in audit_panels():
        for target in panel["targets"]:
            queries[f"{panel['title']} {target['refId']}"] = target["rawSql"]
    return queries


def names_in(sql: str) -> set[str]:
    """The identifiers an SQL text uses, less SQL words, literals, macros and aliases."""
    for macro in MACROS:
        sql = sql.replace(macro, " ")
    sql = re.sub(r"'[^']*'", " ", sql)
    aliases = set(re.findall(r"\bAS\s+(\w+)", sql, flags=re.IGNORECASE))
    words = {word.lower() for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql)}
    return words - SQL_WORDS - {alias.lower() for alias in aliases}


def test_annotations_show_restarts_pins_and_changes_from_the_audit_log() -> None:
    annotations = {a["name"]: a for a in dashboard()["annotations"]["list"]}
    assert set(annotations) == {"Restarts", "Pins", "Changes"}
    for name, annotation in annotations.items():
        sql = annotation["target"]["rawSql"]
        assert annotation["enable"], name
        assert "FROM audit_log" in sql and "$__timeFilter(at)" in sql, name
        assert annotation["target"]["format"] == "table", name
    assert "'container.restart'" in annotations["Restarts"]["target"]["rawSql"]
    assert "'backup.pin', 'backup.unpin'" in annotations["Pins"]["target"]["rawSql"]
    assert "'backup.restore'" in annotations["Changes"]["target"]["rawSql"]


def test_dashboard_has_a_table_of_recent_actions() -> None:
    (table,) = [panel for panel in audit_panels() if panel["title"] == "Recent actions"]
    assert table["type"] == "table"
    (target,) = table["targets"]
    assert "ORDER BY id DESC" in target["rawSql"] and "LIMIT" in target["rawSql"]


@pytest.mark.parametrize("name", sorted(audit_queries()))
def test_audit_sql_names_only_existing_columns(name: str) -> None:
    assert names_in(audit_queries()[name]) - set(COLUMNS) == set(), name


def test_audit_datasource_is_provisioned_for_the_dashboard() -> None:
    (source,) = yaml.safe_load(AUDIT_DATASOURCE.read_text())["datasources"]
    assert source["type"] == "grafana-postgresql-datasource"
    assert source["secureJsonData"]["password"].startswith("$")  # from the environment
    inputs = {entry["name"]: entry for entry in dashboard()["__inputs"]}
    assert inputs["DS_AUDIT"]["pluginId"] == source["type"]


@pytest.fixture
def audit_postgres():
    """A PostgreSQL schema holding an audit log written by the store: a restart, a gave_up,
    a pin and a stop, each with its `started` row."""
    import psycopg

    base = postgres_url()
    schema = f"grafana_test_{uuid.uuid4().hex[:12]}"
    conninfo = base.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options=-csearch_path%3D{schema}"
    clock = ManualClock(datetime(2026, 1, 5, 3, 0, tzinfo=UTC))
    store = AuditStore.open(url, "test-host:1", clock)
    for action, outcome, name in (
        ("container.restart", "succeeded", "web"),
        ("container.restart", "gave_up", "web"),
        ("backup.pin", "succeeded", "db"),
        ("container.stop", "succeeded", "db"),
    ):
        action_id = new_action_id()
        for step in ("started", outcome):
            store.append("policy:test", action, step, action_id=action_id,
                         container_id=f"usr-0000abcd-{name}", container_name=name,
                         reason="a test row")  # fmt: skip
        clock.advance(60)
    store.close()
    engine = create_engine(url)
    try:
        yield engine, clock.now()
    finally:
        engine.dispose()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def as_grafana_sends(sql: str, now: datetime) -> str:
    start, end = (now - timedelta(days=1)).isoformat(), now.isoformat()
    for macro, replacement in MACROS.items():
        sql = sql.replace(macro, replacement.format(start=start, end=end))
    return sql


def test_audit_queries_run_on_postgresql_and_show_each_kind_where_it_belongs(audit_postgres):
    engine, now = audit_postgres
    found = {}
    with engine.connect() as conn:
        for name, sql in audit_queries().items():
            result = conn.execute(text(as_grafana_sends(sql, now)))
            found[name] = (list(result.keys()), [tuple(row) for row in result])
    for name in ("Restarts", "Pins", "Changes"):
        columns, _ = found[name]
        assert columns == ["time", "text", "tags"], name
    restarts = [row[1] for row in found["Restarts"][1]]
    assert restarts == [
        "web: container.restart succeeded (policy:test): a test row",
        "web: container.restart gave_up (policy:test): a test row",
    ]
    assert found["Restarts"][1][1][2] == "container.restart,gave_up,web"
    assert [row[1] for row in found["Pins"][1]] == [
        "db: backup.pin succeeded (policy:test): a test row"
    ]
    assert [row[1] for row in found["Changes"][1]] == [
        "db: container.stop succeeded (policy:test): a test row"
    ]
    columns, rows = found["Recent actions A"]
    assert columns[:4] == ["time", "container", "action", "outcome"]
    assert [(row[1], row[2], row[3]) for row in rows] == [
        ("db", "container.stop", "succeeded"),
        ("db", "backup.pin", "succeeded"),
        ("web", "container.restart", "gave_up"),
        ("web", "container.restart", "succeeded"),
    ]
