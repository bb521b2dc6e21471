"""Fixtures of the notification tests: a webhook receiver on loopback, a manual clock and
a SQLite audit store on it (a module may replace `clock`)."""

import pytest

from daemon.audit import AuditStore
from daemon.clock import ManualClock
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def store(tmp_path, clock):
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.db'}", "test:1", clock)
    yield store
    store.close()
