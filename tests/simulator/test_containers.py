"""Containers (containers.py): name rules, create -> pending -> running, both spellings,
status changes, delete, templates; a status the guide does not list (`starting`,
`restarting`) shown as is and "not running" (those tests run in-process and against a real
simulator process over HTTP)."""

import re

import httpx
import pytest

from daemon.simulator import TEMPLATES
from tests.simulator.backends import OverHttp, parse_iso

ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ab", "Container name must be at least 3 characters"),
        ("a" * 33, "Container name must be no more than 32 characters"),
        ("my_app", "Container name can only contain letters, numbers, and hyphens"),
        ("-app", "Container name must start and end with a letter or number"),
        ("app-", "Container name must start and end with a letter or number"),
        ("my--app", "Container name cannot contain consecutive hyphens"),
        (None, "Container name is required"),
    ],
)
def test_invalid_names_answer_400_with_field_name(api, name, message):
    response = api.post("/containers", json={"name": name, "template": "nodejs"})
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": message, "field": "name"}


def test_names_of_3_and_32_characters_are_accepted(api):
    assert api.post("/containers", json={"name": "abc", "template": "nodejs"}).status_code == 202
    long_ok = "a1-" * 10 + "b2"
    assert api.post("/containers", json={"name": long_ok, "template": "nodejs"}).status_code == 202


def test_duplicate_name_in_account_is_400(api):
    assert api.post("/containers", json={"name": "web", "template": "nodejs"}).status_code == 202
    again = api.post("/containers", json={"name": "web", "template": "python"})
    assert again.status_code == 400 and again.json()["field"] == "name"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "web"}, "template"),
        ({"name": "web", "template": "cobol"}, "template"),
        ({"name": "web", "template": "nodejs", "plan": "gold"}, "plan"),
        ({"name": "web", "template": "postgresql", "additional_storage_tier": 1},
         "additional_storage_tier"),
        ({"name": "web", "template": "nginx-micro", "plan": "micro", "additional_storage_tier": 1},
         "additional_storage_tier"),
        ({"name": "web", "template": "nodejs", "additional_storage_tier": 2},
         "additional_storage_tier"),
    ],
)  # fmt: skip
def test_create_validation_names_the_field(api, body, field):
    response = api.post("/containers", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_create_answers_202_pending_then_running_after_a_delay(sim, api, key, clock):
    response = api.post(
        "/containers", json={"name": "my-api", "template": "nodejs", "plan": "basic"}
    )
    assert response.status_code == 202
    data = response.json()["data"]
    account = sim.account_of(key)
    assert data["id"] == f"usr-{account}-my-api"
    assert data["status"] == "pending"
    assert data["sshUser"] == f"usr-{account}"
    assert data["vpcNetwork"] == f"vpc-usr-{account}"
    assert data["cpu_allocated"] == 1 and data["memory_allocated"] == 1024
    assert ISO_MS.fullmatch(data["createdAt"])
    assert api.get(f"/containers/status/{data['id']}").json()["status"] == "pending"
    clock.advance(14)
    assert api.get(f"/containers/status/{data['id']}").json()["status"] == "pending"
    clock.advance(2)
    assert api.get(f"/containers/status/{data['id']}").json()["status"] == "running"


def test_list_uses_snake_case_with_numbers_and_count(sim, api, key):
    sim.seed_container(key, "myapp")
    sim.seed_container(key, "tiny", template="redis-micro")
    body = api.get("/containers").json()
    assert body["success"] is True and body["count"] == 2
    first, tiny = body["data"]
    assert first["cpu_allocated"] == 1 and isinstance(first["cpu_allocated"], int)
    assert tiny["cpu_allocated"] == 0.1 and tiny["plan"] == "micro" and tiny["type"] == "redis"
    for field in ("memory_allocated", "storage_allocated"):
        assert isinstance(first[field], int)
    assert ISO_MS.fullmatch(first["created_at"])
    assert first["raw_docker_status"].startswith("Up ")
    assert first["image_tag"] == "stackshosting/nodejs:latest"
    assert first["version"] == "22" and first["version_major"] == "22"


def test_status_uses_camel_case_with_cpu_as_string(sim, api, key, clock):
    cid = sim.seed_container(key, "myapp", plan="standard")
    clock.advance(2 * 3600)
    body = api.get(f"/containers/status/{cid}").json()
    assert body["cpuAllocated"] == "1.00"
    assert body["ram"] == 2 and body["memoryAllocated"] == 2048
    assert body["rawStatus"] == "Up 2 hours (healthy)"
    assert body["externalAccessEnabled"] is False
    assert body["template"] == "nodejs" and body["versionMajor"] == "22"
    assert ISO_MS.fullmatch(body["createdAt"]) and ISO_MS.fullmatch(body["updatedAt"])


def test_stop_start_restart_and_bad_values(sim, api, key, clock):
    cid = sim.seed_container(key, "myapp")
    assert api.put(f"/containers/{cid}/status", json={"status": "stopped"}).status_code == 200
    clock.advance(180)
    status = api.get(f"/containers/status/{cid}").json()
    assert status["status"] == "stopped" and status["rawStatus"] == "Exited (0) 3 minutes ago"
    assert api.put(f"/containers/{cid}/status", json={"status": "running"}).json()["data"] == {
        "id": cid,
        "status": "running",
    }
    sim.crash(cid)
    assert api.get(f"/containers/status/{cid}").json()["status"] == "error"
    assert api.put(f"/containers/{cid}/status", json={"status": "restart"}).status_code == 200
    assert api.get(f"/containers/status/{cid}").json()["status"] == "running"
    bad = api.put(f"/containers/{cid}/status", json={"status": "paused"})
    assert bad.status_code == 400 and bad.json()["field"] == "status"
    methods = [(m.method, m.path.rsplit("/", 1)[-1], m.status_code) for m in sim.mutations()]
    assert methods == [("PUT", "status", 200)] * 3


def test_delete_removes_the_container_and_its_backups(sim, api, key, clock):
    cid = sim.seed_container(key, "mydb", template="postgresql")
    api.post(f"/containers/{cid}/backup")
    clock.advance(30)
    backup_id = api.get(f"/containers/{cid}/backups").json()["data"][0]["id"]
    response = api.delete(f"/containers/{cid}")
    assert response.status_code == 200
    assert api.get(f"/containers/status/{cid}").status_code == 404
    assert api.post(f"/backups/{backup_id}/pin").status_code == 404
    assert api.get("/containers").json()["count"] == 0
    assert sim.mutations()[-1].container_id == cid
    assert api.post("/containers", json={"name": "mydb", "template": "mysql"}).status_code == 202


def test_templates_list_every_template_with_prices(api):
    body = api.get("/containers/templates").json()
    by_id = {t["id"]: t for t in body["data"]}
    assert set(by_id) == set(TEMPLATES) and len(by_id) == 27
    assert by_id["ubuntu-micro"]["price"] == 1 and by_id["nodejs"]["price"] == 4
    assert by_id["stacks-vpn"]["price"] == 5
    plans = {p["id"]: p["price"] for p in body["plans"]}
    assert plans == {"micro": 1, "basic": 4, "standard": 5, "premium": 10}
    assert {t["tier"]: t["price"] for t in body["additionalStorage"]} == {1: 1, 3: 3, 5: 5}


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
