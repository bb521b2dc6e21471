"""A sink a reload removed leaves no series behind, even when its old worker's last send
ends after the reload (its lag would fire StacksOpsdNotificationsLagging forever)."""

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest

from daemon.exporter.notification_metrics import NotificationMetrics


def test_a_removed_sink_gets_no_series_back_from_its_last_send():
    registry = CollectorRegistry()
    metrics = NotificationMetrics(registry)
    metrics.add_sink("old")
    metrics.set_lag("old", 3)
    metrics.remove_sink("old")
    # its worker's post in flight ends now
    metrics.count("old", "timeout")
    metrics.delivered("old", datetime(2026, 1, 5, tzinfo=UTC))
    metrics.set_lag("old", 1)
    assert 'sink="old"' not in generate_latest(registry).decode()

    metrics.add_sink("old")  # a later reload names it again
    metrics.set_lag("old", 2)
    assert 'stacks_opsd_notification_lag_rows{sink="old"} 2.0' in generate_latest(registry).decode()
