"""Container routes: list, status, create (202 pending), start/stop/restart, delete.

`restart` is shared with restore, so both follow the `restart_transition` assumption.
"""

from datetime import datetime, timedelta

from daemon.simulator.assumptions import RESTARTING
from daemon.simulator.call import Call
from daemon.simulator.catalog import monthly_price
from daemon.simulator.container_views import created_view, list_item, status_view
from daemon.simulator.exchange import Reply, bad_request
from daemon.simulator.provisioning import provision, validate_create
from daemon.simulator.state import ContainerRecord, World

STATUS_VALUES = ("running", "stopped", "restart")


def list_containers(call: Call) -> Reply:
    mine = [c for c in call.world.containers.values() if c.account == call.account]
    mine.sort(key=lambda c: (c.created_at, c.id))
    data = [list_item(c, call.now) for c in mine]
    return Reply({"success": True, "count": len(data), "data": data})


def container_status(call: Call) -> Reply:
    return Reply(status_view(call.container(), call.now))


def create_container(call: Call) -> Reply:
    name, template, plan, tier = validate_create(call.world, call.account, call.body())
    call.ledger.charge(call.key, monthly_price(template, plan, tier), call.now)
    container = provision(call.world, call.account, name, template, plan, tier, "pending", call.now)
    return Reply(
        {
            "success": True,
            "message": "Container is being created. "
            "Poll GET /containers/status/{id} to track progress.",
            "data": created_view(container),
        },
        status=202,
        container_id=container.id,
    )


def restart(world: World, container: ContainerRecord, now: datetime) -> None:
    """A restart: `running` at once, or `restarting` for `restart_transition` seconds first."""
    seconds = world.assumptions.restart_transition
    if seconds > 0:
        container.set_status(RESTARTING, now)
        container.later("running", now + timedelta(seconds=seconds), world.timeline)
    else:
        container.set_status("running", now)


def set_status(call: Call) -> Reply:
    container = call.container()
    assume = call.world.assumptions
    wanted = call.body().get("status")
    if wanted not in STATUS_VALUES:
        raise bad_request("Invalid status. Must be one of: running, stopped, restart", "status")
    if container.status == "pending" and assume.status_change_requires_not_pending:
        raise bad_request(
            f"Container {container.id} is still being created; "
            "wait until GET /containers/status shows running",
            "status",
        )
    if wanted == "stopped":
        if container.status != "stopped":
            container.set_status("stopped", call.now)
        elif assume.stop_when_stopped == "refuse":
            raise bad_request(f"Container {container.id} is already stopped", "status")
        message = "Container stopped"
    elif wanted == "running" and container.status == "running":
        if assume.start_when_running == "refuse":
            raise bad_request(f"Container {container.id} is already running", "status")
        if assume.start_when_running == "restart":
            restart(call.world, container, call.now)
            message = "Container started"
        else:
            message = "Container is already running"
    elif wanted == "restart":
        restart(call.world, container, call.now)
        message = "Container restarted"
    else:
        container.set_status("running", call.now)
        message = "Container started"
    return Reply(
        {
            "success": True,
            "message": message,
            "data": {"id": container.id, "status": container.status},
        },
        container_id=container.id,
    )


def delete_container(call: Call) -> Reply:
    container = call.container()
    world = call.world
    del world.containers[container.id]
    for backup in world.backups_of(container.id):
        world.remove_backup(backup)
    for connection in list(world.connections.values()):
        if container.id in (connection.source_id, connection.target_id):
            del world.connections[connection.id]
    world.failing_backups.discard(container.id)
    return Reply(
        {
            "success": True,
            "message": f"Container {container.id} deleted",
            "data": {"id": container.id},
        },
        container_id=container.id,
    )
