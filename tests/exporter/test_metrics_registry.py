"""Exported names: every metric SPEC section 9 promises, and no other stacks_ metric."""

import re

from daemon.exporter import exported_metric_names

# SPEC section 9, as a dashboard or alert rule would name them in PromQL.
SPEC_SERIES = {
    "stacks_up", "stacks_last_poll_timestamp_seconds",
    "stacks_container_info", "stacks_container_status",
    "stacks_container_cpu_allocated_cores", "stacks_container_memory_allocated_bytes",
    "stacks_container_storage_allocated_bytes", "stacks_container_created_timestamp_seconds",
    "stacks_container_cpu_usage_ratio", "stacks_container_memory_usage_bytes",
    "stacks_container_disk_usage_bytes", "stacks_container_network_receive_bytes_per_second",
    "stacks_container_network_transmit_bytes_per_second",
    "stacks_container_metrics_timestamp_seconds",
    "stacks_backup_last_success_timestamp_seconds", "stacks_backup_last_pinned_timestamp_seconds",
    "stacks_backups", "stacks_backups_pinned", "stacks_backup_last_size_bytes",
    "stacks_account_backups", "stacks_account_backup_size_bytes",
    "stacks_api_requests_total",
    "stacks_api_request_duration_seconds_bucket", "stacks_api_request_duration_seconds_count",
    "stacks_api_request_duration_seconds_sum",
    "stacks_api_ratelimit_limit", "stacks_api_ratelimit_remaining", "stacks_api_throttled_total",
    "stacks_api_spending_cap_reached", "stacks_api_scope_missing",
    "stacks_opsd_actions_total", "stacks_opsd_restart_backoff_seconds",
    "stacks_opsd_restart_gave_up", "stacks_opsd_weekly_pin_last_timestamp_seconds",
    "stacks_opsd_leader", "stacks_opsd_build_info", "stacks_opsd_audit_write_errors_total",
    "stacks_opsd_refresh_lag_seconds",
    # SPEC section 11 (round 2): notifications
    "stacks_opsd_notifications_total", "stacks_opsd_notification_lag_rows",
    "stacks_opsd_notification_last_success_timestamp_seconds",
    # SPEC section 11 (round 2), issue 12: reloading the config
    "stacks_opsd_config_last_reload_successful",
    "stacks_opsd_config_last_reload_success_timestamp_seconds",
}  # fmt: skip


def test_every_spec_metric_is_exported():
    assert SPEC_SERIES - exported_metric_names() == set()


def test_no_stacks_metric_outside_the_spec_except_created_timestamps():
    extra = {
        name
        for name in exported_metric_names()
        if name.startswith("stacks_") and name not in SPEC_SERIES
    }
    assert {re.sub(r"_created$", "", name) for name in extra} <= {
        "stacks_backup_list_timestamp_seconds",  # round 2: staleness as known at the read
        "stacks_api_requests",
        "stacks_api_request_duration_seconds",
        "stacks_opsd_actions",
        "stacks_opsd_audit_write_errors",
        "stacks_opsd_notifications",
        "stacks_opsd_hold_expiry_timestamp_seconds",  # SPEC section 11: holds
        "stacks_opsd_window_active",  # SPEC section 11: maintenance windows
        # `max_age = "26h"  # exported for alerting` (SPEC section 4), per container
        "stacks_opsd_backup_max_age_seconds",
        "stacks_opsd_weekly_pin_enabled",  # which containers StacksNoWeeklyPin expects pins of
    }
