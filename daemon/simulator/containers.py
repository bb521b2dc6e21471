"""Containers: creating them (name, template, plan, placement), how they are written, status.

`POST /containers` answers 202 `pending`; the container turns `running`
`creation_seconds` later (an assumption). A container is written snake_case in
`GET /containers` and camelCase in `GET /containers/status/{id}` and in the
create answer, as the guide shows them. A restart (`PUT status`) goes through
`World.restart`, shared with restore, so both follow the `restart_transition`
assumption. Test controls place containers with `provision` directly.
Per-container reads (credentials, logs, metrics, certificate) are in
container_details.py.
"""

import re
from datetime import datetime, timedelta
from typing import Any

from daemon.simulator.assumptions import RESTARTING
from daemon.simulator.backups import schedule_daily_backups
from daemon.simulator.exchange import Call, Reply, bad_request, iso
from daemon.simulator.network_access import add_vpn_client
from daemon.simulator.templates import PLANS, STORAGE_TIERS, TEMPLATES, Template, monthly_price
from daemon.simulator.world import PUBLIC_HOST, ContainerRecord, World

PLAN_NAMES = tuple(PLANS)
STATUS_VALUES = ("running", "stopped", "restart")  # what `PUT status` accepts
NAME_CHARACTERS = re.compile(r"[A-Za-z0-9-]+")


# -- creating --------------------------------------------------------------------------


def validate_name(name: object, taken: set[str]) -> str:
    """`name` if valid and free in the account, else the API's 400 error."""
    if name is None or name == "":
        raise bad_request("Container name is required", "name")
    if not isinstance(name, str):
        raise bad_request("Container name must be a string", "name")
    if len(name) < 3:
        raise bad_request("Container name must be at least 3 characters", "name")
    if len(name) > 32:
        raise bad_request("Container name must be no more than 32 characters", "name")
    if not NAME_CHARACTERS.fullmatch(name):
        raise bad_request("Container name can only contain letters, numbers, and hyphens", "name")
    if name[0] == "-" or name[-1] == "-":
        raise bad_request("Container name must start and end with a letter or number", "name")
    if "--" in name:
        raise bad_request("Container name cannot contain consecutive hyphens", "name")
    if name in taken:
        raise bad_request(f"A container named '{name}' already exists in your account", "name")
    return name


def plan_for(template: Template, plan: Any, must_fit: bool) -> str:
    """The plan of a create request (None: the template's default), or the API's 400
    (`must_fit`: `Assumptions.plan_fits_template`)."""
    if template.tier == "vpn":
        return "vpn"
    plan = template.plans[0] if plan is None else plan
    if plan not in PLAN_NAMES:
        raise bad_request(f"Plan must be one of: {', '.join(PLAN_NAMES)}", "plan")
    if must_fit and plan not in template.plans:
        raise bad_request(
            f"Template '{template.id}' is not available on the {plan} plan "
            f"(micro templates use the micro plan, others basic, standard or premium)",
            "plan",
        )
    return plan


def validate_create(world: World, account: str, body: dict[str, Any]) -> tuple:
    """(name, template, plan, storage tier) of a create request, or the API's 400."""
    taken = {c.name for c in world.containers.values() if c.account == account}
    name = validate_name(body.get("name"), taken)
    template_id = body.get("template")
    if not template_id:
        raise bad_request("Template is required", "template")
    template = TEMPLATES.get(template_id) if isinstance(template_id, str) else None
    if template is None:
        raise bad_request(
            f"Unknown template '{template_id}'. List templates with GET /containers/templates",
            "template",
        )
    plan = plan_for(template, body.get("plan"), world.assumptions.plan_fits_template)
    tier = body.get("additional_storage_tier")
    if tier is not None:
        if isinstance(tier, bool) or tier not in STORAGE_TIERS:
            *others, last = STORAGE_TIERS
            raise bad_request(
                f"additional_storage_tier must be {', '.join(map(str, others))} or {last}",
                "additional_storage_tier",
            )
        if not template.takes_extra_storage:
            raise bad_request(
                "Additional storage is only available for non-micro, non-database containers",
                "additional_storage_tier",
            )
    return name, template, plan, tier


