"""External access with subdomain and caller IP, allowed-IP validation, last-IP protection."""

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
