"""Network access (network_access.py): external access with subdomain and caller IP,
allowed-IP validation and last-IP protection; connections with targets grouped by kind and
env vars per type with masked passwords; VPN clients on stacks-vpn containers only."""

import re

import pytest


@pytest.fixture
def cid(sim, key):
    return sim.seed_container(key, "myapp")


def test_enabling_adds_the_callers_ip_and_a_subdomain(api, cid):
    response = api.put(f"/containers/{cid}/external-access", json={"enabled": True})
    body = response.json()
    assert response.status_code == 200
    assert body["your_ip"] == "203.0.113.45"
    assert re.fullmatch(r"[0-9a-f]{6}", body["subdomain"])
    assert body["url"] == f"myapp-{body['subdomain']}.stackshosting.cloud"
    assert body["message"].endswith(body["url"])
    listed = api.get(f"/containers/{cid}/allowed-ips").json()["data"]
    assert listed["external_access_enabled"] is True
    assert listed["your_current_ip"] == "203.0.113.45"
    [entry] = listed["allowed_ips"]
    assert entry["ip_address"] == "203.0.113.45"
    assert entry["description"] == "Your IP (Auto-added)" and entry["service_type"] == "both"
    assert api.get(f"/containers/status/{cid}").json()["externalAccessEnabled"] is True


def test_disabling_clears_subdomain_and_ips(api, cid):
    api.put(f"/containers/{cid}/external-access", json={"enabled": True})
    api.post(f"/containers/{cid}/allowed-ips", json={"ip_address": "198.51.100.0/24"})
    assert api.put(f"/containers/{cid}/external-access", json={"enabled": False}).status_code == 200
    data = api.get(f"/containers/{cid}/allowed-ips").json()["data"]
    assert data["external_access_enabled"] is False
    assert data["subdomain"] is None and data["allowed_ips"] == []


