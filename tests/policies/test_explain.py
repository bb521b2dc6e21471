"""`explain`'s document and text for one container: options with their origins, the
restart backoff, the next weekly pin and the newest completed backup (golden files)."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from daemon.audit import Hold
from daemon.config import load_config
from daemon.evaluation import fold_rows
from daemon.explanation import explanation, render_text
from daemon.pauses import pauses_in_force
from policies import Subject, build_policies
from tests.policies.factories import backup, container, row, snapshot
from tests.support.golden import assert_golden

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday (ISO week 2026-W10)
CONFIG = """\
[policies.auto_restart]
backoff_initial = "30s"
max_restarts = 4

[policies.weekly_pin]
weekday = "friday"

[[windows]]
name = "wednesday-noon"
weekdays = ["wednesday"]
times = [{ start_time = "11:00", end_time = "13:00" }]
match = ["shop-*"]
pause = ["container.restart"]

[[overrides]]
match = ["shop-*"]
types = ["postgres"]
auto_restart.max_restarts = 2
auto_restart.backoff_max = "10m"
"""


def document(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    config = load_config(str(path), env={})
    config = replace(config, source="config.toml")  # the golden files name no temp directory
    shop = replace(container("shop-db", "error"), type="postgres")
    backups = [
        backup(41, NOW - timedelta(days=6), pinned=True),  # last week's pin
        backup(42, NOW - timedelta(days=1, hours=10)),  # this week, completed
        backup(43, NOW - timedelta(hours=10)),  # this week's newest completed
        backup(44, NOW - timedelta(minutes=5), status="in_progress"),
    ]
    view = snapshot(NOW, shop, backups={"shop-db": backups}).containers[shop.id]
    view = replace(view, backups=tuple(replace(b, container_id=shop.id) for b in backups))
    policies = build_policies(config.policies, overrides=config.overrides)
    restart = "container.restart"
    rows = [
        row(NOW - timedelta(minutes=3), "policy:auto_restart", restart, "started",
            container_id=shop.id, action_id="a1"),
        row(NOW - timedelta(minutes=2), "policy:auto_restart", restart, "skipped",
            container_id=shop.id, details={"event": "backoff"}),
        row(NOW - timedelta(minutes=1), "policy:auto_restart", restart, "started",
            container_id=shop.id, action_id="a2"),
    ]  # fmt: skip
    subjects = {shop.id: Subject.of(view)}
    states = {p.name: fold_rows(p, {}, rows if p.name == "auto_restart" else [], subjects)
              for p in policies}  # fmt: skip
    hold = Hold(17, "shop-*", "schema migration", "ana@ops-1", NOW - timedelta(hours=1),
                NOW + timedelta(hours=1))  # fmt: skip
    ended = replace(hold, id=16, ended_at=NOW - timedelta(minutes=5), end="released")
    pauses = pauses_in_force(shop.id, "shop-db", "postgres", [ended, hold], config.windows, NOW)
    return explanation(config, policies, view, states, NOW, pauses=pauses)


def test_explain_json_golden(tmp_path):
    assert_golden("explain_shop-db.json", json.dumps(document(tmp_path), indent=2) + "\n")


def test_explain_text_golden(tmp_path):
    assert_golden("explain_shop-db.txt", render_text(document(tmp_path)))


def test_explain_names_the_override_line_and_the_backoff(tmp_path):
    explained = document(tmp_path)
    restart = explained["policies"]["auto_restart"]
    assert restart["options"]["max_restarts"] == {"value": 2, "origin": "config.toml:18"}
    assert restart["options"]["backoff_initial"] == {"value": "30s", "origin": "config.toml:2"}
    assert restart["options"]["window"]["origin"] == "default"
    assert restart["options"]["backoff_max"] == {"value": "10m", "origin": "config.toml:19"}
    assert restart["state"]["restarts_within_window"] == 2
    assert restart["state"]["next_restart"].startswith("none: 2 restarts within 1h reached")
    assert explained["policies"]["weekly_pin"]["state"]["would_pin_backup_id"] == 43
    assert explained["newest_completed_backup"]["id"] == 43


def test_explain_shows_the_hold_and_the_window_in_force_not_an_ended_hold(tmp_path):
    pauses = document(tmp_path)["pauses"]
    assert pauses == [
        {
            "kind": "hold",
            "name": "17 on shop-*",
            "until": "2026-03-04T13:00:00+00:00",
            "reason": "schema migration",
            "by": "ana@ops-1",
            "pauses": ["all"],
        },
        {
            "kind": "window",
            "name": "wednesday-noon",
            "until": None,
            "pauses": ["container.restart"],
        },
    ]
