"""The exporter: collectors over the current Snapshot, API and daemon metrics, HTTP endpoints.

Collectors read whatever Snapshot the poller published last and never call the
STACKS API at scrape time. `DaemonMetrics` wires them into one registry that
`MetricsServer` serves on `daemon.listen` with `/healthz`, `/readyz` and `/status`.
"""