def provision(
    world: World,
    account: str,
    name: str,
    template: Template,
    plan: str,
    storage_tier: int | None,
    status: str,
    now: datetime,
) -> ContainerRecord:
    """Place a new container; `pending` ones turn `running` after `creation_seconds`."""
    number = world.containers_made
    world.containers_made += 1
    container = ContainerRecord(
        id=f"usr-{account}-{name}",
        account=account,
        name=name,
        template=template,
        plan=plan,
        status=status,
        created_at=now,
        updated_at=now,
        status_since=now,
        ip_address=f"10.52.{number // 250}.{number % 250 + 2}",
        port=8001 + number,
        storage_tier=storage_tier,
        password=world.hex(24),
        private_key=world.hex(64),
        exit_code=1 if status == "error" else 0,
    )
    if template.vpn:
        add_vpn_client(world, container, "default", now)
    world.containers[container.id] = container
    if status == "pending":
        created = now + timedelta(seconds=world.assumptions.creation_seconds)
        container.later("running", created, world.timeline)
    schedule_daily_backups(world, container, now)
    return container


# -- how a container is written --------------------------------------------------------


def number(value: float) -> int | float:
    """1 rather than 1.0, as the API writes whole numbers."""
    return int(value) if float(value).is_integer() else value


def docker_duration(seconds: float) -> str:
    """The human duration Docker prints in `docker ps` (go-units HumanDuration)."""
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600 / 24 / 365)} years"


def raw_status(container: ContainerRecord, now: datetime) -> str:
    """What `docker ps` would say, e.g. `Up 2 hours (healthy)`."""
    age = docker_duration((now - container.status_since).total_seconds())
    status = container.status
    if status == "pending":
        return "Created"
    if status == "running":
        seconds = (now - container.status_since).total_seconds()
        return f"Up {age} ({'healthy' if seconds >= 30 else 'health: starting'})"
    if status in ("stopped", "error"):
        return f"Exited ({container.exit_code}) {age} ago"
    if status == RESTARTING:
        return f"Restarting ({container.exit_code}) {age} ago"
    return f"{status.capitalize()} {age}"  # a status the guide does not list, e.g. "starting"


def image_tag(container: ContainerRecord) -> str:
    return f"stackshosting/{container.template.type}:latest"


def list_item(container: ContainerRecord, now: datetime) -> dict[str, Any]:
    """One element of `GET /containers`."""
    cpu, ram, storage = container.allocation
    return {
        "id": container.id,
        "name": container.name,
        "type": container.template.type,
        "plan": container.plan,
        "status": container.status,
        "cpu_allocated": number(cpu),
        "memory_allocated": ram,
        "storage_allocated": storage,
        "ip_address": container.ip_address,
        "created_at": iso(container.created_at),
        "raw_docker_status": raw_status(container, now),
        "image_tag": image_tag(container),
        "version": container.template.version,
        "version_major": container.template.version_major,
    }


def status_view(container: ContainerRecord, now: datetime) -> dict[str, Any]:
    """`GET /containers/status/{id}`."""
    cpu, ram, storage = container.allocation
    return {
        "success": True,
        "id": container.id,
        "name": container.name,
        "template": container.template.id,
        "type": container.template.type,
        "status": container.status,
        "rawStatus": raw_status(container, now),
        "ram": number(ram / 1024),
        "storage": storage,
        "externalAccessEnabled": container.external_access,
        "ipAddress": container.ip_address,
        "version": container.template.version,
        "versionMajor": container.template.version_major,
        "plan": container.plan,
        "cpuAllocated": f"{cpu:.2f}",
        "memoryAllocated": ram,
        "storageAllocated": storage,
        "createdAt": iso(container.created_at),
        "updatedAt": iso(container.updated_at),
    }


def created_view(container: ContainerRecord) -> dict[str, Any]:
    """The `data` of the 202 answer to `POST /containers`."""
    cpu, ram, storage = container.allocation
    return {
        "id": container.id,
        "name": container.name,
        "template": container.template.id,
        "type": container.template.type,
        "plan": container.plan,
        "status": container.status,
        "port": container.port,
        "cpu_allocated": number(cpu),
        "memory_allocated": ram,
        "storage_allocated": storage,
        "createdAt": iso(container.created_at),
        "hasWebUI": container.template.has_web_ui,
        "sshUser": container.ssh_user,
        "sshPort": container.port,
        "publicHost": PUBLIC_HOST,
        "hasSshAccess": container.template.compute,
        "vpcNetwork": f"vpc-{container.ssh_user}",
        "imageTag": image_tag(container),
        "version": container.template.version,
        "versionMajor": container.template.version_major,
    }


# -- routes ----------------------------------------------------------------------------


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
    assume = call.world.assumptions
    wanted = call.body().get("status")
    if wanted not in STATUS_VALUES:
        raise bad_request(f"Invalid status. Must be one of: {', '.join(STATUS_VALUES)}", "status")
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
            call.world.restart(container, call.now)
            message = "Container started"
        else:
            message = "Container is already running"
    elif wanted == "restart":
        call.world.restart(container, call.now)
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
    """Deletes the container with its backups and its connections."""
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
