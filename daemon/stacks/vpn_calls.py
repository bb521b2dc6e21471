"""VPN endpoints of `stacks-vpn` containers: list, add, config, remove WireGuard clients."""

from daemon.stacks import routes
from daemon.stacks.calls import (
    EndpointCalls,
    read_acknowledgement,
    read_body,
    read_body_or_text,
)
from daemon.stacks.ratebudget import Priority
from daemon.stacks.results import ActionResult
from daemon.stacks.vpn import VpnClient, VpnConfig, parse_added_vpn_client, parse_vpn_clients


class VpnCalls(EndpointCalls):
    """WireGuard clients of a `stacks-vpn` container."""

    def vpn_clients(
        self, vpn_container_id: str, *, priority: Priority | None = None
    ) -> tuple[VpnClient, ...]:
        return self._call(
            routes.VPN_CLIENTS,
            read_body(parse_vpn_clients),
            priority,
            vpn_container_id=vpn_container_id,
        )

    def add_vpn_client(
        self, vpn_container_id: str, name: str, *, priority: Priority | None = None
    ) -> VpnClient:
        return self._call(
            routes.ADD_VPN_CLIENT,
            read_body(lambda body: parse_added_vpn_client(body, name)),
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
            read_body_or_text(
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
            read_acknowledgement,
            priority,
            vpn_container_id=vpn_container_id,
            client_name=client_name,
        )
