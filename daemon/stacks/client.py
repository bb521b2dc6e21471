"""`StacksClient`: one method per endpoint of the STACKS API guide, with typed results.

    client = StacksClient(ApiKey(secret), budget=RateBudget(60, 10, clock), clock=clock)
    for container in client.list_containers():
        ...

The top of the client: callers (poller, executor, command line) hold one
`StacksClient`. It wraps one synchronous `httpx.Client` (redirects off, the key
only in `Authorization`), shared by all threads. Each endpoint method checks its
arguments (bad ones raise `ValueError` before anything is sent), fills its
route's path (`routes`) and hands the request to `RequestSender` (`sender`: rate
budget, retries, error translation, observer) with a reader that turns the
answer into a typed result (`models`, `details`, `networking`). Each takes
`priority=` to override its route's default. Failures raise `StacksError`
(`errors`).
"""

import random
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from daemon import __version__
from daemon.clock import Clock, SystemClock
from daemon.stacks import routes
from daemon.stacks.apikey import ApiKey
from daemon.stacks.details import Certificate, Credentials, Logs, Template, parse_templates
from daemon.stacks.models import (
    ActionResult,
    Backup,
    BackupStats,
    BackupTriggered,
    Container,
    ContainerCreated,
    ContainerMetrics,
    parse_backup_stats,
    parse_backups,
    parse_container_status,
    parse_containers,
    parse_metrics,
)
from daemon.stacks.networking import (
    AllowedIp,
    AllowedIps,
    AvailableTargets,
    Connection,
    Connections,
    ExternalAccess,
    VpnClient,
    VpnConfig,
    parse_added_vpn_client,
    parse_allowed_ip,
    parse_vpn_clients,
)
from daemon.stacks.ratebudget import Priority, RateBudget
from daemon.stacks.routes import Route
from daemon.stacks.sender import ApiObserver, Backoff, RequestSender, body_reader

DEFAULT_BASE_URL = "https://api.stackshosting.cloud/api/v1"
CONTAINER_STATES = ("running", "stopped", "restart")  # what `set_status` may ask for
MAX_LOG_LINES = 500
MAX_BACKUPS = 100  # the most backups one listing returns

