"""How the audit stream's delivery to each notification sink is doing: `stacks_opsd_notification*`.

Pushed by the delivery workers (daemon/notify/delivery.py) as they go:

    stacks_opsd_notifications_total{sink="ops",result="delivered"} 41.0
    stacks_opsd_notifications_total{sink="ops",result="timeout"} 3.0
    stacks_opsd_notification_lag_rows{sink="ops"} 0.0
    stacks_opsd_notification_last_success_timestamp_seconds{sink="ops"} 1.7676e+09

`result` is a DeliveryResult: delivered, timeout, unreachable, rejected (an HTTP
error status, retried, or a row refused for good and passed over), bad_answer, or
summarized (rows too old to send, counted in a summary row). Each sink's series
of every result exist from when its delivery worker is built, at 0, so that the
first summary (or failure) of a process is an increase, which `increase()` and so
StacksOpsdNotificationsSummarized see (a series' first sample is not). The
lag is the number of audit rows after the sink's cursor, as of its last pass; it
exists only while this instance leads (a standby delivers nothing and shows no lag).
"""

import contextlib
import threading
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge

from daemon.notify import DeliveryResult


class NotificationMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._total = Counter(
            "stacks_opsd_notifications",
            "Audit rows handed to a notification sink, by sink and result (delivered, timeout, "
            "unreachable, rejected, bad_answer; summarized: too old, counted in a summary).",
            ("sink", "result"),
            registry=registry,
        )
        self._lag = Gauge(
            "stacks_opsd_notification_lag_rows",
            "Audit rows not yet delivered to the sink (after its cursor), as of its last pass.",
            ("sink",),
            registry=registry,
        )
        self._last_success = Gauge(
            "stacks_opsd_notification_last_success_timestamp_seconds",
            "Unix time of the sink's last successful delivery.",
            ("sink",),
            registry=registry,
        )
        self._lock = threading.Lock()
        self._lagging: set[str] = set()
        self._removed: set[str] = set()  # sinks a reload removed (`remove_sink`)

    def add_sink(self, sink: str) -> None:
        """The sink's counter of every result, at 0 until something is counted."""
        with self._lock:
            self._removed.discard(sink)
        for result in DeliveryResult:
            self._total.labels(sink, result)

    def remove_sink(self, sink: str) -> None:
        """Every series of a sink a config reload removed (its lag would alert forever),
        for good: a send of its old worker still ending brings none back."""
        with self._lock:
            self._removed.add(sink)
            for result in DeliveryResult:
                with contextlib.suppress(KeyError):
                    self._total.remove(sink, result)
            for gauge in (self._lag, self._last_success):
                with contextlib.suppress(KeyError):
                    gauge.remove(sink)
            self._lagging.discard(sink)

    def count(self, sink: str, result: str, rows: int = 1) -> None:
        with self._lock:
            if sink not in self._removed:
                self._total.labels(sink, result).inc(rows)

    def delivered(self, sink: str, at: datetime) -> None:
        self.count(sink, "delivered")
        with self._lock:
            if sink not in self._removed:
                self._last_success.labels(sink).set(at.timestamp())

    def set_lag(self, sink: str, rows: int) -> None:
        with self._lock:
            if sink not in self._removed:
                self._lag.labels(sink).set(rows)
                self._lagging.add(sink)

    def forget_lag(self, sink: str) -> None:
        """No lag series while this instance does not deliver (a standby)."""
        with self._lock:
            if sink in self._lagging:
                self._lag.remove(sink)
                self._lagging.discard(sink)
