"""Behaviours the guide leaves open: both variants of every switch, as a client notices them.

Each test runs in-process and against a real simulator process over HTTP (where
the switch is set through `PATCH /_sim/assumptions`).
"""

from dataclasses import fields

import httpx
import pytest

from daemon.simulator import Assumptions, Simulator
from tests.simulator.backends import parse_iso

DEFAULTS = {
    "pin_requires_completed": False,
    "restore_requires_completed": False,
    "restore_restarts": True,
    "delete_backup_requires_finished": False,
    "manual_backup_requires_none_in_progress": False,
    "manual_backup_seconds": [3, 8],
    "scheduled_backup_requires_running": True,
    "status_change_requires_not_pending": False,
    "start_when_running": "noop",
    "stop_when_stopped": "noop",
    "restart_transition": 0.0,
    "plan_fits_template": False,
    "creation_seconds": 15.0,
    "query_over_max": "clamp",
    "allowed_ip_requires_external_access": False,
    "allowed_ip_requires_new_address": False,
    "connection_requires_new_pair": False,
    "connection_requires_other_target": False,
}


@pytest.fixture
def world(backend):
    """(backend, an API client, a running nodejs container, a running postgresql container)."""
    key = backend.new_key()
    web, db = backend.seed(key, "webapp"), backend.seed(key, "mydb", template="postgresql")
    with backend.api(key) as api:
        yield backend, api, web, db


def status(api, cid) -> dict:
    return api.get(f"/containers/status/{cid}").json()


def set_status(api, cid, wanted: str) -> httpx.Response:
    return api.put(f"/containers/{cid}/status", json={"status": wanted})


def backups(api, cid) -> list[dict]:
    return api.get(f"/containers/{cid}/backups").json()["data"]


def start_backup(api, cid) -> int:
    assert api.post(f"/containers/{cid}/backup").status_code == 202
    return backups(api, cid)[0]["id"]


# -- backups ---------------------------------------------------------------------------------


@pytest.mark.parametrize("required", [False, True])
def test_pin_requires_completed(world, required):
    backend, api, _, db = world
    backend.assume(pin_requires_completed=required)
    running = start_backup(api, db)
    answer = api.post(f"/backups/{running}/pin")
    assert answer.status_code == (400 if required else 200)
    assert backups(api, db)[0]["pinned"] == (0 if required else 1)
    backend.advance(10)
    assert api.post(f"/backups/{running}/pin").status_code == 200  # completed: either way


@pytest.mark.parametrize("required", [False, True])
def test_restore_requires_completed(world, required):
    backend, api, _, db = world
    backend.assume(restore_requires_completed=required)
    running = start_backup(api, db)
    assert api.post(f"/backups/{running}/restore").status_code == (400 if required else 200)
    restores = [m for m in backend.mutations(db) if m["path"].endswith("/restore")]
    assert len(restores) == (0 if required else 1)


@pytest.mark.parametrize("restarts", [True, False])
def test_restore_restarts_and_always_moves_updated_at(world, restarts):
    backend, api, _, db = world
    backend.assume(restore_restarts=restarts)
    backup_id = start_backup(api, db)
    backend.advance(180)
    before = backend.now()
    answer = api.post(f"/backups/{backup_id}/restore")
    assert answer.status_code == 200 and answer.json()["data"]["status"] == "running"
    after = status(api, db)
    assert parse_iso(after["updatedAt"]) >= before.replace(microsecond=0)
    assert after["status"] == "running"
    if restarts:
        assert after["rawStatus"].endswith("(health: starting)")
    else:
        assert after["rawStatus"] == "Up 3 minutes (healthy)"


def test_restore_goes_through_the_restart_transition(world):
    backend, api, _, db = world
    backend.assume(restart_transition=20)
    backup_id = start_backup(api, db)
    backend.advance(10)
    restored = api.post(f"/backups/{backup_id}/restore")
    assert restored.json()["data"]["status"] == "restarting"
    assert status(api, db)["status"] == "restarting"
    backend.advance(21)
    assert status(api, db)["status"] == "running"


