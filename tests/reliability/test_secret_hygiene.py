"""No API key, password, private key or VPN config in anything the daemon produces.

Secrets flow in: the API key the daemon is given, and the passwords, SSH private
keys and WireGuard configs the simulator hands out (credentials, certificate,
vpn_config, connect, called through the client with DEBUG logging on). Then
everything the daemon produces is scanned for them: log records and process
output (text and JSON formats), every column of every audit row and the raw
database file, /metrics, /status, the str and repr of every error the client
raises (401, 403, 404, 429, a truncated answer), and the output of `once`,
`audit list --format json|csv|table` and `check-config [--online]`. The
simulator's own output is not scanned: it prints its key on purpose.
"""

import json
import logging
import re
import sqlite3
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from sqlalchemy.engine import make_url

from daemon.simulator import Faults
from daemon.stacks import (
    ApiKey,
    AuthError,
    MalformedResponse,
    NotFoundError,
    RateLimitedError,
    ScopeError,
    StacksClient,
    StacksError,
)
from tests.support.integration import postgres_url, require
from tests.support.processes import (
    DaemonProcess,
    SimulatorProcess,
    command,
    free_port,
    wait_until,
)
from tests.support.processes import write_config as daemon_config
from tests.support.simulated_run import SimulatedRun

WIREGUARD_KEY = re.compile(r"PrivateKey = (\S+)")
MINUTE = timedelta(minutes=1)


def secret_strings(password: str, private_key: str, vpn_config: str) -> set[str]:
    """The secrets as they could leak: whole, and in recognisable pieces."""
    pieces = {password, private_key, *WIREGUARD_KEY.findall(vpn_config)}
    for line in private_key.splitlines():
        if len(line) >= 24 and not line.startswith("-----"):
            pieces.add(line)
    return {p for p in pieces if len(p) >= 16}


def key_forms(key: str) -> set[str]:
    hex_part = key.removeprefix("sk_stacks_")
    return {key, hex_part, hex_part[:24]}


def leaks(texts: dict[str, str], secrets: set[str]) -> list[str]:
    """`where: secret-prefix` for every secret found in any text."""
    return [
        f"{where}: {secret[:6]}..."
        for where, text in texts.items()
        for secret in secrets
        if secret in text
    ]


def error_texts(error: BaseException) -> str:
    """str, repr and attributes of an error and of the errors it was raised from."""
    parts = []
    for _ in range(10):
        if error is None:
            break
        parts += [str(error), repr(error), repr(error.args), repr(vars(error))]
        error = error.__cause__ or error.__context__
    return "\n".join(parts)


def audit_texts(rows) -> str:
    return "\n".join(repr(row.model_dump()) for row in rows)


# -- in simulated time, every client path with DEBUG logging ---------------------------


