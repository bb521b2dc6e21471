"""Reaching containers: external access, allowed IPs, connections, VPN clients; secrets hidden."""

from tests.client.conftest import reply

C = "usr-abc12345-myapp"


def test_external_access_and_allowed_ips(make_client):
    enabled = {
        "success": True, "message": "External access enabled.", "your_ip": "203.0.113.45",
        "subdomain": "ab1c2d", "url": "myapp-ab1c2d.stackshosting.cloud",
    }  # fmt: skip
    listed = {"success": True, "data": {
        "external_access_enabled": True, "subdomain": "ab1c2d",
        "url": "myapp-ab1c2d.stackshosting.cloud", "your_current_ip": "203.0.113.45",
        "allowed_ips": [{"id": "ip-1", "ip_address": "203.0.113.45",
                         "description": "Your IP (Auto-added)", "service_type": "both",
                         "added_at": "2026-05-16T18:00:00.000Z"}],
    }}  # fmt: skip
    client, _ = make_client(reply(200, enabled), reply(200, listed))
    access = client.set_external_access(C, True)
    assert (access.enabled, access.your_ip, access.subdomain) == (True, "203.0.113.45", "ab1c2d")
    ips = client.allowed_ips(C)
    assert ips.external_access_enabled and ips.your_current_ip == "203.0.113.45"
    assert [ip.ip_address for ip in ips.allowed_ips] == ["203.0.113.45"]


def test_connections_hide_connection_strings_and_env(make_client):
    targets = {"success": True, "data": {
        "databases": [{"id": "usr-abc12345-mydb", "name": "mydb", "type": "postgresql",
                       "suggested": True}],
        "caches": [], "loadBalancers": [], "applications": [],
    }}  # fmt: skip
    created = {"success": True, "data": {
        "id": "conn-1", "sourceContainer": C, "targetContainer": "usr-abc12345-mydb",
        "connectionName": "primary-db", "connectionType": "postgresql",
        "environmentVariables": {"POSTGRES_PASSWORD": "pw-in-clear"},
        "connectionString": "postgresql://postgres:pw-in-clear@usr-abc12345-mydb:5432/postgres",
    }}  # fmt: skip
    listed = {"success": True, "data": {"outgoing": [{
        "id": "conn-1", "connection_name": "primary-db", "connection_type": "postgresql",
        "connection_string": "postgresql://postgres:pw-in-clear@usr-abc12345-mydb:5432/postgres",
        "created_at": "2026-05-16T18:00:00.000Z", "target_name": "mydb",
        "target_type": "postgresql", "target_status": "running",
    }], "incoming": []}}  # fmt: skip
    client, _ = make_client(reply(200, targets), reply(200, created), reply(200, listed))
    found = client.available_targets(C)
    assert [t.id for t in found.databases] == [t.id for t in found.all] == ["usr-abc12345-mydb"]
    connection = client.connect(C, "usr-abc12345-mydb", "primary-db")
    listing = client.connections(C)
    assert connection.id == "conn-1" and connection.connection_type == "postgresql"
    assert connection.environment_variables.reveal()["POSTGRES_PASSWORD"] == "pw-in-clear"
    [outgoing] = listing.outgoing
    assert (outgoing.peer_name, outgoing.peer_status) == ("mydb", "running")
    assert "pw-in-clear" not in repr(connection) + repr(listing)


def test_a_vpn_config_as_a_file_or_json_is_secret(make_client):
    conf = "[Interface]\nPrivateKey = wg-private\n"
    client, _ = make_client(
        reply(200, text=conf, headers={"content-type": "text/plain"}),
        reply(200, {"success": True, "data": {"client": "default", "config": conf}}),
    )
    for config in (client.vpn_config("usr-abc12345-vpn"), client.vpn_config("usr-abc12345-vpn")):
        assert config.config.reveal() == conf and config.client == "default"
        assert "wg-private" not in repr(config)


def test_vpn_clients_in_tolerant_shapes(make_client):
    client, _ = make_client(
        reply(200, {"success": True,
                    "data": [{"name": "default", "privateKey": "wg-secret-key-1"}, "phone"]}),
    )  # fmt: skip
    clients = client.vpn_clients("usr-abc12345-vpn")
    assert [c.name for c in clients] == ["default", "phone"]
    assert clients[0].extra.reveal() == {"privateKey": "wg-secret-key-1"}
    assert "wg-secret-key-1" not in repr(clients)