@pytest.mark.parametrize("required", [False, True])
def test_delete_backup_requires_finished(world, required):
    backend, api, _, db = world
    backend.assume(delete_backup_requires_finished=required)
    running = start_backup(api, db)
    assert api.delete(f"/backups/{running}").status_code == (400 if required else 200)
    backend.advance(10)
    listed = backups(api, db)
    if required:
        assert [(b["id"], b["status"]) for b in listed] == [(running, "completed")]
    else:
        assert listed == []  # it never comes back when it would have finished


@pytest.mark.parametrize("required", [False, True])
def test_manual_backup_requires_none_in_progress(world, required):
    backend, api, _, db = world
    backend.assume(manual_backup_requires_none_in_progress=required)
    start_backup(api, db)
    second = api.post(f"/containers/{db}/backup")
    assert second.status_code == (400 if required else 202)
    assert len(backups(api, db)) == (1 if required else 2)
    backend.advance(10)
    assert api.post(f"/containers/{db}/backup").status_code == 202


@pytest.mark.parametrize(
    ("seconds", "still_running_at", "done_at"), [((3, 8), 2, 8), ((60, 60), 59, 61)]
)
def test_manual_backup_seconds(world, seconds, still_running_at, done_at):
    backend, api, _, db = world
    backend.assume(manual_backup_seconds=list(seconds))
    start_backup(api, db)
    backend.advance(still_running_at)
    assert backups(api, db)[0]["status"] == "in_progress"
    backend.advance(done_at - still_running_at)
    assert backups(api, db)[0]["status"] == "completed"


@pytest.mark.parametrize("required", [True, False])
def test_scheduled_backup_requires_running(world, required):
    backend, api, _, db = world
    backend.assume(scheduled_backup_requires_running=required)
    set_status(api, db, "stopped")
    backend.advance(2 * 86400)
    listed = backups(api, db)
    if required:
        assert listed == []
    else:
        assert [b["backup_type"] for b in listed] == ["scheduled", "scheduled"]
    assert status(api, db)["status"] == "stopped"


# -- container status ------------------------------------------------------------------------


@pytest.mark.parametrize("required", [False, True])
def test_status_change_requires_not_pending(world, required):
    backend, api, _, _ = world
    backend.assume(status_change_requires_not_pending=required)
    cid = api.post("/containers", json={"name": "fresh", "template": "nodejs"}).json()["data"]["id"]
    answer = set_status(api, cid, "stopped")
    backend.advance(20)  # creation has finished by now
    if required:
        assert answer.status_code == 400 and answer.json()["field"] == "status"
        assert status(api, cid)["status"] == "running"
    else:
        assert answer.status_code == 200
        assert status(api, cid)["status"] == "stopped"  # creation finishing changed nothing


@pytest.mark.parametrize("variant", ["noop", "restart", "refuse"])
def test_start_when_running(world, variant):
    backend, api, web, _ = world
    backend.assume(start_when_running=variant)
    backend.advance(60)
    before = status(api, web)
    answer = set_status(api, web, "running")
    after = status(api, web)
    logged = [m["status_code"] for m in backend.mutations(web)]
    if variant == "refuse":
        assert answer.status_code == 400 and "already running" in answer.json()["error"]
        assert after["updatedAt"] == before["updatedAt"] and logged == []
    elif variant == "noop":
        assert (
            answer.status_code == 200 and answer.json()["message"] == "Container is already running"
        )
        assert after["updatedAt"] == before["updatedAt"] and logged == [200]
        assert after["rawStatus"] == before["rawStatus"] == "Up About a minute (healthy)"
    else:
        assert answer.status_code == 200 and after["status"] == "running"
        assert parse_iso(after["updatedAt"]) > parse_iso(before["updatedAt"])
        assert after["rawStatus"].endswith("(health: starting)") and logged == [200]


@pytest.mark.parametrize("variant", ["noop", "refuse"])
def test_stop_when_stopped(world, variant):
    backend, api, web, _ = world
    backend.assume(stop_when_stopped=variant)
    assert set_status(api, web, "stopped").status_code == 200
    backend.advance(60)
    before = status(api, web)
    answer = set_status(api, web, "stopped")
    assert answer.status_code == (400 if variant == "refuse" else 200)
    after = status(api, web)
    assert after["status"] == "stopped" and after["updatedAt"] == before["updatedAt"]


