"""WireGuard VPN clients of `stacks-vpn` containers: list, add, config, remove."""

import re

from daemon.simulator.call import Call
from daemon.simulator.exchange import Reply, bad_request, not_found
from daemon.simulator.isotime import iso
from daemon.simulator.state import ContainerRecord, VpnClient

CLIENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


def _vpn(call: Call) -> ContainerRecord:
    c = call.container()
    if c.template.type != "stacks-vpn":
        raise bad_request(
            f"VPN clients exist only on stacks-vpn containers; {c.id} is {c.template.type}"
        )
    return c


def _view(client: VpnClient) -> dict:
    return {"name": client.name, "address": client.address, "created_at": iso(client.created_at)}


def list_clients(call: Call) -> Reply:
    c = _vpn(call)
    return Reply({"success": True, "data": [_view(v) for v in c.vpn_clients.values()]})


def add_client(call: Call) -> Reply:
    c = _vpn(call)
    name = call.body().get("name")
    if not isinstance(name, str) or not CLIENT_NAME.fullmatch(name):
        raise bad_request(
            "name must be 1-32 letters, digits, hyphens or underscores, starting with a "
            "letter or digit",
            "name",
        )
    if name in c.vpn_clients:
        raise bad_request(f"VPN client '{name}' already exists", "name")
    used = {client.address for client in c.vpn_clients.values()}
    host = next(n for n in range(2, 255) if f"10.13.13.{n}" not in used)
    client = VpnClient(name, f"10.13.13.{host}", call.now, call.world.hex(43))
    c.vpn_clients[name] = client
    return Reply(
        {"success": True, "message": f"VPN client '{name}' added", "data": _view(client)},
        container_id=c.id,
    )


def _client(c: ContainerRecord, name: str) -> VpnClient:
    client = c.vpn_clients.get(name)
    if client is None:
        raise not_found(f"VPN client '{name}' not found on {c.id}")
    return client


def config(call: Call) -> Reply:
    c = _vpn(call)
    client = _client(c, call.request.query.get("client", "default"))
    text = (
        "[Interface]\n"
        f"PrivateKey = {client.private_key}=\n"
        f"Address = {client.address}/32\n"
        "DNS = 10.13.13.1\n\n"
        "[Peer]\n"
        f"PublicKey = {c.private_key[:43]}=\n"
        f"Endpoint = stacks.hosting:{c.port}\n"
        "AllowedIPs = 10.13.13.0/24, 10.52.0.0/16\n"
        "PersistentKeepalive = 25\n"
    )
    return Reply(
        {
            "success": True,
            "data": {"client": client.name, "filename": f"{client.name}.conf", "config": text},
        }
    )


def remove_client(call: Call) -> Reply:
    c = _vpn(call)
    client = _client(c, call.params["client_name"])
    del c.vpn_clients[client.name]
    return Reply(
        {"success": True, "message": f"VPN client '{client.name}' removed"}, container_id=c.id
    )