T = TypeVar("T")


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
        clock = clock or SystemClock()
        self.budget = budget or RateBudget(clock=clock)
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
            clock,
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
        parse: Callable[[Mapping[str, Any]], T],
        priority: Priority | None,
        *,
        parse_text: Callable[[str], T] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        **path_values: str | int,
    ) -> T:
        """Send `route` filled with `path_values`; `parse` reads the answer's JSON object.

        With `parse_text`, an answer that is not JSON is a plain file (certificate,
        VPN config, logs) read by it instead.
        """
        path = route.path(**path_values)
        read = body_reader(parse, parse_text)
        return self._sender.send(route, path, read, priority=priority, params=params, json=json)

    # -- containers ---------------------------------------------------------------------

    def list_containers(self, *, priority: Priority | None = None) -> tuple[Container, ...]:
        """All containers of the account (`GET /containers`)."""
        return self._call(routes.LIST_CONTAINERS, parse_containers, priority)

    def container_status(self, container_id: str, *, priority: Priority | None = None) -> Container:
        return self._call(
            routes.CONTAINER_STATUS,
            parse_container_status,
            priority,
            container_id=container_id,
        )

    def credentials(self, container_id: str, *, priority: Priority | None = None) -> Credentials:
        return self._call(
            routes.CREDENTIALS, Credentials.from_api, priority, container_id=container_id
        )

    def logs(
        self, container_id: str, lines: int = 100, *, priority: Priority | None = None
    ) -> Logs:
        params = {"lines": in_range("lines", lines, 1, MAX_LOG_LINES)}
        return self._call(
            routes.LOGS,
            Logs.from_api,
            priority,
            parse_text=Logs.from_text,
            params=params,
            container_id=container_id,
        )

    def metrics(self, container_id: str, *, priority: Priority | None = None) -> ContainerMetrics:
        return self._call(routes.METRICS, parse_metrics, priority, container_id=container_id)

    def create_container(
        self,
        name: str,
        template: str,
        plan: str | None = None,
        discount_code: str | None = None,
        additional_storage_tier: int | None = None,
        *,
        priority: Priority | None = None,
    ) -> ContainerCreated:
        """Start creating a container; it is `pending` until STACKS reports `running`.
        Without a `plan` none is sent, so STACKS applies its default."""
        body: dict[str, Any] = {"name": name, "template": template}
        if plan is not None:
            body["plan"] = plan
        if discount_code is not None:
            body["discount_code"] = discount_code
        if additional_storage_tier is not None:
            body["additional_storage_tier"] = additional_storage_tier
        return self._call(routes.CREATE_CONTAINER, ContainerCreated.from_api, priority, json=body)

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
            ActionResult.from_api,
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
            routes.DELETE_CONTAINER, ActionResult.from_api, priority, container_id=container_id
        )

    def certificate(self, container_id: str, *, priority: Priority | None = None) -> Certificate:
        """The SSH private key of a compute container."""
        return self._call(
            routes.CERTIFICATE,
            Certificate.from_api,
            priority,
            parse_text=Certificate.from_text,
            container_id=container_id,
        )

    def regenerate_certificate(
        self, container_id: str, *, priority: Priority | None = None
    ) -> Certificate:
        return self._call(
            routes.REGENERATE_CERTIFICATE,
            Certificate.from_api,
            priority,
            parse_text=Certificate.from_text,
            container_id=container_id,
        )

    def templates(self, *, priority: Priority | None = None) -> tuple[Template, ...]:
        return self._call(routes.TEMPLATES, parse_templates, priority)

    # -- external access, IP restrictions and connections -------------------------------

    def set_external_access(
        self, container_id: str, enabled: bool, *, priority: Priority | None = None
    ) -> ExternalAccess:
        return self._call(
            routes.SET_EXTERNAL_ACCESS,
            lambda body: ExternalAccess.from_api(body, enabled),
            priority,
            json={"enabled": bool(enabled)},
            container_id=container_id,
        )

    def allowed_ips(self, container_id: str, *, priority: Priority | None = None) -> AllowedIps:
        return self._call(
            routes.ALLOWED_IPS, AllowedIps.from_api, priority, container_id=container_id
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
            parse_allowed_ip,
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
            ActionResult.from_api,
            priority,
            container_id=container_id,
            ip_id=ip_id,
        )

    def available_targets(
        self, container_id: str, *, priority: Priority | None = None
    ) -> AvailableTargets:
        return self._call(
            routes.AVAILABLE_TARGETS,
            AvailableTargets.from_api,
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
            Connection.from_api,
            priority,
            json=body,
            source_id=source_id,
            target_id=target_id,
        )

    def connections(self, container_id: str, *, priority: Priority | None = None) -> Connections:
        return self._call(
            routes.CONNECTIONS, Connections.from_api, priority, container_id=container_id
        )

    def delete_connection(
        self, connection_id: str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(
            routes.DELETE_CONNECTION, ActionResult.from_api, priority, connection_id=connection_id
        )

    # -- backups ------------------------------------------------------------------------

    def backups(
        self, container_id: str, limit: int = 50, *, priority: Priority | None = None
    ) -> tuple[Backup, ...]:
        return self._call(
            routes.BACKUPS,
            lambda body: parse_backups(body, container_id),
            priority,
            params={"limit": in_range("limit", limit, 1, MAX_BACKUPS)},
            container_id=container_id,
        )

    def trigger_backup(
        self, container_id: str, *, priority: Priority | None = None
    ) -> BackupTriggered:
        """Start a manual backup (the container must be running); never retried blindly."""
        return self._call(
            routes.TRIGGER_BACKUP,
            BackupTriggered.from_api,
            priority,
            container_id=container_id,
        )

    def backup_stats(self, *, priority: Priority | None = None) -> BackupStats:
        return self._call(routes.BACKUP_STATS, parse_backup_stats, priority)

    def restore_backup(
        self, backup_id: int | str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(
            routes.RESTORE_BACKUP, ActionResult.from_api, priority, backup_id=backup_id
        )

    def pin_backup(self, backup_id: int | str, *, priority: Priority | None = None) -> ActionResult:
        return self._call(routes.PIN_BACKUP, ActionResult.from_api, priority, backup_id=backup_id)

    def unpin_backup(
        self, backup_id: int | str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(routes.UNPIN_BACKUP, ActionResult.from_api, priority, backup_id=backup_id)

    def delete_backup(
        self, backup_id: int | str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(
            routes.DELETE_BACKUP, ActionResult.from_api, priority, backup_id=backup_id
        )

    # -- WireGuard clients of a `stacks-vpn` container ----------------------------------

    def vpn_clients(
        self, vpn_container_id: str, *, priority: Priority | None = None
    ) -> tuple[VpnClient, ...]:
        return self._call(
            routes.VPN_CLIENTS,
            parse_vpn_clients,
            priority,
            vpn_container_id=vpn_container_id,
        )

    def add_vpn_client(
        self, vpn_container_id: str, name: str, *, priority: Priority | None = None
    ) -> VpnClient:
        return self._call(
            routes.ADD_VPN_CLIENT,
            lambda body: parse_added_vpn_client(body, name),
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
            lambda body: VpnConfig.from_api(body, client),
            priority,
            parse_text=lambda text: VpnConfig.from_text(text, client),
            params={"client": client},
            vpn_container_id=vpn_container_id,
        )

    def remove_vpn_client(
        self, vpn_container_id: str, client_name: str, *, priority: Priority | None = None
    ) -> ActionResult:
        return self._call(
            routes.REMOVE_VPN_CLIENT,
            ActionResult.from_api,
            priority,
            vpn_container_id=vpn_container_id,
            client_name=client_name,
        )


# -- arguments ------------------------------------------------------------------------


def in_range(name: str, value: int, low: int, high: int) -> int:
    """`value` if it is an integer within [low, high], else ValueError (nothing is sent)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value