@pytest.mark.parametrize("fits", [False, True])
def test_plan_fits_template(world, fits):
    backend, api, _, _ = world
    backend.assume(plan_fits_template=fits)

    def create(name: str, template: str, plan: str | None = None) -> httpx.Response:
        body = {"name": name, "template": template, **({"plan": plan} if plan else {})}
        return api.post("/containers", json=body)

    # The template's own tier when no plan is given, either way.
    assert create("tiny", "ubuntu-micro").json()["data"]["plan"] == "micro"
    assert create("plain", "ubuntu").json()["data"]["plan"] == "basic"
    for name, template, plan in (
        ("upward", "ubuntu-micro", "basic"),
        ("downward", "ubuntu", "micro"),
    ):
        answer = create(name, template, plan)
        if fits:
            assert answer.status_code == 400 and answer.json()["field"] == "plan"
        else:
            assert answer.status_code == 202 and answer.json()["data"]["plan"] == plan
    assert create("bad", "ubuntu", "gold").status_code == 400  # not a plan at all


@pytest.mark.parametrize("seconds", [0, 30])
def test_restart_transition(world, seconds):
    backend, api, web, _ = world
    backend.assume(restart_transition=seconds)
    backend.advance(60)
    created = parse_iso(status(api, web)["createdAt"])
    answer = set_status(api, web, "restart")
    moved = parse_iso(status(api, web)["updatedAt"])
    assert moved > created
    if seconds == 0:
        assert answer.json()["data"]["status"] == "running"
        assert status(api, web)["status"] == "running"
        return
    assert answer.json()["data"]["status"] == "restarting"
    backend.advance(29)
    listed = {c["id"]: c["status"] for c in api.get("/containers").json()["data"]}
    assert listed[web] == "restarting" and status(api, web)["status"] == "restarting"
    backend.advance(2)
    after = status(api, web)
    assert after["status"] == "running" and parse_iso(after["updatedAt"]) > moved


def test_a_stop_during_the_restart_transition_wins(world):
    backend, api, web, _ = world
    backend.assume(restart_transition=30)
    set_status(api, web, "restart")
    backend.advance(10)
    assert set_status(api, web, "stopped").json()["data"]["status"] == "stopped"
    backend.advance(60)
    assert status(api, web)["status"] == "stopped"


@pytest.mark.parametrize(("seconds", "pending_at", "running_at"), [(15, 14, 16), (60, 59, 61)])
def test_creation_seconds(world, seconds, pending_at, running_at):
    backend, api, _, _ = world
    backend.assume(creation_seconds=seconds)
    cid = api.post("/containers", json={"name": "fresh", "template": "nodejs"}).json()["data"]["id"]
    backend.advance(pending_at)
    assert status(api, cid)["status"] == "pending"
    backend.advance(running_at - pending_at)
    assert status(api, cid)["status"] == "running"


# -- reads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["clamp", "refuse"])
def test_query_over_max(world, variant):
    backend, api, web, db = world
    backend.assume(query_over_max=variant)
    backend.advance(3 * 3600)
    logs = api.get(f"/containers/{web}/logs", params={"lines": 501})
    listed = api.get(f"/containers/{db}/backups", params={"limit": 101})
    if variant == "refuse":
        assert logs.status_code == 400 and logs.json()["field"] == "lines"
        assert listed.status_code == 400 and listed.json()["field"] == "limit"
    else:
        assert len(logs.json()["data"]["logs"]) == 500
        assert listed.status_code == 200
    assert api.get(f"/containers/{web}/logs", params={"lines": 0}).status_code == 400


# -- external access and connections --------------------------------------------------------


@pytest.mark.parametrize("required", [False, True])
def test_allowed_ip_requires_external_access(world, required):
    backend, api, web, _ = world
    backend.assume(allowed_ip_requires_external_access=required)
    answer = api.post(f"/containers/{web}/allowed-ips", json={"ip_address": "198.51.100.7"})
    data = api.get(f"/containers/{web}/allowed-ips").json()["data"]
    assert data["external_access_enabled"] is False
    if required:
        assert answer.status_code == 400 and data["allowed_ips"] == []
    else:
        assert answer.status_code == 200
        assert [e["ip_address"] for e in data["allowed_ips"]] == ["198.51.100.7"]


