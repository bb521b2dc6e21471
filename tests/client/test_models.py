"""Typed results of the everyday calls: containers in both spellings, backups, metrics, changes."""

import re
from datetime import UTC, datetime

import httpx
import pytest

from daemon.stacks import StacksError, UnconfirmedChange
from tests.client.conftest import reply

C = "usr-abc12345-myapp"
LIST_ITEM = {
    "id": C, "name": "myapp", "type": "nodejs", "plan": "basic", "status": "running",
    "cpu_allocated": 1, "memory_allocated": 1024, "storage_allocated": 10240,
    "ip_address": "10.52.0.5", "created_at": "2026-02-25T10:30:00.000Z",
    "raw_docker_status": "Up 2 hours (healthy)", "image_tag": "stackshosting/nodejs:latest",
    "version": "22", "version_major": "22",
}  # fmt: skip
STATUS_BODY = {
    "success": True, "id": C, "name": "myapp", "template": "nodejs", "type": "nodejs",
    "status": "running", "rawStatus": "Up 2 hours (healthy)", "ram": 1, "storage": 10240,
    "externalAccessEnabled": False, "ipAddress": "10.52.0.5", "version": "22",
    "versionMajor": "22", "plan": "basic", "cpuAllocated": "1.00", "memoryAllocated": 1024,
    "storageAllocated": 10240, "createdAt": "2026-02-25T10:30:00.000Z",
    "updatedAt": "2026-02-25T12:00:00.000Z",
}  # fmt: skip


def test_list_and_status_spellings_give_the_same_container(make_client):
    listed = {"success": True, "count": 1, "data": [{**LIST_ITEM, "brand_new_field": 1}]}
    client, _ = make_client(reply(200, listed), reply(200, STATUS_BODY))
    [from_list] = client.list_containers()
    from_status = client.container_status(C)
    for container in (from_list, from_status):
        assert (container.id, container.status, container.cpu_allocated) == (C, "running", 1.0)
        assert (container.memory_allocated_mb, container.storage_allocated_mb) == (1024, 10240)
        assert container.created_at == datetime(2026, 2, 25, 10, 30, tzinfo=UTC)
        assert container.raw_status == "Up 2 hours (healthy)"
    assert from_status.updated_at == datetime(2026, 2, 25, 12, tzinfo=UTC)
    assert from_status.external_access_enabled is False
    assert from_list.extra == {"brand_new_field": 1}


def test_an_unknown_status_is_kept_as_is(make_client):
    client, _ = make_client(reply(200, {**STATUS_BODY, "status": "migrating"}))
    container = client.container_status(C)
    assert container.status == "migrating"


def test_create_returns_the_pending_container_and_how_to_reach_it(make_client):
    data = {
        "id": "usr-abc12345-my-api", "name": "my-api", "template": "nodejs", "type": "nodejs",
        "plan": "basic", "status": "pending", "port": 8005, "cpu_allocated": 1,
        "memory_allocated": 1024, "storage_allocated": 10240,
        "createdAt": "2026-05-17T16:33:23.116Z", "hasWebUI": False, "sshUser": "usr-abc12345",
        "sshPort": 8005, "publicHost": "stacks.hosting", "hasSshAccess": True,
        "vpcNetwork": "vpc-usr-abc12345", "imageTag": "stackshosting/nodejs:latest",
        "version": "22", "versionMajor": "22",
    }  # fmt: skip
    client, _ = make_client(reply(202, {"success": True, "message": "being created", "data": data}))
    created = client.create_container("my-api", "nodejs")
    assert created.container.id == "usr-abc12345-my-api"
    assert created.container.status == "pending"
    assert (created.ssh_user, created.ssh_port, created.has_ssh_access) == (
        "usr-abc12345",
        8005,
        True,
    )
    assert created.container.image_tag == "stackshosting/nodejs:latest"


def test_metrics_accept_objects_and_pairs(make_client):
    body = {
        "success": True,
        "data": {
            "cpu": [{"timestamp": "2026-05-17T12:00:00Z", "value": 12.5}],
            "memory": [["2026-05-17T12:00:00Z", 300]],
            "disk": [[1779019200, 2048]],
            "network_in": [],
            "network_out": [{"timestamp": "2026-05-17T12:01:00Z", "value": "10"}],
        },
    }
    client, _ = make_client(reply(200, body))
    metrics = client.metrics(C)
    assert metrics.cpu_percent[-1].value == 12.5
    assert metrics.memory_mb[-1].value == 300.0
    assert metrics.disk_mb[-1].value == 2048.0
    assert metrics.latest_timestamp == datetime(2026, 5, 17, 12, 1, tzinfo=UTC)


