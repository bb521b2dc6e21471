"""VPN clients exist only on stacks-vpn containers: list, add, WireGuard config, remove."""


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