@pytest.mark.parametrize("required", [False, True])
def test_allowed_ip_requires_new_address(world, required):
    backend, api, web, _ = world
    backend.assume(allowed_ip_requires_new_address=required)
    api.put(f"/containers/{web}/external-access", json={"enabled": True})
    for _ in range(2):
        answer = api.post(f"/containers/{web}/allowed-ips", json={"ip_address": "198.51.100.7"})
    listed = api.get(f"/containers/{web}/allowed-ips").json()["data"]["allowed_ips"]
    addresses = [e["ip_address"] for e in listed if e["ip_address"] == "198.51.100.7"]
    if required:
        assert answer.status_code == 400 and answer.json()["field"] == "ip_address"
        assert len(addresses) == 1
    else:
        assert answer.status_code == 200 and len(addresses) == 2
        assert len({e["id"] for e in listed}) == len(listed)


@pytest.mark.parametrize("required", [False, True])
def test_connection_requires_new_pair(world, required):
    backend, api, web, db = world
    backend.assume(connection_requires_new_pair=required)
    assert api.post(f"/containers/{web}/connect/{db}").status_code == 200
    again = api.post(f"/containers/{web}/connect/{db}")
    outgoing = api.get(f"/containers/{web}/connections").json()["data"]["outgoing"]
    assert again.status_code == (400 if required else 200)
    assert len(outgoing) == (1 if required else 2)


@pytest.mark.parametrize("required", [False, True])
def test_connection_requires_other_target(world, required):
    backend, api, web, _ = world
    backend.assume(connection_requires_other_target=required)
    answer = api.post(f"/containers/{web}/connect/{web}")
    outgoing = api.get(f"/containers/{web}/connections").json()["data"]["outgoing"]
    assert answer.status_code == (400 if required else 200)
    assert len(outgoing) == (0 if required else 1)


# -- the switches themselves -----------------------------------------------------------------


def test_the_defaults_add_no_refusal_the_guide_does_not_state():
    assert Assumptions().to_json() == DEFAULTS
    assert {f.name for f in fields(Assumptions)} == set(DEFAULTS)


def test_controls_read_replace_and_amend_over_http(simulator_process):
    with httpx.Client(base_url=f"{simulator_process.root}/_sim", timeout=5) as http:
        assert http.get("/assumptions").json() == {"assumptions": DEFAULTS}
        patched = http.patch("/assumptions", json={"pin_requires_completed": True})
        assert patched.json()["assumptions"] == {**DEFAULTS, "pin_requires_completed": True}
        again = http.patch("/assumptions", json={"restart_transition": 5})
        assert again.json()["assumptions"]["pin_requires_completed"] is True
        replaced = http.post("/assumptions", json={"query_over_max": "refuse"})
        assert replaced.json()["assumptions"] == {**DEFAULTS, "query_over_max": "refuse"}
        for bad in (
            {"pin_requires_complete": True},
            {"pin_requires_completed": "yes"},
            {"start_when_running": "explode"},
            {"restart_transition": -1},
            {"manual_backup_seconds": [8, 3]},
        ):
            refused = http.post("/assumptions", json=bad)
            assert refused.status_code == 400 and refused.json()["error"]
            assert http.patch("/assumptions", json=bad).status_code == 400
        assert http.get("/assumptions").json()["assumptions"]["query_over_max"] == "refuse"
        assert http.post("/assumptions").json() == {"assumptions": DEFAULTS}


def test_in_process_set_amend_and_construct(clock):
    sim = Simulator(clock=clock, assumptions=Assumptions(restart_transition=9))
    assert sim.assumptions.restart_transition == 9
    assert sim.amend_assumptions(pin_requires_completed=True).restart_transition == 9
    sim.set_assumptions(Assumptions())
    assert sim.assumptions == Assumptions()
    with pytest.raises(ValueError, match="unknown assumption"):
        sim.amend_assumptions(restart_transitions=1)
    with pytest.raises(ValueError):
        Assumptions(stop_when_stopped="restart")