@pytest.mark.parametrize("ip", ["198.51.100.7", "198.51.100.0/24", "2001:db8::1", "2001:db8::/32"])
def test_valid_addresses_are_added_with_defaults(api, cid, ip):
    api.put(f"/containers/{cid}/external-access", json={"enabled": True})
    response = api.post(f"/containers/{cid}/allowed-ips", json={"ip_address": ip})
    assert response.status_code == 200
    entry = response.json()["data"]
    assert entry["ip_address"] == ip
    assert entry["description"] == "Custom IP" and entry["service_type"] == "both"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ip_address": "300.1.1.1"}, "ip_address"),
        ({"ip_address": "10.0.0.0/33"}, "ip_address"),
        ({"ip_address": "not-an-ip"}, "ip_address"),
        ({}, "ip_address"),
        ({"ip_address": "10.0.0.1", "service_type": "udp"}, "service_type"),
    ],
)
def test_invalid_addresses_are_400_with_field(api, cid, body, field):
    api.put(f"/containers/{cid}/external-access", json={"enabled": True})
    response = api.post(f"/containers/{cid}/allowed-ips", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_the_last_ip_cannot_be_removed(api, cid):
    api.put(f"/containers/{cid}/external-access", json={"enabled": True})
    added = api.post(
        f"/containers/{cid}/allowed-ips",
        json={
            "ip_address": "198.51.100.0/24",
            "description": "Production servers",
            "service_type": "http",
        },
    ).json()["data"]
    own = api.get(f"/containers/{cid}/allowed-ips").json()["data"]["allowed_ips"][0]
    assert api.delete(f"/containers/{cid}/allowed-ips/{own['id']}").status_code == 200
    last = api.delete(f"/containers/{cid}/allowed-ips/{added['id']}")
    assert last.status_code == 400
    assert "last" in last.json()["error"]
    remaining = api.get(f"/containers/{cid}/allowed-ips").json()["data"]["allowed_ips"]
    assert [e["ip_address"] for e in remaining] == ["198.51.100.0/24"]
    assert api.delete(f"/containers/{cid}/allowed-ips/no-such-id").status_code == 404


@pytest.fixture
def ids(sim, key):
    return {
        name: sim.seed_container(key, name, template=template)
        for name, template in [
            ("myapp", "nodejs"),
            ("mydb", "postgresql"),
            ("myredis", "redis"),
            ("mysql1", "mysql"),
            ("mongo1", "mongodb"),
            ("balancer", "stacks-loadbalancer"),
            ("site", "wordpress"),
        ]
    }


def test_available_targets_are_grouped(api, ids):
    data = api.get(f"/containers/{ids['myapp']}/available-targets").json()["data"]
    names = {group: [t["name"] for t in data[group]] for group in data}
    assert names["databases"] == ["mongo1", "mydb", "mysql1"]
    assert names["caches"] == ["myredis"]
    assert names["loadBalancers"] == ["balancer"]
    assert names["applications"] == ["site"]
    assert len(data["all"]) == 6 and ids["myapp"] not in {t["id"] for t in data["all"]}
    assert data["databases"][0]["suggested"] is True


@pytest.mark.parametrize(
    ("target", "variables", "scheme"),
    [
        ("mydb", {"POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD",
                  "POSTGRES_DB"}, "postgresql://"),
        ("myredis", {"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"}, "redis://"),
        ("mysql1", {"MYSQL_HOST", "MYSQL_PORT", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_DATABASE"},
         "mysql://"),
        ("mongo1", {"MONGO_HOST", "MONGO_PORT", "MONGO_USER", "MONGO_PASSWORD", "MONGO_DB"},
         "mongodb://"),
    ],
)  # fmt: skip
def test_connect_injects_documented_variables_with_masked_password(
    api, ids, target, variables, scheme
):
    response = api.post(
        f"/containers/{ids['myapp']}/connect/{ids[target]}", json={"connectionName": "primary"}
    )
    data = response.json()["data"]
    assert response.status_code == 200
    assert set(data["environmentVariables"]) == variables
    password = next(v for k, v in data["environmentVariables"].items() if k.endswith("PASSWORD"))
    assert password == "****"
    assert data["connectionString"].startswith(scheme) and ":****@" in data["connectionString"]
    host = next(v for k, v in data["environmentVariables"].items() if k.endswith("_HOST"))
    assert host == ids[target]
    assert data["connectionName"] == "primary" and data["sourceContainer"] == ids["myapp"]


def test_postgres_connection_matches_the_guide(api, ids):
    data = api.post(f"/containers/{ids['myapp']}/connect/{ids['mydb']}").json()["data"]
    assert data["environmentVariables"]["POSTGRES_PORT"] == "5432"
    assert data["connectionString"] == f"postgresql://postgres:****@{ids['mydb']}:5432/postgres"
    assert data["connectionType"] == "postgresql"


def test_connections_list_outgoing_and_incoming_then_delete(sim, api, ids):
    conn = api.post(
        f"/containers/{ids['myapp']}/connect/{ids['mydb']}", json={"connectionName": "primary-db"}
    )
    conn_id = conn.json()["data"]["id"]
    outgoing = api.get(f"/containers/{ids['myapp']}/connections").json()["data"]["outgoing"]
    assert outgoing[0]["connection_name"] == "primary-db"
    assert outgoing[0]["target_name"] == "mydb" and outgoing[0]["target_status"] == "running"
    incoming = api.get(f"/containers/{ids['mydb']}/connections").json()["data"]["incoming"]
    assert [c["id"] for c in incoming] == [conn_id]
    assert api.delete(f"/containers/connections/{conn_id}").status_code == 200
    assert api.get(f"/containers/{ids['myapp']}/connections").json()["data"]["outgoing"] == []
    assert api.delete(f"/containers/connections/{conn_id}").status_code == 404
    assert sim.mutations()[-1].container_id == ids["myapp"]


def test_connecting_to_another_accounts_container_is_404(sim, api, ids):
    theirs = sim.seed_container(sim.create_key(), "theirdb", template="postgresql")
    assert api.post(f"/containers/{ids['myapp']}/connect/{theirs}").status_code == 404


def test_vpn_clients_lifecycle(sim, api, key):
    vpn = sim.seed_container(key, "office-vpn", template="stacks-vpn")
    assert [c["name"] for c in api.get(f"/containers/{vpn}/vpn-clients").json()["data"]] == [
        "default"
    ]
    added = api.post(f"/containers/{vpn}/vpn-clients", json={"name": "my-laptop"})
    assert added.status_code == 200 and added.json()["data"]["address"] == "10.13.13.3"
    assert api.post(f"/containers/{vpn}/vpn-clients", json={"name": "my-laptop"}).status_code == 400
    config = api.get(f"/containers/{vpn}/vpn-config", params={"client": "my-laptop"}).json()
    text = config["data"]["config"]
    assert text.startswith("[Interface]") and "[Peer]" in text and "Address = 10.13.13.3/32" in text
    assert "[Interface]" in api.get(f"/containers/{vpn}/vpn-config").json()["data"]["config"]
    assert api.delete(f"/containers/{vpn}/vpn-clients/my-laptop").status_code == 200
    assert (
        api.get(f"/containers/{vpn}/vpn-config", params={"client": "my-laptop"}).status_code == 404
    )
    assert api.delete(f"/containers/{vpn}/vpn-clients/my-laptop").status_code == 404


def test_vpn_endpoints_refuse_other_containers(sim, api, key):
    app = sim.seed_container(key, "myapp")
    assert api.get(f"/containers/{app}/vpn-clients").status_code == 400
    assert api.post(f"/containers/{app}/vpn-clients", json={"name": "x1"}).status_code == 400


def test_vpn_config_is_not_in_the_mutation_log(sim, api, key):
    vpn = sim.seed_container(key, "office-vpn", template="stacks-vpn")
    api.post(f"/containers/{vpn}/vpn-clients", json={"name": "phone"})
    api.get(f"/containers/{vpn}/vpn-config", params={"client": "phone"})
    [entry] = sim.mutations()
    assert entry.body == {"name": "phone"} and "PrivateKey" not in repr(entry)
