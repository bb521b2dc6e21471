"""The metric-name extractor the deploy tests rely on finds metrics and nothing else."""

import pytest

from tests.deploy.promql_names import metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('stacks_container_status{status="error", name=~"a|b"} == 1', {"stacks_container_status"}),
        (
            "increase(stacks_opsd_audit_write_errors_total[10m]) > 0",
            {"stacks_opsd_audit_write_errors_total"},
        ),
        ('up{job="stacks-opsd"} == 0 or absent(up{job="stacks-opsd"})', {"up"}),
        (
            "(stacks_up == 0) unless on (instance, job) (stacks_opsd_leader == 0)",
            {"stacks_up", "stacks_opsd_leader"},
        ),
        (
            "histogram_quantile(0.95, sum by (le) (rate(x_bucket[$__rate_interval])))",
            {"x_bucket"},
        ),
        ("sum(a) without (instance) / on (job) group_left (version) b offset 1h", {"a", "b"}),
        ('time() - last_seconds{name=~"$name"} > 26 * 3600', {"last_seconds"}),
        ('label_replace(m, "dst", "$1", "src", "(.*)")', {"m"}),
        ("max_over_time(deriv(g[5m])[1h:1m]) and bool 1e3", {"g"}),
        ("vector(0)", set()),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
