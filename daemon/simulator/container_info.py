"""Per-container reads and keys: credentials by type, logs, SSH certificate and its regeneration."""

import base64
from datetime import timedelta
from typing import Any

from daemon.simulator.call import Call, bounded_count
from daemon.simulator.container_views import PUBLIC_HOST
from daemon.simulator.exchange import Reply, bad_request
from daemon.simulator.isotime import iso
from daemon.simulator.state import ContainerRecord

MAX_LOG_LINES = 500
LOG_EVERY = timedelta(seconds=10)
LOG_MESSAGES = (
    "GET /health 200 2ms",
    "GET / 200 14ms",
    "POST /api/items 201 31ms",
    "worker heartbeat ok",
    "GET /api/items 200 9ms",
    "cache hit ratio 0.93",
)


def credentials(call: Call) -> Reply:
    c = call.container()
    ssh_user = f"usr-{c.account}"
    username = ssh_user if c.template.compute else "admin"
    main = {"username": username, "password": c.password}
    entry: dict[str, Any] = {
        "type": "ssh" if c.template.compute else c.template.type,
        "username": username,
        "password": c.password,
        "host": c.ip_address,
        "port": c.template.service_port,
    }
    data: dict[str, Any] = {
        "containerName": c.name,
        "type": c.template.type,
        "mainCredentials": main,
        "connectionInfo": {
            "host": c.ip_address,
            "port": c.template.service_port,
            "internalHost": c.id,
        },
    }
    listing = [entry]
    if c.template.compute:
        data["ssh"] = {"host": PUBLIC_HOST, "port": c.port, "user": ssh_user}
    if c.template.has_web_ui:
        web = {
            "type": "webui",
            "username": "admin",
            "password": c.password,
            "url": f"http://{c.ip_address}",
        }
        listing.append(web)
    return Reply({"success": True, "credentials": listing, "data": data})


def logs(call: Call) -> Reply:
    c = call.container()
    wanted = bounded_count(call, "lines", 100, MAX_LOG_LINES)
    available = int((call.now - c.created_at) / LOG_EVERY) + 1
    count = min(wanted, available)
    lines = []
    for back in range(count - 1, -1, -1):
        moment = call.now - back * LOG_EVERY
        index = int((moment - c.created_at) / LOG_EVERY)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S")
        lines.append(
            f"{stamp}Z {c.template.type}[{c.name}]: {LOG_MESSAGES[index % len(LOG_MESSAGES)]}"
        )
    return Reply({"success": True, "data": {"container_id": c.id, "lines": count, "logs": lines}})


def _compute_only(c: ContainerRecord) -> None:
    if not c.template.compute:
        raise bad_request(
            f"SSH certificates are only available for compute containers (Ubuntu, Node.js, "
            f"Python, ...); {c.id} is a managed {c.template.type} service"
        )


def _private_key(c: ContainerRecord) -> str:
    body = base64.b64encode(bytes.fromhex(c.private_key) * 4).decode()
    wrapped = "\n".join(body[i : i + 70] for i in range(0, len(body), 70))
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{wrapped}\n-----END OPENSSH PRIVATE KEY-----\n"


def certificate(call: Call) -> Reply:
    c = call.container()
    _compute_only(c)
    user = f"usr-{c.account}"
    return Reply(
        {
            "success": True,
            "data": {
                "containerName": c.name,
                "filename": f"{c.id}.pem",
                "privateKey": _private_key(c),
                "sshUser": user,
                "sshHost": PUBLIC_HOST,
                "sshPort": c.port,
                "sshCommand": f"ssh -i {c.id}.pem -p {c.port} {user}@{PUBLIC_HOST}",
            },
        }
    )


def regenerate_certificate(call: Call) -> Reply:
    c = call.container()
    _compute_only(c)
    c.private_key = call.world.hex(64)
    c.updated_at = call.now
    return Reply(
        {
            "success": True,
            "message": "SSH keypair regenerated. Download the new private key with "
            "GET /containers/{id}/certificate; the old key no longer works.",
            "data": {"containerName": c.name, "regeneratedAt": iso(call.now)},
        },
        container_id=c.id,
    )
