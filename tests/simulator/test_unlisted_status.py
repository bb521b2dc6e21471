"""A status the guide does not list (`starting`, `restarting`): shown as is, and "not running".

Each test runs in-process and against a real simulator process over HTTP.
"""

import httpx
import pytest

from tests.simulator.backends import OverHttp, parse_iso


@pytest.fixture
def world(backend):
    key = backend.new_key()
    return backend, key, backend.seed(key, "webapp"), backend.seed(key, "mydb", "postgresql")


@pytest.mark.parametrize("status", ["starting", "restarting", "Degraded_2"])
def test_it_shows_in_the_list_and_the_status_endpoint(world, status):
    backend, key, web, _ = world
    backend.advance(120)
    before = backend.now()
    backend.set_status(web, status)
    with backend.api(key) as api:
        listed = {c["id"]: c for c in api.get("/containers").json()["data"]}
        detail = api.get(f"/containers/status/{web}").json()
    assert listed[web]["status"] == status and detail["status"] == status
    assert parse_iso(detail["updatedAt"]) >= before.replace(microsecond=0)
    assert parse_iso(detail["updatedAt"]) > parse_iso(detail["createdAt"])
    assert detail["rawStatus"] and listed[web]["raw_docker_status"] == detail["rawStatus"]


def test_it_is_not_running_for_backups_and_restore(world):
    backend, key, _, db = world
    with backend.api(key) as api:
        api.post(f"/containers/{db}/backup")
        backend.advance(10)
        backup_id = api.get(f"/containers/{db}/backups").json()["data"][0]["id"]
        backend.set_status(db, "starting")
        backup = api.post(f"/containers/{db}/backup")
        restore = api.post(f"/backups/{backup_id}/restore")
        assert backup.status_code == 400 and "running" in backup.json()["error"]
        assert restore.status_code == 400 and "running" in restore.json()["error"]
        started = api.put(f"/containers/{db}/status", json={"status": "running"})
        assert started.status_code == 200 and started.json()["data"]["status"] == "running"
        assert api.post(f"/containers/{db}/backup").status_code == 202
    assert [m["path"].rsplit("/", 1)[-1] for m in backend.mutations(db)] == [
        "backup",
        "status",
        "backup",
    ]


def test_nothing_moves_a_container_out_of_it(world):
    backend, key, _, _ = world
    with backend.api(key) as api:
        pending = api.post("/containers", json={"name": "fresh", "template": "nodejs"})
        cid = pending.json()["data"]["id"]
        backend.set_status(cid, "provisioning")
        backend.advance(120)  # creation would have finished by now
        assert api.get(f"/containers/status/{cid}").json()["status"] == "provisioning"


def test_a_scheduled_backup_skips_it(sim, api, key, clock):
    db = sim.seed_container(key, "mydb", template="postgresql")
    sim.set_status(db, "starting")
    clock.advance(2 * 86400)
    assert api.get(f"/containers/{db}/backups").json()["data"] == []


@pytest.mark.parametrize("status", ["", "has space", "x" * 33, None, 7])
def test_an_unusable_status_is_refused(sim, key, simulator_process, status):
    cid = sim.seed_container(key, "webapp")
    with pytest.raises(ValueError):
        sim.set_status(cid, status)
    assert sim.container_status(cid) == "running"
    over_http = OverHttp(simulator_process)
    served = over_http.seed(over_http.new_key(), "webapp")
    answer = httpx.post(
        f"{simulator_process.root}/_sim/containers/{served}/status",
        json={"status": status},
        timeout=5,
    )
    assert answer.status_code == 400 and "status must be" in answer.json()["error"]
    over_http.close()


def test_an_unknown_container_is_refused(sim, simulator_process):
    with pytest.raises(ValueError, match="no such container"):
        sim.set_status("usr-00000000-none", "starting")
    answer = httpx.post(
        f"{simulator_process.root}/_sim/containers/usr-00000000-none/status",
        json={"status": "starting"},
        timeout=5,
    )
    assert answer.status_code == 400 and "no such container" in answer.json()["error"]
