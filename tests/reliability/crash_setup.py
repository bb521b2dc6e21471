"""Set-up for crash tests over real processes: accounts, configs, fresh PostgreSQL databases.

account = Account.create(simulator)    # own key and containers: one daemon's world
config, port, url = daemon_config(directory, simulator, database_url=..., extra=TOML)
run_command(config, account, "once")   # a CLI command with the account's key
with fresh_postgres_database() as url: ...   # dropped afterwards, even after a failure
"""

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from daemon.audit import AuditStore
from daemon.clock import SystemClock
from tests.support.integration import postgres_url
from tests.support.processes import SimulatorProcess, command, free_port, write_config

# Far above what a test sends, so the simulator never answers 429 to parallel processes.
SIMULATOR_RATE_LIMIT = 1000


@dataclass
class Account:
    """A simulator account with its own key: the daemons of one test see only its containers."""

    simulator: SimulatorProcess
    key: str
    containers: dict[str, str] = field(default_factory=dict)  # name -> id

    @classmethod
    def create(cls, simulator: SimulatorProcess) -> "Account":
        body = simulator.control("POST", "keys", rate_limit=SIMULATOR_RATE_LIMIT).json()
        return cls(simulator, body["key"])

    def seed(self, name: str) -> str:
        body = self.simulator.control("POST", "containers", key=self.key, name=name).json()
        self.containers[name] = body["id"]
        return body["id"]

    def crash(self, name: str) -> None:
        self.simulator.control("POST", f"containers/{self.containers[name]}/crash")

    def statuses(self) -> dict[str, str]:
        """name -> status, as STACKS lists them now (the simulator's own answer)."""
        response = httpx.get(
            f"{self.simulator.base_url}/containers",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=10,
        )
        response.raise_for_status()
        return {c["name"]: c["status"] for c in response.json()["data"]}

    def backups(self, container_id: str) -> dict[int, dict]:
        response = httpx.get(
            f"{self.simulator.base_url}/containers/{container_id}/backups",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=10,
        )
        response.raise_for_status()
        return {b["id"]: b for b in response.json()["data"]}

    def env(self) -> dict[str, str]:
        return {**os.environ, "STACKS_API_KEY": self.key}


def daemon_config(
    directory: Path,
    simulator: SimulatorProcess,
    *,
    database_url: str | None = None,
    status_interval: str | None = None,
    extra: str = "",
) -> tuple[Path, int, str]:
    """write_config's test config, with another database or status interval: (path, port, url).

    The audit tables are created here, so a test can read them before any process starts.
    """
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    database_url = database_url or f"sqlite:///{directory / 'audit.db'}"
    path = write_config(
        directory,
        simulator.base_url,
        port,
        extra,
        database_url=database_url,
        status_interval=status_interval or "1s",
    )
    AuditStore.open(database_url, "test", SystemClock()).close()  # tables exist from now on
    return path, port, database_url


def run_command(config: Path, account: Account, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command("--config", str(config), *args),
        capture_output=True,
        text=True,
        timeout=60,
        env=account.env(),
    )


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new database on the test server (the role has CREATEDB); its SQLAlchemy URL."""
    import psycopg

    server = make_url(postgres_url())
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"stacks_opsd_reliability_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def psycopg_url(database_url: str) -> str:
    """A libpq URI (for psycopg.connect) from a postgresql+psycopg:// URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
