"""Typed answers to STACKS changes: a created container, a triggered backup, an acknowledgement."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from daemon.stacks.fields import as_bool, as_int, as_str, pick, require_mapping, unwrap
from daemon.stacks.models import Container


@dataclass(frozen=True)
class ActionResult:
    """A change that returns no resource (status change, delete, pin, restore...)."""

    message: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> "ActionResult":
        data = unwrap(body)
        data = data if isinstance(data, Mapping) else {}
        message = as_str(pick(body, "message") or pick(data, "message"), "message")
        return cls(message=message, data=data)


@dataclass(frozen=True)
class ContainerCreated:
    """`POST /containers` (202): the new container, `pending`, and how to reach it."""

    container: Container
    message: str | None = None
    port: int | None = None
    ssh_user: str | None = None
    ssh_port: int | None = None
    public_host: str | None = None
    has_web_ui: bool | None = None
    has_ssh_access: bool | None = None
    vpc_network: str | None = None

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> "ContainerCreated":
        data = require_mapping(body.get("data"), "created container")
        web_ui, ssh = (
            pick(data, "hasWebUI", "has_web_ui"),
            pick(data, "hasSshAccess", "has_ssh_access"),
        )
        return cls(
            container=Container.from_api(data),
            message=as_str(body.get("message"), "message"),
            port=as_int(data.get("port"), "port"),
            ssh_user=as_str(pick(data, "sshUser", "ssh_user"), "sshUser"),
            ssh_port=as_int(pick(data, "sshPort", "ssh_port"), "sshPort"),
            public_host=as_str(pick(data, "publicHost", "public_host"), "publicHost"),
            has_web_ui=None if web_ui is None else as_bool(web_ui),
            has_ssh_access=None if ssh is None else as_bool(ssh),
            vpc_network=as_str(pick(data, "vpcNetwork", "vpc_network"), "vpcNetwork"),
        )


@dataclass(frozen=True)
class BackupTriggered:
    """`POST /containers/{id}/backup` (202): the backup runs in the background.

    STACKS returns no backup id: poll the container's backups for one created
    after the trigger.
    """

    container_id: str | None
    status: str | None
    message: str | None = None

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> "BackupTriggered":
        data = unwrap(body)
        data = data if isinstance(data, Mapping) else {}
        return cls(
            container_id=as_str(pick(data, "container_id", "containerId"), "container_id"),
            status=as_str(data.get("status"), "backup status"),
            message=as_str(body.get("message"), "message"),
        )
