"""`StacksClient`: one method per endpoint of the STACKS API guide, with typed results.

    client = StacksClient(ApiKey(secret), budget=RateBudget(60, 10, clock), clock=clock)
    for container in client.list_containers():
        ...

One synchronous `httpx.Client` (redirects off, key only in `Authorization`),
shared by all threads. Every call goes through `RequestSender` (rate budget,
retries, error translation, observer). Each method takes `priority=` to override
its route's default (changes: ACTION; status and other reads: STATUS; backups:
BACKUPS; metrics: METRICS). Failures raise `daemon.stacks.errors.StacksError`;
bad arguments raise `ValueError` before anything is sent.
"""

import random
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from daemon import __version__
from daemon.clock import Clock, SystemClock
from daemon.stacks import routes
from daemon.stacks.apikey import ApiKey
from daemon.stacks.decoding import is_json, json_object
from daemon.stacks.details import Certificate, Credentials, Logs, Template, parse_templates
from daemon.stacks.models import (
    Backup,
    BackupStats,
    Container,
    ContainerMetrics,
    require_list,
    require_mapping,
    unwrap,
)
from daemon.stacks.networking import (
    AllowedIp,
    AllowedIps,
    AvailableTargets,
    Connection,
    Connections,
    ExternalAccess,
    parse_allowed_ip,
)
from daemon.stacks.observer import ApiObserver
from daemon.stacks.ratebudget import Priority, RateBudget
from daemon.stacks.results import ActionResult, BackupTriggered, ContainerCreated
from daemon.stacks.retry import Backoff
from daemon.stacks.routes import Route
from daemon.stacks.sender import RequestSender
from daemon.stacks.vpn import VpnClient, VpnConfig, parse_added_vpn_client, parse_vpn_clients

DEFAULT_BASE_URL = "https://api.stackshosting.cloud/api/v1"
CONTAINER_STATES = ("running", "stopped", "restart")
MAX_LOG_LINES = 500
MAX_BACKUPS = 100

T = TypeVar("T")
Where = Mapping[str, str]


def _body(parse: Callable[[Mapping[str, Any]], T]) -> Callable[[httpx.Response, Where], T]:
    """A response parser that reads the JSON object and hands it to `parse`."""
    return lambda response, where: parse(json_object(response, where))


def _body_or_text(
    parse: Callable[[Mapping[str, Any]], T], parse_text: Callable[[str], T]
) -> Callable[[httpx.Response, Where], T]:
    """For endpoints that may answer JSON or a plain file (certificate, VPN config, logs)."""

    def read(response: httpx.Response, where: Where) -> T:
        if is_json(response):
            return parse(json_object(response, where))
        return parse_text(response.text)

    return read


