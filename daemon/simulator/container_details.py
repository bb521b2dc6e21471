"""Per-container details: credentials by type, logs, metrics, the SSH certificate and its renewal.

Reads of one container below `/containers/{id}/` (and the certificate's
regeneration, a mutation). Credentials and the certificate name the container's
SSH user and `PUBLIC_HOST`; the certificate exists only for compute containers.
Logs are synthetic lines, one every ten seconds since creation (`lines` at most
500).

Metrics: the last hour, one sample a minute, deterministic per container. Shape
(ours; the guide only names the arrays):
`{"success":true,"data":{"cpu":[{"timestamp":ISO,"value":percent}],"memory":[MB],"disk":[MB],
"network_in":[bytes/s],"network_out":[bytes/s]}}`. Samples start at the container's
creation; a container that is not running uses no CPU, memory or network.
"""

import base64
import zlib
from datetime import datetime, timedelta
from typing import Any

from daemon.simulator.exchange import Call, Reply, bad_request, iso
from daemon.simulator.world import PUBLIC_HOST, ContainerRecord

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
SAMPLES = 60
STEP = timedelta(minutes=1)
SERIES = ("cpu", "memory", "disk", "network_in", "network_out")


# -- credentials and logs --------------------------------------------------------------


def credentials(call: Call) -> Reply:
    c = call.container()
    username = c.ssh_user if c.template.compute else "admin"
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
        data["ssh"] = {"host": PUBLIC_HOST, "port": c.port, "user": c.ssh_user}
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
    wanted = call.bounded_count("lines", 100, MAX_LOG_LINES)
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


# -- metrics ---------------------------------------------------------------------------


def _unit(*parts: object) -> float:
    """A number in [0, 1) fixed by `parts`."""
    return zlib.crc32(":".join(map(str, parts)).encode()) / 2**32


def sample(container: ContainerRecord, series: str, minute: datetime) -> float:
    _, ram, storage = container.allocation
    level, wobble = _unit(container.id, series), _unit(container.id, series, minute.isoformat())
    if series == "disk":
        return round(storage * (0.05 + 0.4 * level), 1)
    if container.status != "running":
        return 0.0
    if series == "cpu":
        return round(min(100.0, 3 + 50 * level + 20 * wobble), 2)
    if series == "memory":
        return round(ram * (0.2 + 0.5 * level + 0.1 * wobble), 1)
    return round(2_000 + 400_000 * level * (0.5 + wobble), 1)


def metrics(call: Call) -> Reply:
    c = call.container()
    newest = call.now.replace(second=0, microsecond=0)
    minutes = [newest - back * STEP for back in range(SAMPLES - 1, -1, -1)]
    minutes = [m for m in minutes if m >= c.created_at.replace(second=0, microsecond=0)]
    if c.status == "pending":
        minutes = []
    data = {
        series: [{"timestamp": iso(m), "value": sample(c, series, m)} for m in minutes]
        for series in SERIES
    }
    return Reply({"success": True, "data": data})


# -- the SSH certificate ---------------------------------------------------------------


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
    user = c.ssh_user
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