def test_no_secret_leaves_the_daemon_in_simulated_time(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    run = SimulatedRun(tmp_path)
    sim, client = run.simulator, run.daemon.client
    web = sim.seed_container(run.key, "web")
    db = sim.seed_container(run.key, "shop-db", "postgresql")
    vpn = sim.seed_container(run.key, "office-vpn", "stacks-vpn")
    run.advance(MINUTE)

    credentials = [client.credentials(cid) for cid in (web, db, vpn)]
    certificate = client.certificate(web)
    added = client.add_vpn_client(vpn, "laptop")
    config = client.vpn_config(vpn, "laptop")
    connection = client.connect(web, db)
    secrets = set()
    for found in credentials:
        secrets |= secret_strings(found.password.reveal(), "", "")
    secrets |= secret_strings("", certificate.private_key.reveal(), config.config.reveal())
    assert len(secrets) >= 5  # three passwords, a private key (and its lines), a VPN key
    results = repr([credentials, certificate, added, config, connection])

    errors = []
    account = sim.account_of(run.key)
    unknown = "sk_stacks_" + "0123456789abcdef" * 4
    read_only = sim.create_key(scopes=("containers:read",), account=account)
    one_a_minute = sim.create_key(rate_limit=1, account=account)
    for key, call, expected in (
        (unknown, lambda c: c.list_containers(), AuthError),
        (read_only, lambda c: c.restart(web), ScopeError),
        (run.key, lambda c: c.container_status("usr-00000000-nothing"), NotFoundError),
        (one_a_minute, lambda c: c.credentials(web), None),  # spends the key's minute
        (one_a_minute, lambda c: c.credentials(web), RateLimitedError),
    ):
        other = StacksClient(
            ApiKey(key), run.config.api.base_url, transport=sim.transport(), clock=run.clock,
            retries=0,
        )  # fmt: skip
        if expected is None:
            call(other)
            continue
        with pytest.raises(expected) as raised:
            call(other)
        errors.append(raised.value)
    sim.set_faults(Faults(malformed_rate=1.0, seed=4))  # credentials answers cut short
    try:
        client.credentials(web)
    except StacksError as error:
        errors.append(error)
    sim.set_faults(Faults())
    assert isinstance(errors[-1], MalformedResponse)

    sim.crash(web)
    run.advance(2 * MINUTE)
    rows = run.daemon.store.query()
    assert any(r.action == "container.restart" and r.outcome == "succeeded" for r in rows)
    texts = {
        "log records": "\n".join(
            f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
        ),
        "log text": caplog.text,
        "results repr": results,
        "errors": "\n".join(error_texts(e) for e in errors),
        "audit rows": audit_texts(rows),
        "metrics": generate_latest(run.daemon.metrics.registry).decode(),
        "status": json.dumps(run.daemon.status(), default=str),
    }
    run.close()
    assert any(r.name == "daemon.stacks.sender" and r.levelno == logging.DEBUG
               for r in caplog.records)  # fmt: skip
    keys = key_forms(run.key) | key_forms(read_only) | key_forms(one_a_minute) | key_forms(unknown)
    assert leaks(texts, keys | secrets) == []


# -- real processes: the daemon in text and JSON log formats, and the CLI ---------------


def write_config(directory: Path, base_url: str, log_format: str) -> tuple[Path, int]:
    directory.mkdir()
    port = free_port()
    path = directory / "config.toml"
    path.write_text(
        f"""
[api]
base_url = "{base_url}"

[daemon]
listen = "127.0.0.1:{port}"
database_url = "sqlite:///{directory / "audit.db"}"
log_format = "{log_format}"

[poll]
status_interval = "2s"
metrics_interval = "10s"
backups_interval = "10s"
"""
    )
    return path, port


def known_secrets(simulator: SimulatorProcess, ids: dict[str, str]) -> set[str]:
    """The passwords, private key and VPN config STACKS holds, read by the test itself."""
    api = httpx.Client(
        base_url=simulator.base_url,
        headers={"Authorization": f"Bearer {simulator.key}"},
        timeout=10,
    )
    with api:
        passwords = [
            api.get(f"/containers/{cid}/credentials").json()["data"]["mainCredentials"]["password"]
            for cid in ids.values()
        ]
        private_key = api.get(f"/containers/{ids['web']}/certificate").json()["data"]["privateKey"]
        api.post(f"/containers/{ids['vpn']}/vpn-clients", json={"name": "laptop"})
        response = api.get(f"/containers/{ids['vpn']}/vpn-config", params={"client": "laptop"})
        vpn_config = response.json()["data"]["config"]
    secrets = secret_strings("", private_key, vpn_config)
    for password in passwords:
        secrets |= secret_strings(password, "", "")
    return secrets


def cli(config: Path, key: str, *args: str) -> str:
    result = subprocess.run(
        command("--config", str(config), *args),
        capture_output=True,
        text=True,
        timeout=60,
        env={"STACKS_API_KEY": key, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def restarts_of(simulator: SimulatorProcess, container_id: str) -> int:
    mutations = simulator.control("GET", "mutations").json()["mutations"]
    return sum(1 for m in mutations if m["path"].endswith(f"{container_id}/status"))


def database_texts(directory: Path) -> dict[str, str]:
    texts = {}
    with sqlite3.connect(directory / "audit.db") as db:
        rows = db.execute("SELECT * FROM audit_log").fetchall()
    texts["audit table"] = "\n".join(map(repr, rows))
    for name in ("audit.db", "audit.db-wal"):
        if (directory / name).exists():
            texts[name] = (directory / name).read_bytes().decode("latin-1")
    return texts


def test_no_secret_in_what_daemon_processes_print_serve_or_store(simulator, tmp_path):
    ids = {"web": simulator.seed("web"), "db": simulator.seed("shop-db", "postgresql")}
    ids["vpn"] = simulator.seed("office-vpn", "stacks-vpn")
    secrets = known_secrets(simulator, ids)
    account = ids["web"].split("-")[1]
    second_key = simulator.control("POST", "keys", account=account).json()["key"]
    runs = {}
    for log_format, key in (("text", simulator.key), ("json", second_key)):
        config, port = write_config(tmp_path / log_format, simulator.base_url, log_format)
        process = DaemonProcess(config, key, tmp_path / log_format / "daemon.log")
        runs[log_format] = (config, port, key, process)
    texts: dict[str, str] = {}
    try:
        for _, port, _, _ in runs.values():
            wait_until(
                lambda port=port: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200,
                20,
                "the daemon to become ready",
            )
        simulator.control("POST", f"containers/{ids['web']}/crash")
        wait_until(lambda: restarts_of(simulator, ids["web"]), 15, "a restart of the crashed web")
        for log_format, (_, port, _, _) in runs.items():
            for path in ("metrics", "status"):
                texts[f"{log_format} /{path}"] = httpx.get(f"http://127.0.0.1:{port}/{path}").text
    finally:
        for log_format, (_, _, _, process) in runs.items():
            process.terminate()
            texts[f"{log_format} daemon output"] = process.output()
            process.stop()
    json_lines = texts["json daemon output"].splitlines()
    assert json_lines and all(json.loads(line)["message"] for line in json_lines)

    # The CLI gets a key of its own: the daemons may have used their keys' minute.
    cli_key = simulator.control("POST", "keys", account=account).json()["key"]
    texts["once"] = cli(runs["text"][0], cli_key, "once")
    for log_format, (config, _, _, _) in runs.items():
        for output in ("json", "csv", "table"):
            texts[f"{log_format} audit list {output}"] = cli(
                config, cli_key, "audit", "list", "--format", output
            )
        texts[f"{log_format} check-config"] = cli(config, cli_key, "check-config")
        texts[f"{log_format} check-config --online"] = cli(
            config, cli_key, "check-config", "--online"
        )
        texts |= {f"{log_format} {k}": v for k, v in database_texts(config.parent).items()}
    # Whichever daemon saw the crash first restarted it: the rows scanned are real ones.
    assert "container.restart" in texts["text audit list json"] + texts["json audit list json"]
    assert "container.restart" in texts["text audit table"] + texts["json audit table"]
    assert "stacks_up 1.0" in texts["text /metrics"]

    keys = key_forms(simulator.key) | key_forms(second_key) | key_forms(cli_key)
    assert leaks(texts, keys | secrets) == []


# -- credentials in the daemon's own settings: the audit database URL, reloaded URLs ----


def test_a_database_password_in_the_url_query_stays_out_of_logs_and_errors(tmp_path):
    import psycopg

    server = make_url(postgres_url())
    password = server.password
    require(bool(password), "a PostgreSQL test URL with a password (to show it stays hidden)")
    schema = f"hygiene_{uuid.uuid4().hex[:12]}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    without = server.set(password=None).render_as_string(hide_password=False)
    search_path = ("&" if "?" in without else "?") + f"options=-csearch_path%3D{schema}"
    right = f"{without}{search_path}&password={password}"
    wrong = f"{without}{search_path}&password=TopSecretPw2"
    port = free_port()
    config = daemon_config(
        tmp_path, f"http://127.0.0.1:{free_port()}/api/v1", port, database_url=right
    )
    process = DaemonProcess(config, "sk_stacks_" + "ab" * 32, tmp_path / "daemon.log")
    try:
        wait_until(lambda: " audit in " in process.output(), 20, "the daemon to start")
        process.terminate()
        output = process.output()
        config.write_text(config.read_text().replace(right, wrong))
        done = subprocess.run(
            command("--config", str(config), "audit", "list"),
            capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
        )  # fmt: skip
    finally:
        process.stop()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    [started] = [line for line in output.splitlines() if " audit in " in line]
    assert f"{search_path}&password=" in started
    assert f"password={password}" not in output
    assert done.returncode == 1
    assert "password authentication failed" in done.stderr
    assert f"{search_path}&password=***" in done.stderr
    assert "TopSecretPw2" not in done.stdout + done.stderr


def test_a_refused_reload_logs_no_url_credentials_and_no_traceback(tmp_path):
    port = free_port()
    config = daemon_config(tmp_path, f"http://127.0.0.1:{free_port()}/api/v1", port)
    good = config.read_text()
    process = DaemonProcess(config, "sk_stacks_" + "ab" * 32, tmp_path / "daemon.log")

    def refusals() -> int:
        return process.output().count("config reload (file changed) refused")

    try:
        wait_until(lambda: " audit in " in process.output(), 20, "the daemon to start")
        config.write_text(
            good
            + """
[[notify]]
name = "hook"
kind = "webhook"
url = "https://hookuser:Hook-Passw0rd-777@hooks.example.org/services/T0AAAAAAA/a b"
"""
        )
        wait_until(lambda: refusals() == 1, 20, "the broken url to be refused")
        (tmp_path / "auth").write_text("Bearer hdr-Secret-Tökén-9876\n", encoding="utf-8")
        config.write_text(
            good
            + f"""
[[notify]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:{free_port()}/hook"
headers_files = {{ Authorization = "auth" }}
"""
        )
        wait_until(lambda: refusals() == 2, 20, "the unusable header file to be refused")
        assert process.process.poll() is None  # still running the config loaded before
        output = process.output()
    finally:
        process.stop()
    assert "notify[0].url: expected an http:// or https:// URL with any space" in output
    assert "headers_files.Authorization:" in output and "not printable ASCII" in output
    assert "Traceback" not in output
    for secret in ("Hook-Passw0rd-777", "T0AAAAAAA", "Tökén", "hdr-Secret"):
        assert secret not in output