def _in_range(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


class StacksClient:
    def __init__(
        self,
        api_key: ApiKey,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        budget: RateBudget | None = None,
        clock: Clock | None = None,
        observer: ApiObserver | None = None,
        retries: int = 3,
        rng: random.Random | None = None,
    ) -> None:
        if not isinstance(api_key, ApiKey):
            raise TypeError("api_key must be an ApiKey (it validates the key format)")
        self._clock = clock or SystemClock()
        self.budget = budget or RateBudget(clock=self._clock)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={
                **api_key.bearer_header(),
                "Accept": "application/json",
                "User-Agent": f"stacks-opsd/{__version__}",
            },
        )
        self._sender = RequestSender(
            self._http,
            self.budget,
            self._clock,
            Backoff(rng=rng or random.Random()),
            retries=retries,
            timeout=timeout,
            observer=observer,
        )
        self.base_url = str(self._http.base_url).rstrip("/")

    def __repr__(self) -> str:
        return f"StacksClient({self.base_url})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "StacksClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(
        self,
        route: Route,
        parse: Callable[[httpx.Response, Where], T],
        priority: Priority | None,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        **path_values: str | int,
    ) -> T:
        path = route.path(**path_values)
        return self._sender.send(route, path, parse, priority=priority, params=params, json=json)

    # -- containers ------------------------------------------------------------

    def list_containers(self, *, priority: Priority | None = None) -> tuple[Container, ...]:
        """All containers of the account (`GET /containers`)."""

        def parse(body: Mapping[str, Any]) -> tuple[Container, ...]:
            items = require_list(unwrap(body), "containers")
            return tuple(Container.from_api(item) for item in items)

        return self._call(routes.LIST_CONTAINERS, _body(parse), priority)

    def container_status(self, container_id: str, *, priority: Priority | None = None) -> Container:
        def parse(body: Mapping[str, Any]) -> Container:
            data = body.get("data")
            return Container.from_api(data if isinstance(data, Mapping) else body)

        return self._call(
            routes.CONTAINER_STATUS, _body(parse), priority, container_id=container_id
        )

    def credentials(self, container_id: str, *, priority: Priority | None = None) -> Credentials:
        return self._call(
            routes.CREDENTIALS, _body(Credentials.from_api), priority, container_id=container_id
        )

    def logs(
        self, container_id: str, lines: int = 100, *, priority: Priority | None = None
    ) -> Logs:
        params = {"lines": _in_range("lines", lines, 1, MAX_LOG_LINES)}
        return self._call(
            routes.LOGS,
            _body_or_text(Logs.from_api, Logs.from_text),
            priority,
            params=params,
            container_id=container_id,
        )

    def metrics(self, container_id: str, *, priority: Priority | None = None) -> ContainerMetrics:
        def parse(body: Mapping[str, Any]) -> ContainerMetrics:
            return ContainerMetrics.from_api(unwrap(body))

        return self._call(routes.METRICS, _body(parse), priority, container_id=container_id)

    def create_container(
        self,
        name: str,
        template: str,
        plan: str = "basic",
        discount_code: str | None = None,
        additional_storage_tier: int | None = None,
        *,
        priority: Priority | None = None,
    ) -> ContainerCreated:
        """Start creating a container; it is `pending` until STACKS reports `running`."""
        body: dict[str, Any] = {"name": name, "template": template, "plan": plan}
        if discount_code is not None:
            body["discount_code"] = discount_code
        if additional_storage_tier is not None:
            body["additional_storage_tier"] = additional_storage_tier
        return self._call(
            routes.CREATE_CONTAINER, _body(ContainerCreated.from_api), priority, json=body
        )

    def set_status(
        self, container_id: str, status: str, *, priority: Priority | None = None
    ) -> ActionResult:
        """`status` is "running" (start), "stopped" (stop) or "restart"."""
        if status not in CONTAINER_STATES:
            raise ValueError(
                f"container status must be one of {', '.join(CONTAINER_STATES)}, got {status!r}"
            )
        return self._call(
            routes.SET_STATUS,
            _body(ActionResult.from_api),
            priority,
            json={"status": status},
            container_id=container_id,
        )

    def start(self, container_id: str, *, priority: Priority | None = None) -> ActionResult:
        return self.set_status(container_id, "running", priority=priority)

    def stop(self, container_id: str, *, priority: Priority | None = None) -> ActionResult:
        return self.set_status(container_id, "stopped", priority=priority)

    def restart(self, container_id: str, *, priority: Priority | None = None) -> ActionResult:
        return self.set_status(container_id, "restart", priority=priority)

    def delete_container(
        self, container_id: str, *, priority: Priority | None = None
    ) -> ActionResult:
        """Permanently delete a container with its data and backups (irreversible)."""
        return self._call(
            routes.DELETE_CONTAINER,
            _acknowledgement,
            priority,
            container_id=container_id,
        )

    def certificate(self, container_id: str, *, priority: Priority | None = None) -> Certificate:
        """The SSH private key of a compute container."""
        return self._call(
            routes.CERTIFICATE,
            _body_or_text(Certificate.from_api, Certificate.from_text),
            priority,
            container_id=container_id,
        )

    def regenerate_certificate(
        self, container_id: str, *, priority: Priority | None = None
    ) -> Certificate:
        return self._call(
            routes.REGENERATE_CERTIFICATE,
            _body_or_text(Certificate.from_api, Certificate.from_text),
            priority,
            container_id=container_id,
        )

    def templates(self, *, priority: Priority | None = None) -> tuple[Template, ...]:
        return self._call(routes.TEMPLATES, _body(parse_templates), priority)

    # -- external access and allowed IPs ----------------------------------------

    def set_external_access(
        self, container_id: str, enabled: bool, *, priority: Priority | None = None
    ) -> ExternalAccess:
        return self._call(
            routes.SET_EXTERNAL_ACCESS,
            _body(lambda body: ExternalAccess.from_api(body, enabled)),
            priority,
            json={"enabled": bool(enabled)},
            container_id=container_id,
        )

    def allowed_ips(self, container_id: str, *, priority: Priority | None = None) -> AllowedIps:
        return self._call(
            routes.ALLOWED_IPS, _body(AllowedIps.from_api), priority, container_id=container_id
        )

    def add_allowed_ip(
        self,
        container_id: str,
        ip_address: str,
        description: str | None = None,
        service_type: str | None = None,
        *,
        priority: Priority | None = None,
    ) -> AllowedIp | None:
        """Allow `ip_address` (IPv4/IPv6, optional CIDR); the new entry if STACKS returns it."""
        body = {"ip_address": ip_address}
        if description is not None:
            body["description"] = description
        if service_type is not None:
            body["service_type"] = service_type
        return self._call(
            routes.ADD_ALLOWED_IP,
            _body(parse_allowed_ip),
            priority,
            json=body,
            container_id=container_id,
        )

    def remove_allowed_ip(
        self, container_id: str, ip_id: str, *, priority: Priority | None = None
    ) -> ActionResult:
        """STACKS refuses to remove the last allowed IP (lockout protection)."""
        return self._call(
            routes.REMOVE_ALLOWED_IP,
            _acknowledgement,
            priority,
            container_id=container_id,
            ip_id=ip_id,
        )

    # -- connections ---------------------------------------------------------------

    def available_targets(
        self, container_id: str, *, priority: Priority | None = None
    ) -> AvailableTargets:
        return self._call(
            routes.AVAILABLE_TARGETS,
            _body(AvailableTargets.from_api),
            priority,
            container_id=container_id,
        )

    def connect(
        self,
        source_id: str,
        target_id: str,
        connection_name: str | None = None,
        *,
        priority: Priority | None = None,
    ) -> Connection:
        """Connect `source_id` to `target_id` (restart the source to pick up the env vars)."""
        body = None if connection_name is None else {"connectionName": connection_name}
        return self._call(
            routes.CONNECT,
            _body(Connection.from_api),
            priority,
            json=body,
            source_id=source_id,
            target_id=target_id,
        )

    def connections(self, container_id: str, *, priority: Priority | None = None) -> Connections:
        return self._call(
            routes.CONNECTIONS, _body(Connections.from_api), priority, container_id=container_id
        )

    def delete_connection(
        self, connection_id: str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(
            routes.DELETE_CONNECTION, _acknowledgement, priority, connection_id=connection_id
        )

    # -- backups ---------------------------------------------------------------------

    def backups(
        self, container_id: str, limit: int = 50, *, priority: Priority | None = None
    ) -> tuple[Backup, ...]:
        def parse(body: Mapping[str, Any]) -> tuple[Backup, ...]:
            return tuple(Backup.from_api(item) for item in require_list(unwrap(body), "backups"))

        return self._call(
            routes.BACKUPS,
            _body(parse),
            priority,
            params={"limit": _in_range("limit", limit, 1, MAX_BACKUPS)},
            container_id=container_id,
        )

    def trigger_backup(
        self, container_id: str, *, priority: Priority | None = None
    ) -> BackupTriggered:
        """Start a manual backup (the container must be running); never retried blindly."""
        return self._call(
            routes.TRIGGER_BACKUP,
            _body(BackupTriggered.from_api),
            priority,
            container_id=container_id,
        )

    def backup_stats(self, *, priority: Priority | None = None) -> BackupStats:
        def parse(body: Mapping[str, Any]) -> BackupStats:
            return BackupStats.from_api(require_mapping(unwrap(body), "backup stats"))

        return self._call(routes.BACKUP_STATS, _body(parse), priority)

    def restore_backup(
        self, backup_id: int | str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(routes.RESTORE_BACKUP, _acknowledgement, priority, backup_id=backup_id)

    def pin_backup(self, backup_id: int | str, *, priority: Priority | None = None) -> ActionResult:
        return self._call(routes.PIN_BACKUP, _acknowledgement, priority, backup_id=backup_id)

    def unpin_backup(
        self, backup_id: int | str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(routes.UNPIN_BACKUP, _acknowledgement, priority, backup_id=backup_id)

    def delete_backup(
        self, backup_id: int | str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(routes.DELETE_BACKUP, _acknowledgement, priority, backup_id=backup_id)

    # -- VPN ---------------------------------------------------------------------------

    def vpn_clients(
        self, vpn_container_id: str, *, priority: Priority | None = None
    ) -> tuple[VpnClient, ...]:
        return self._call(
            routes.VPN_CLIENTS,
            _body(parse_vpn_clients),
            priority,
            vpn_container_id=vpn_container_id,
        )

    def add_vpn_client(
        self, vpn_container_id: str, name: str, *, priority: Priority | None = None
    ) -> VpnClient:
        return self._call(
            routes.ADD_VPN_CLIENT,
            _body(lambda body: parse_added_vpn_client(body, name)),
            priority,
            json={"name": name},
            vpn_container_id=vpn_container_id,
        )

    def vpn_config(
        self, vpn_container_id: str, client: str = "default", *, priority: Priority | None = None
    ) -> VpnConfig:
        """The WireGuard config of `client` (holds its private key: a Secret)."""
        return self._call(
            routes.VPN_CONFIG,
            _body_or_text(
                lambda body: VpnConfig.from_api(body, client),
                lambda text: VpnConfig.from_text(text, client),
            ),
            priority,
            params={"client": client},
            vpn_container_id=vpn_container_id,
        )

    def remove_vpn_client(
        self, vpn_container_id: str, client_name: str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(
            routes.REMOVE_VPN_CLIENT,
            _acknowledgement,
            priority,
            vpn_container_id=vpn_container_id,
            client_name=client_name,
        )


def _acknowledgement(response: httpx.Response, where: Where) -> ActionResult:
    """An ActionResult; an empty body (204) is a valid acknowledgement."""
    if not response.content.strip():
        return ActionResult()
    return ActionResult.from_api(json_object(response, where))
