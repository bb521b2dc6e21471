"""Container routes: list, status, create (202 pending), start/stop/restart, delete."""

from daemon.simulator.call import Call
from daemon.simulator.catalog import monthly_price
from daemon.simulator.container_views import created_view, list_item, status_view
from daemon.simulator.exchange import Reply, bad_request
from daemon.simulator.provisioning import provision, validate_create

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


def set_status(call: Call) -> Reply:
    container = call.container()
    wanted = call.body().get("status")
    if wanted not in STATUS_VALUES:
        raise bad_request("Invalid status. Must be one of: running, stopped, restart", "status")
    if container.status == "pending":
        raise bad_request(
            f"Container {container.id} is still being created; "
            "wait until GET /containers/status shows running",
            "status",
        )
    if wanted == "stopped":
        if container.status != "stopped":
            container.set_status("stopped", call.now)
        message = "Container stopped"
    elif wanted == "running" and container.status == "running":
        message = "Container is already running"
    else:
        container.set_status("running", call.now)
        message = "Container restarted" if wanted == "restart" else "Container started"
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
