"""VPC connections between containers: targets grouped by kind, env vars injected per type."""

from typing import Any

from daemon.simulator.call import Call
from daemon.simulator.exchange import Reply, bad_request, not_found
from daemon.simulator.isotime import iso
from daemon.simulator.state import Connection, ContainerRecord

MASK = "****"
GROUPS = ("databases", "caches", "loadBalancers", "applications")


def environment(target: ContainerRecord) -> tuple[dict[str, str], str]:
    """The variables injected into the source (password masked) and the connection string."""
    host, kind = target.id, target.template.type
    port = str(target.template.service_port)
    if kind == "postgresql":
        env = {
            "POSTGRES_HOST": host,
            "POSTGRES_PORT": port,
            "POSTGRES_USER": "postgres",
            "POSTGRES_PASSWORD": MASK,
            "POSTGRES_DB": "postgres",
        }
        return env, f"postgresql://postgres:{MASK}@{host}:{port}/postgres"
    if kind == "mysql":
        env = {
            "MYSQL_HOST": host,
            "MYSQL_PORT": port,
            "MYSQL_USER": "root",
            "MYSQL_PASSWORD": MASK,
            "MYSQL_DATABASE": "mysql",
        }
        return env, f"mysql://root:{MASK}@{host}:{port}/mysql"
    if kind == "mongodb":
        env = {
            "MONGO_HOST": host,
            "MONGO_PORT": port,
            "MONGO_USER": "admin",
            "MONGO_PASSWORD": MASK,
            "MONGO_DB": "admin",
        }
        return env, f"mongodb://admin:{MASK}@{host}:{port}/admin"
    if kind == "redis":
        env = {"REDIS_HOST": host, "REDIS_PORT": port, "REDIS_PASSWORD": MASK}
        return env, f"redis://:{MASK}@{host}:{port}"
    prefix = kind.upper().replace("-", "_")
    url = f"http://{host}:{port}"
    return {f"{prefix}_HOST": host, f"{prefix}_PORT": port, f"{prefix}_URL": url}, url


def _target_view(target: ContainerRecord) -> dict[str, Any]:
    return {
        "id": target.id,
        "name": target.name,
        "type": target.template.type,
        "status": target.status,
        "suggested": target.template.group in ("databases", "caches"),
    }


def available_targets(call: Call) -> Reply:
    source = call.container()
    others = sorted(
        (
            c
            for c in call.world.containers.values()
            if c.account == call.account and c is not source
        ),
        key=lambda c: c.name,
    )
    data: dict[str, Any] = {group: [] for group in GROUPS}
    for target in others:
        data[target.template.group].append(_target_view(target))
    data["all"] = [_target_view(target) for target in others]
    return Reply({"success": True, "data": data})


def connect(call: Call) -> Reply:
    source = call.container("source_id")
    target = call.container("target_id")
    assume = call.world.assumptions
    if source is target and assume.connection_requires_other_target:
        raise bad_request("A container cannot be connected to itself")
    name = call.body(required=False).get("connectionName") or target.name
    if not isinstance(name, str) or len(name) > 64:
        raise bad_request("connectionName must be text of at most 64 characters", "connectionName")
    if assume.connection_requires_new_pair and any(
        c.source_id == source.id and c.target_id == target.id
        for c in call.world.connections.values()
    ):
        raise bad_request(f"{source.id} is already connected to {target.id}")
    env, conn_string = environment(target)
    connection = Connection(
        call.world.uuid(),
        source.id,
        target.id,
        name,
        target.template.type,
        env,
        conn_string,
        call.now,
    )
    call.world.connections[connection.id] = connection
    return Reply(
        {
            "success": True,
            "data": {
                "id": connection.id,
                "sourceContainer": source.id,
                "targetContainer": target.id,
                "connectionName": name,
                "connectionType": connection.type,
                "environmentVariables": env,
                "connectionString": conn_string,
                "message": "Connection created. "
                "Container will be updated with new environment variables.",
                "note": "You may need to restart the source container for changes to take effect.",
            },
        },
        container_id=source.id,
    )


def list_connections(call: Call) -> Reply:
    c = call.container()
    containers = call.world.containers
    outgoing, incoming = [], []
    for conn in sorted(call.world.connections.values(), key=lambda conn: conn.created_at):
        base = {
            "id": conn.id,
            "connection_name": conn.name,
            "connection_type": conn.type,
            "connection_string": conn.connection_string,
            "created_at": iso(conn.created_at),
        }
        if conn.source_id == c.id:
            target = containers[conn.target_id]
            outgoing.append(
                {
                    **base,
                    "target_name": target.name,
                    "target_type": target.template.type,
                    "target_status": target.status,
                }
            )
        elif conn.target_id == c.id:
            source = containers[conn.source_id]
            incoming.append(
                {
                    **base,
                    "source_name": source.name,
                    "source_type": source.template.type,
                    "source_status": source.status,
                }
            )
    return Reply({"success": True, "data": {"outgoing": outgoing, "incoming": incoming}})


def delete_connection(call: Call) -> Reply:
    conn_id = call.params["connection_id"]
    conn = call.world.connections.get(conn_id)
    source = call.world.containers.get(conn.source_id) if conn else None
    if conn is None or source is None or source.account != call.account:
        raise not_found(f"Connection {conn_id} not found")
    del call.world.connections[conn_id]
    return Reply(
        {
            "success": True,
            "message": "Connection deleted. Restart the source container to drop its variables.",
        },
        container_id=source.id,
    )
