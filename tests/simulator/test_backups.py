"""Backups: daily 02:00 UTC, 7-day retention except pinned, manual runs, stats, restore, pins."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.simulator.conftest import START, client_for

DAY = 86400


@pytest.fixture
def db(sim, key):
    return sim.seed_container(key, "mydb", template="postgresql")


def backups(api, cid, **params):
    response = api.get(f"/containers/{cid}/backups", params=params)
    assert response.status_code == 200
    return response.json()["data"]


def test_scheduled_backup_runs_daily_at_2am_utc(api, db, clock):
    clock.set(datetime(2026, 3, 3, 1, 59, tzinfo=UTC))
    assert backups(api, db) == []
    clock.set(datetime(2026, 3, 3, 2, 5, tzinfo=UTC))
    [backup] = backups(api, db)
    assert backup["backup_type"] == "scheduled" and backup["status"] == "completed"
    assert backup["created_at"].startswith("2026-03-03T02:00:")
    assert isinstance(backup["id"], int) and backup["pinned"] == 0
    assert isinstance(backup["size_bytes"], int) and len(backup["snapshot_id"]) == 8
    assert backup["completed_at"] > backup["created_at"] and backup["error_message"] is None
    assert backup["container_name"] == "mydb" and backup["container_id"] == db


def test_retention_keeps_seven_days_unless_pinned(api, db, clock):
    clock.set(datetime(2026, 3, 3, 3, 0, tzinfo=UTC))
    first = backups(api, db)[0]["id"]
    clock.set(datetime(2026, 3, 4, 3, 0, tzinfo=UTC))
    second = backups(api, db)[0]["id"]
    assert api.post(f"/backups/{first}/pin").json()["data"] == {"id": first, "pinned": 1}
    clock.set(datetime(2026, 3, 20, 3, 0, tzinfo=UTC))
    listed = backups(api, db)
    ids = [b["id"] for b in listed]
    assert first in ids and second not in ids
    unpinned = [b for b in listed if not b["pinned"]]
    assert len(unpinned) == 7
    oldest = min(b["created_at"] for b in unpinned)
    assert oldest.startswith("2026-03-14T02:00:")
    assert api.post(f"/backups/{first}/unpin").status_code == 200
    clock.advance(DAY)
    assert first not in [b["id"] for b in backups(api, db)]


def test_stopped_containers_get_no_scheduled_backup(sim, api, key, clock):
    stopped = sim.seed_container(key, "idle", status="stopped")
    clock.advance(3 * DAY)
    assert backups(api, stopped) == []


def test_manual_backup_202_in_progress_then_completed(sim, api, db, clock):
    response = api.post(f"/containers/{db}/backup")
    assert response.status_code == 202
    assert response.json() == {
        "success": True,
        "message": "Backup started in background",
        "data": {"container_id": db, "status": "in_progress"},
    }
    [running] = backups(api, db)
    assert running["status"] == "in_progress" and running["backup_type"] == "manual"
    assert running["completed_at"] is None
    clock.advance(10)
    [done] = backups(api, db)
    assert done["status"] == "completed" and done["id"] == running["id"]
    assert sim.mutations()[-1].backup_id == done["id"]


def test_manual_backup_needs_a_running_container(sim, api, key, db):
    stopped = sim.seed_container(key, "idle", status="stopped")
    response = api.post(f"/containers/{stopped}/backup")
    assert response.status_code == 400 and "running" in response.json()["error"]
    sim.crash(db)
    assert api.post(f"/containers/{db}/backup").status_code == 400
    assert sim.mutations() == []


def test_fail_backups_for_one_container_or_all(sim, api, key, db, clock):
    other = sim.seed_container(key, "other")
    sim.fail_backups(db)
    api.post(f"/containers/{db}/backup")
    api.post(f"/containers/{other}/backup")
    clock.advance(10)
    failed = backups(api, db)[0]
    assert failed["status"] == "failed" and failed["error_message"]
    assert backups(api, other)[0]["status"] == "completed"
    sim.fail_backups(None)
    api.post(f"/containers/{other}/backup")
    clock.advance(10)
    assert backups(api, other)[0]["status"] == "failed"
    sim.fail_backups(None, enabled=False)
    api.post(f"/containers/{db}/backup")
    clock.advance(10)
    assert backups(api, db)[0]["status"] == "completed"


def test_list_limit_default_50_max_100_newest_first(sim, api, db, clock):
    for _ in range(60):
        api.post(f"/containers/{db}/backup")
        clock.advance(60)
    listed = backups(api, db)
    assert len(listed) == 50
    assert [b["created_at"] for b in listed] == sorted(
        (b["created_at"] for b in listed), reverse=True
    )
    assert len(backups(api, db, limit=5)) == 5
    assert len(backups(api, db, limit=100)) == 60
    assert api.get(f"/containers/{db}/backups", params={"limit": 0}).status_code == 400


def test_stats_count_as_strings(sim, api, key, db, clock):
    other = sim.seed_container(key, "other")
    sim.fail_backups(other)
    api.post(f"/containers/{db}/backup")
    api.post(f"/containers/{other}/backup")
    clock.advance(10)
    data = api.get("/backups/stats").json()["data"]
    size = backups(api, db)[0]["size_bytes"]
    assert data["total_backups"] == 2
    assert data["completed_backups"] == "1" and data["failed_backups"] == "1"
    assert data["total_size_bytes"] == str(size)
    assert data["last_backup_at"] == START.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_stats_of_an_account_without_backups(sim):
    with client_for(sim, sim.create_key()) as client:
        data = client.get("/backups/stats").json()["data"]
    assert data == {
        "total_backups": 0,
        "completed_backups": "0",
        "failed_backups": "0",
        "total_size_bytes": "0",
        "last_backup_at": None,
    }


def test_restore_needs_a_running_container(sim, api, db, clock):
    api.post(f"/containers/{db}/backup")
    clock.advance(10)
    backup_id = backups(api, db)[0]["id"]
    assert api.post(f"/backups/{backup_id}/restore").status_code == 200
    api.put(f"/containers/{db}/status", json={"status": "stopped"})
    refused = api.post(f"/backups/{backup_id}/restore")
    assert refused.status_code == 400 and "running" in refused.json()["error"]
    assert api.post("/backups/999999/restore").status_code == 404
    assert [m.path for m in sim.mutations()].count(f"/api/v1/backups/{backup_id}/restore") == 1


def test_delete_backup(api, db, clock):
    api.post(f"/containers/{db}/backup")
    clock.advance(10)
    backup_id = backups(api, db)[0]["id"]
    assert api.delete(f"/backups/{backup_id}").status_code == 200
    assert backups(api, db) == []
    assert api.delete(f"/backups/{backup_id}").status_code == 404


def test_a_week_of_schedules_for_200_containers_is_fast(sim, api, key, clock):
    ids = [sim.seed_container(key, f"app-{n}") for n in range(200)]
    started = time.perf_counter()
    clock.advance(8 * DAY)
    data = api.get("/backups/stats").json()["data"]
    elapsed = time.perf_counter() - started
    assert data["total_backups"] == 200 * 7
    assert len(backups(api, ids[-1])) == 7
    assert elapsed < 5, f"catching up 8 days for 200 containers took {elapsed:.1f}s"


def test_backups_created_after_a_moment_can_be_found(api, db, clock):
    """The pre-change gate's view: a backup created after the trigger completes."""
    trigger_time = clock.now()
    api.post(f"/containers/{db}/backup")
    clock.advance(10)
    newest = backups(api, db, limit=1)[0]
    created = datetime.fromisoformat(newest["created_at"].replace("Z", "+00:00"))
    assert created >= trigger_time - timedelta(seconds=1) and newest["status"] == "completed"