def test_backups_and_stats_with_numbers_as_strings(make_client):
    backup = {
        "id": 178, "container_id": "usr-abc12345-mydb", "container_name": "mydb",
        "backup_type": "scheduled", "status": "completed", "snapshot_id": "fc26902e",
        "size_bytes": 746862, "backup_server": "cluster1host3",
        "created_at": "2026-05-17T02:00:14.000Z", "completed_at": "2026-05-17T02:00:16.000Z",
        "error_message": None, "pinned": 0,
    }  # fmt: skip
    stats = {
        "total_backups": 32, "completed_backups": "32", "failed_backups": "0",
        "total_size_bytes": "5933384", "last_backup_at": "2026-05-17T17:08:02.000Z",
    }  # fmt: skip
    client, _ = make_client(
        reply(200, {"success": True, "data": [backup]}),
        reply(200, {"success": True, "data": stats}),
    )
    [parsed] = client.backups("usr-abc12345-mydb")
    assert (parsed.id, parsed.completed, parsed.pinned, parsed.size_bytes) == (
        178,
        True,
        False,
        746862,
    )
    totals = client.backup_stats()
    assert (totals.completed_backups, totals.total_size_bytes) == (32, 5933384)


def test_backup_trigger_has_no_id_but_a_status(make_client):
    body = {"success": True, "message": "Backup started in background",
            "data": {"container_id": "usr-abc12345-mydb", "status": "in_progress"}}  # fmt: skip
    client, _ = make_client(reply(202, body))
    started = client.trigger_backup("usr-abc12345-mydb")
    assert (started.container_id, started.status) == ("usr-abc12345-mydb", "in_progress")


def test_an_empty_acknowledgement_does_not_say_what_happened(make_client):
    client, fake = make_client(httpx.Response(204))
    with pytest.raises(UnconfirmedChange) as caught:
        client.delete_backup(178)
    assert caught.value.http_status == 204 and "204" in caught.value.answer
    assert len(fake.requests) == 1  # never sent again


def test_a_metric_sample_without_a_value_is_a_gap_not_a_broken_answer(make_client):
    """Nothing measured at one moment must not cost the whole answer (and its re-reads)."""
    body = {
        "success": True,
        "data": {
            "cpu": [
                {"timestamp": "2026-05-17T12:00:00Z", "value": 12.5},
                {"timestamp": "2026-05-17T12:01:00Z", "value": None},
            ],
            "memory": [["2026-05-17T12:01:00Z", None]],
        },
    }
    client, _ = make_client(reply(200, body))
    metrics = client.metrics(C)
    assert [(s.timestamp.minute, s.value) for s in metrics.cpu_percent] == [(0, 12.5)]
    assert metrics.memory_mb == ()


def test_stats_of_an_account_without_backups_may_sum_to_null(make_client):
    """The guide's counts are SQL sums (strings); a sum over no backups is null."""
    empty = {
        "total_backups": 0, "completed_backups": None, "failed_backups": None,
        "total_size_bytes": None, "last_backup_at": None,
    }  # fmt: skip
    client, _ = make_client(
        reply(200, {"success": True, "data": empty}),
        reply(200, {"success": True, "data": {**empty, "total_backups": 3}}),
        retries=0,
    )
    totals = client.backup_stats()
    assert (totals.total_backups, totals.completed_backups, totals.total_size_bytes) == (0, 0, 0)
    with pytest.raises(StacksError, match="backup stats: no completed_backups"):
        client.backup_stats()  # with backups, a null is no count


GUIDE_BACKUP = {
    "id": 178, "container_id": "usr-abc12345-mydb", "status": "completed",
    "created_at": "2026-05-17T02:00:14.000Z", "pinned": 0,
}  # fmt: skip


@pytest.mark.parametrize(
    ("call", "body", "problem"),
    [
        (lambda c: c.backups("usr-abc12345-other"), {"success": True, "data": [GUIDE_BACKUP]},
         "the backups of usr-abc12345-other include backups of usr-abc12345-mydb"),
        (lambda c: c.backups("usr-abc12345-mydb"),
         {"success": True, "data": [{**GUIDE_BACKUP, "id": 178.9}]},
         "backup id: expected a whole number, got 178.9"),
        (lambda c: c.backups("usr-abc12345-mydb"),
         {"success": True, "data": [{**GUIDE_BACKUP, "id": 9007199254740993.0}]},
         "backup id: expected a whole number, got 9007199254740992.0"),
        (lambda c: c.backup_stats(), {"success": True, "data": {"totalBackups": 32}},
         "backup stats: no total_backups"),
    ],
    ids=["misrouted-backups", "fractional-id", "float-id", "stats-missing"],
)  # fmt: skip
def test_answers_that_cannot_be_right_are_errors_not_data(make_client, call, body, problem):
    """Another container's backups, a rounded id or zero backups would each be acted on or
    exported as if true."""
    client, _ = make_client(reply(200, body), retries=0)
    with pytest.raises(StacksError, match=re.escape(problem)):
        call(client)


def test_the_guides_container_list_example_parses_though_its_count_is_the_fleets(make_client):
    """The guide answers `"count": 3` and shows one container: count is not the list's length."""
    body = {"success": True, "count": 3, "data": [{"id": "usr-abc12345-myapp", "name": "myapp",
            "type": "nodejs", "status": "running"}]}  # fmt: skip
    client, _ = make_client(reply(200, body))
    assert [c.name for c in client.list_containers()] == ["myapp"]


def test_a_backup_id_given_as_digits_is_read_exactly(make_client):
    body = {"success": True, "data": [{**GUIDE_BACKUP, "id": "9007199254740993"}]}
    client, _ = make_client(reply(200, body))
    assert [b.id for b in client.backups("usr-abc12345-mydb")] == [9007199254740993]
