"""How a container is written: snake_case in lists, camelCase in status and create."""

from datetime import datetime
from typing import Any

from daemon.simulator.catalog import STORAGE_TIERS, resources
from daemon.simulator.isotime import docker_duration, iso
from daemon.simulator.state import ContainerRecord

PUBLIC_HOST = "stacks.hosting"


def number(value: float) -> int | float:
    """1 rather than 1.0, as the API writes whole numbers."""
    return int(value) if float(value).is_integer() else value


def allocation(container: ContainerRecord) -> tuple[float, int, int]:
    cpu, ram, storage, _ = resources(container.template, container.plan)
    if container.storage_tier:
        storage += STORAGE_TIERS[container.storage_tier][0]
    return cpu, ram, storage


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
    if status == "restarting":
        return f"Restarting ({container.exit_code}) {age} ago"
    return f"{status.capitalize()} {age}"  # a status the guide does not list, e.g. "starting"


def image_tag(container: ContainerRecord) -> str:
    return f"stackshosting/{container.template.type}:latest"


def list_item(container: ContainerRecord, now: datetime) -> dict[str, Any]:
    """One element of `GET /containers`."""
    cpu, ram, storage = allocation(container)
    version = container.template.version
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
        "version": version,
        "version_major": version.split(".")[0],
    }


def status_view(container: ContainerRecord, now: datetime) -> dict[str, Any]:
    """`GET /containers/status/{id}`."""
    cpu, ram, storage = allocation(container)
    version = container.template.version
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
        "version": version,
        "versionMajor": version.split(".")[0],
        "plan": container.plan,
        "cpuAllocated": f"{cpu:.2f}",
        "memoryAllocated": ram,
        "storageAllocated": storage,
        "createdAt": iso(container.created_at),
        "updatedAt": iso(container.updated_at),
    }


def created_view(container: ContainerRecord) -> dict[str, Any]:
    """The `data` of the 202 answer to `POST /containers`."""
    cpu, ram, storage = allocation(container)
    version = container.template.version
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
        "sshUser": f"usr-{container.account}",
        "sshPort": container.port,
        "publicHost": PUBLIC_HOST,
        "hasSshAccess": container.template.compute,
        "vpcNetwork": f"vpc-usr-{container.account}",
        "imageTag": image_tag(container),
        "version": version,
        "versionMajor": version.split(".")[0],
    }
