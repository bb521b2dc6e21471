"""Typed results of the STACKS API the daemon watches and changes, parsed leniently.

What the poller reads every cycle (containers, backups, backup stats, metrics)
and what a change answers (an acknowledgement, a created container, a triggered
backup). The guide spells the same fields two ways (`GET /containers` says
`cpu_allocated: 1`, `GET /containers/status/{id}` says `cpuAllocated: "1.00"`),
sends numbers as strings in `/backups/stats`, and may add fields or statuses at
any time. Every `from_api` accepts both spellings, ignores unknown fields (kept
in `extra`), keeps unknown status strings as they are, and raises
`MalformedData` only when a field the daemon cannot do without is missing or
unusable. The details an operator asks for now and then live in `details` and
`networking`.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from daemon.stacks.fields import (
    MalformedData,
    as_bool,
    as_float,
    as_int,
    as_str,
    as_time,
    data_object,
    pick,
    require_list,
    require_mapping,
    unwrap,
)

KNOWN_CONTAINER_STATUSES = ("running", "stopped", "pending", "error")
KNOWN_BACKUP_STATUSES = ("in_progress", "completed", "failed")


@dataclass(frozen=True)
class Container:
    """A container from `GET /containers` (snake_case) or `GET /containers/status/{id}` (camel)."""

    id: str
    name: str
    status: str
    type: str | None = None
    template: str | None = None
    plan: str | None = None
    cpu_allocated: float | None = None
    memory_allocated_mb: int | None = None
    storage_allocated_mb: int | None = None
    ip_address: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw_status: str | None = None
    image_tag: str | None = None
    version: str | None = None
    version_major: str | None = None
    external_access_enabled: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    _KNOWN = frozenset(
        (
            "id", "name", "status", "type", "template", "plan",
            "cpu_allocated", "cpuAllocated", "memory_allocated", "memoryAllocated",
            "storage_allocated", "storageAllocated", "ip_address", "ipAddress",
            "created_at", "createdAt", "updated_at", "updatedAt",
            "raw_docker_status", "rawStatus", "image_tag", "imageTag",
            "version", "version_major", "versionMajor",
            "externalAccessEnabled", "external_access_enabled", "success",
        )
    )  # fmt: skip

    @classmethod
    def from_api(cls, raw: Any) -> "Container":
        data = require_mapping(raw, "container")
        access = pick(data, "externalAccessEnabled", "external_access_enabled")
        return cls(
            id=as_str(data.get("id"), "container id", required=True),
            name=as_str(data.get("name"), "container name", required=True),
            status=as_str(data.get("status"), "container status", required=True),
            type=as_str(data.get("type"), "type"),
            template=as_str(data.get("template"), "template"),
            plan=as_str(data.get("plan"), "plan"),
            cpu_allocated=as_float(pick(data, "cpu_allocated", "cpuAllocated"), "cpu_allocated"),
            memory_allocated_mb=as_int(
                pick(data, "memory_allocated", "memoryAllocated"), "memory_allocated"
            ),
            storage_allocated_mb=as_int(
                pick(data, "storage_allocated", "storageAllocated"), "storage_allocated"
            ),
            ip_address=as_str(pick(data, "ip_address", "ipAddress"), "ip_address"),
            created_at=as_time(pick(data, "created_at", "createdAt"), "created_at"),
            updated_at=as_time(pick(data, "updated_at", "updatedAt"), "updated_at"),
            raw_status=as_str(pick(data, "raw_docker_status", "rawStatus"), "raw status"),
            image_tag=as_str(pick(data, "image_tag", "imageTag"), "image_tag"),
            version=as_str(data.get("version"), "version"),
            version_major=as_str(pick(data, "version_major", "versionMajor"), "version_major"),
            external_access_enabled=None if access is None else as_bool(access),
            extra={k: v for k, v in data.items() if k not in cls._KNOWN},
        )


def parse_containers(body: Mapping[str, Any]) -> tuple[Container, ...]:
    """`GET /containers`: every container of the account. (`count` is not checked against
    the list: the guide's own example answers `"count": 3` with one container shown.)"""
    return tuple(Container.from_api(item) for item in require_list(unwrap(body), "containers"))


def parse_container_status(body: Mapping[str, Any]) -> Container:
    """`GET /containers/status/{id}`: the container, bare or in a `data` envelope."""
    data = body.get("data")
    return Container.from_api(data if isinstance(data, Mapping) else body)


@dataclass(frozen=True)
class Backup:
    """One backup from `GET /containers/{id}/backups`."""

    id: int
    container_id: str
    status: str
    created_at: datetime | None
    container_name: str | None = None
    backup_type: str | None = None
    snapshot_id: str | None = None
    size_bytes: int | None = None
    backup_server: str | None = None
    completed_at: datetime | None = None
    error_message: str | None = None
    pinned: bool = False

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def scheduled(self) -> bool:
        """One of the daily backups STACKS takes by itself (the guide's `backup_type`), never
        one a client triggered."""
        return self.backup_type == "scheduled"

    @classmethod
    def from_api(cls, raw: Any) -> "Backup":
        data = require_mapping(raw, "backup")
        raw_id = data.get("id")
        if isinstance(raw_id, str) and raw_id.isascii() and raw_id.isdigit():
            raw_id = int(raw_id)
        if not isinstance(raw_id, int) or isinstance(raw_id, bool) or raw_id < 0:
            # Never through a float: 9007199254740993 would become another backup's id.
            raise MalformedData(f"backup id: expected a whole number, got {raw_id!r}")
        backup_id = raw_id
        return cls(
            id=backup_id,
            container_id=as_str(data.get("container_id"), "backup container_id", required=True),
            status=as_str(data.get("status"), "backup status", required=True),
            created_at=as_time(pick(data, "created_at", "createdAt"), "backup created_at"),
            container_name=as_str(data.get("container_name"), "container_name"),
            backup_type=as_str(data.get("backup_type"), "backup_type"),
            snapshot_id=as_str(data.get("snapshot_id"), "snapshot_id"),
            size_bytes=as_int(data.get("size_bytes"), "size_bytes"),
            backup_server=as_str(data.get("backup_server"), "backup_server"),
            completed_at=as_time(pick(data, "completed_at", "completedAt"), "completed_at"),
            error_message=as_str(data.get("error_message"), "error_message"),
            pinned=as_bool(data.get("pinned")),
        )


def newest_completed(backups: Iterable[Backup]) -> Backup | None:
    """The newest completed backup (by creation time) of `backups`, or None."""
    done = [b for b in backups if b.completed and b.created_at is not None]
    return max(done, key=lambda b: b.created_at, default=None)


def parse_backups(body: Mapping[str, Any], container_id: str) -> tuple[Backup, ...]:
    """`GET /containers/{id}/backups` of `container_id`: a backup of another container in
    the answer is a misrouted answer, never a backup to act on."""
    backups = tuple(Backup.from_api(item) for item in require_list(unwrap(body), "backups"))
    strays = sorted({b.container_id for b in backups if b.container_id != container_id})
    if strays:
        raise MalformedData(f"the backups of {container_id} include backups of {strays[0]}")
    return backups


@dataclass(frozen=True)
class BackupStats:
    """`GET /backups/stats`: counts and sizes arrive as strings or numbers."""

    total_backups: int
    completed_backups: int
    failed_backups: int
    total_size_bytes: int
    last_backup_at: datetime | None

    @classmethod
    def from_api(cls, raw: Any) -> "BackupStats":
        data = require_mapping(raw, "backup stats")

        def count(name: str, of_none: int | None = None) -> int:
            value = as_int(data.get(name), name)
            if value is None and name in data and of_none is not None:
                return of_none
            if value is None:  # not 0: a missing count is no count
                raise MalformedData(f"backup stats: no {name}")
            return value

        total = count("total_backups")
        # The other figures are sums (strings, in the guide), and a sum over no backups
        # is null: with none, a null is 0; with some, it is no count.
        of_none = 0 if total == 0 else None
        return cls(
            total_backups=total,
            completed_backups=count("completed_backups", of_none),
            failed_backups=count("failed_backups", of_none),
            total_size_bytes=count("total_size_bytes", of_none),
            last_backup_at=as_time(data.get("last_backup_at"), "last_backup_at"),
        )


def parse_backup_stats(body: Mapping[str, Any]) -> BackupStats:
    """`GET /backups/stats`."""
    return BackupStats.from_api(unwrap(body))


@dataclass(frozen=True)
class MetricSample:
    timestamp: datetime
    value: float


def parse_series(raw: Any, what: str) -> tuple[MetricSample, ...]:
    """A metric array: `[{"timestamp": ISO, "value": n}]` or `[[timestamp, value]]`."""
    if raw is None:
        return ()
    samples = []
    for point in require_list(raw, what):
        if isinstance(point, Mapping):
            moment, value = point.get("timestamp"), point.get("value")
        elif isinstance(point, list | tuple) and len(point) == 2:
            moment, value = point
        else:
            raise MalformedData(f"{what}: a sample must be an object or a [timestamp, value] pair")
        at = as_time(moment, f"{what} timestamp")
        number = as_float(value, f"{what} value")
        if at is None:
            raise MalformedData(f"{what}: a sample lacks its timestamp")
        if number is not None:  # null: nothing was measured then, a gap in the series
            samples.append(MetricSample(at, number))
    samples.sort(key=lambda sample: sample.timestamp)
    return tuple(samples)


@dataclass(frozen=True)
class ContainerMetrics:
    """`GET /containers/{id}/metrics`: cpu percent 0-100, memory/disk MB, network bytes/s."""

    cpu_percent: tuple[MetricSample, ...]
    memory_mb: tuple[MetricSample, ...]
    disk_mb: tuple[MetricSample, ...]
    network_in_bps: tuple[MetricSample, ...]
    network_out_bps: tuple[MetricSample, ...]

    @property
    def latest_timestamp(self) -> datetime | None:
        series = (self.cpu_percent, self.memory_mb, self.disk_mb)
        moments = [
            s[-1].timestamp for s in (*series, self.network_in_bps, self.network_out_bps) if s
        ]
        return max(moments, default=None)

    @classmethod
    def from_api(cls, raw: Any) -> "ContainerMetrics":
        data = require_mapping(raw, "metrics")
        return cls(
            cpu_percent=parse_series(data.get("cpu"), "cpu"),
            memory_mb=parse_series(data.get("memory"), "memory"),
            disk_mb=parse_series(data.get("disk"), "disk"),
            network_in_bps=parse_series(pick(data, "network_in", "networkIn"), "network_in"),
            network_out_bps=parse_series(pick(data, "network_out", "networkOut"), "network_out"),
        )


def parse_metrics(body: Mapping[str, Any]) -> ContainerMetrics:
    """`GET /containers/{id}/metrics`."""
    return ContainerMetrics.from_api(unwrap(body))


def latest(series: tuple[MetricSample, ...]) -> float | None:
    return series[-1].value if series else None


# -- answers to changes --------------------------------------------------------


@dataclass(frozen=True)
class ActionResult:
    """A change that returns no resource (status change, delete, pin, restore...)."""

    message: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> "ActionResult":
        data = data_object(body)
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
        data = data_object(body)
        return cls(
            container_id=as_str(pick(data, "container_id", "containerId"), "container_id"),
            status=as_str(data.get("status"), "backup status"),
            message=as_str(body.get("message"), "message"),
        )
