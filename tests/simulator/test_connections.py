"""Connections: targets grouped by kind, env vars per type with masked passwords, delete."""

import pytest


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
