"""Every endpoint against the simulator, in-process and over a real socket on 127.0.0.1."""

import pytest

from daemon.stacks import NotFoundError, ValidationError
from tests.client.simulated import connect, sim  # noqa: F401  (fixtures)


@pytest.fixture
def key(sim):  # noqa: F811
    return sim.create_key()


def test_create_poll_and_both_spellings(sim, connect, key):  # noqa: F811
    client = connect(key)
    created = client.create_container("my-api", "nodejs")
    assert created.container.status == "pending"
    assert created.container.id == f"usr-{sim.account_of(key)}-my-api"
    assert client.container_status(created.container.id).status == "pending"
    sim.advance(60)
    [listed] = client.list_containers()
    status = client.container_status(created.container.id)
    assert listed.status == status.status == "running"
    for container in (listed, status):  # cpu_allocated: 1 vs cpuAllocated: "1.00"
        assert (container.cpu_allocated, container.memory_allocated_mb) == (1.0, 1024)
        assert container.storage_allocated_mb == 10240
        assert container.created_at == created.container.created_at
    assert status.template == "nodejs" and status.external_access_enabled is False


def test_status_changes_logs_metrics_certificates_and_delete(sim, connect, key):  # noqa: F811
    client = connect(key)
    app = sim.seed_container(key, "myapp")
    sim.advance(120)
    client.stop(app)
    assert client.container_status(app).status == "stopped"
    client.start(app)
    client.restart(app)
    sim.advance(60)
    assert client.container_status(app).status == "running"
    assert len(client.logs(app, lines=5).lines) == 5
    metrics = client.metrics(app)
    assert metrics.cpu_percent and metrics.latest_timestamp is not None
    first = client.certificate(app).private_key.reveal()
    assert first.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    client.regenerate_certificate(app)
    assert client.certificate(app).private_key.reveal() != first
    client.delete_container(app)
    assert client.list_containers() == ()
    with pytest.raises(NotFoundError):
        client.container_status(app)
    changes = [(m.method, m.path.removeprefix("/api/v1")) for m in sim.mutations()]
    assert changes == [
        ("PUT", f"/containers/{app}/status"),
        ("PUT", f"/containers/{app}/status"),
        ("PUT", f"/containers/{app}/status"),
        ("POST", f"/containers/{app}/certificate/regenerate"),
        ("DELETE", f"/containers/{app}"),
    ]


def test_credentials_templates_and_a_managed_service_without_certificate(sim, connect, key):  # noqa: F811
    client = connect(key)
    db = sim.seed_container(key, "mydb", template="postgresql")
    creds = client.credentials(db)
    assert (creds.type, creds.port, creds.internal_host) == ("postgresql", 5432, db)
    assert creds.password.reveal() and creds.password.reveal() not in repr(creds)
    with pytest.raises(ValidationError):
        client.certificate(db)
    templates = {t.id: t for t in client.templates()}
    assert templates["nodejs"].price_monthly == 4.0
    assert templates["ubuntu-micro"].price_monthly == 1.0
    assert "stacks-vpn" in templates


def test_external_access_and_allowed_ips(sim, connect, key):  # noqa: F811
    client = connect(key)
    app = sim.seed_container(key, "myapp")
    access = client.set_external_access(app, True)
    assert access.enabled and access.your_ip == "127.0.0.1" and access.subdomain
    added = client.add_allowed_ip(app, "198.51.100.0/24", "Production servers", "both")
    assert added is not None and added.ip_address == "198.51.100.0/24"
    ips = client.allowed_ips(app)
    assert ips.external_access_enabled and ips.url == access.url
    assert [ip.ip_address for ip in ips.allowed_ips] == ["127.0.0.1", "198.51.100.0/24"]
    client.remove_allowed_ip(app, added.id)
    with pytest.raises(ValidationError) as last:
        client.remove_allowed_ip(app, ips.allowed_ips[0].id)
    assert "last" in str(last.value)
    assert not client.set_external_access(app, False).enabled
    assert not client.allowed_ips(app).external_access_enabled


def test_connections(sim, connect, key):  # noqa: F811
    client = connect(key)
    app = sim.seed_container(key, "myapp")
    db = sim.seed_container(key, "mydb", template="postgresql")
    targets = client.available_targets(app)
    assert [t.id for t in targets.databases] == [db]
    connection = client.connect(app, db, "primary-db")
    assert (connection.source_container, connection.target_container) == (app, db)
    assert "POSTGRES_HOST" in connection.environment_variables.reveal()
    [outgoing] = client.connections(app).outgoing
    [incoming] = client.connections(db).incoming
    assert outgoing.id == incoming.id == connection.id
    assert (outgoing.peer_name, incoming.peer_name) == ("mydb", "myapp")
    client.delete_connection(connection.id)
    assert client.connections(app).outgoing == ()


def test_backups(sim, connect, key):  # noqa: F811
    client = connect(key)
    db = sim.seed_container(key, "mydb", template="postgresql")
    started = client.trigger_backup(db)
    assert started.status == "in_progress"
    sim.advance(600)
    [backup] = [b for b in client.backups(db) if b.backup_type != "scheduled"]
    assert backup.completed and not backup.pinned
    client.pin_backup(backup.id)
    assert next(b for b in client.backups(db, limit=100) if b.id == backup.id).pinned
    client.unpin_backup(backup.id)
    stats = client.backup_stats()
    assert stats.completed_backups >= 1 and stats.last_backup_at is not None
    client.restore_backup(backup.id)
    client.delete_backup(backup.id)
    assert backup.id not in [b.id for b in client.backups(db)]


def test_vpn_clients(sim, connect, key):  # noqa: F811
    client = connect(key)
    vpn = sim.seed_container(key, "myvpn", template="stacks-vpn")
    added = client.add_vpn_client(vpn, "my-laptop")
    assert added.name == "my-laptop" and added.address
    assert "my-laptop" in [c.name for c in client.vpn_clients(vpn)]
    config = client.vpn_config(vpn, "my-laptop")
    assert "[Interface]" in config.config.reveal() and "PrivateKey" not in repr(config)
    client.remove_vpn_client(vpn, "my-laptop")
    assert "my-laptop" not in [c.name for c in client.vpn_clients(vpn)]
