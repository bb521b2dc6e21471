"""Real HTTP(S) requests to the exporter's listener on 127.0.0.1, port 0."""

import base64
import logging
import socket
import ssl
import subprocess
import threading
from datetime import timedelta

import httpx
import pytest

from daemon.clock import ManualClock
from daemon.exporter import (
    Health,
    Listener,
    ListenerError,
    MetricsServer,
    SampleBudget,
    build_daemon_metrics,
    sample_snapshot,
)
from daemon.snapshot import Snapshot
from policies import PoliciesConfig, policy_options
from tests.exporter.samples import T0
from tests.support.integration import require_tool

OPTIONS = policy_options(PoliciesConfig())  # the default config's, per container
PASSWORD = "s3cret-scrape-password"
STATUS = {"containers": [{"name": "myapp", "status": "running"}], "taken_at": T0}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def health(clock) -> Health:
    return Health(clock, timedelta(seconds=30))


def make_server(clock, health, **options) -> MetricsServer:
    snapshot = sample_snapshot()
    metrics = build_daemon_metrics(lambda: snapshot, clock, SampleBudget(), lambda: OPTIONS)
    metrics.api.on_request("GET", "/containers", 200, 0.1)
    listener = Listener.of("127.0.0.1:0", **options)
    return MetricsServer(listener, metrics.registry, health, lambda: STATUS)


@pytest.fixture
def server(clock, health):
    with make_server(clock, health) as running:
        yield running


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    openssl = require_tool("openssl")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return str(cert), str(key)


def test_metrics_are_served_in_prometheus_text_format(server):
    response = httpx.get(f"{server.url}/metrics", timeout=5)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "stacks_up 1.0" in response.text
    assert 'stacks_container_status{container_id="usr-abc12345-myapp"' in response.text
    assert server.port != 0


def test_openmetrics_and_gzip_when_the_scraper_asks(server):
    response = httpx.get(
        f"{server.url}/metrics",
        headers={
            "Accept": "application/openmetrics-text; version=1.0.0",
            "Accept-Encoding": "gzip",
        },
        timeout=5,
    )

    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.headers["content-encoding"] == "gzip"
    assert response.text.endswith("# EOF\n")


def test_healthz_follows_the_heartbeat(server, clock, health):
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200

    clock.advance(60)
    stale = httpx.get(f"{server.url}/healthz", timeout=5)
    assert stale.status_code == 503
    assert "heartbeat" in stale.text

    health.beat()
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_readyz_after_the_first_poll(server, health):
    waiting = httpx.get(f"{server.url}/readyz", timeout=5)
    assert waiting.status_code == 503
    assert "first successful" in waiting.text

    health.mark_polled()
    assert httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200


def test_status_is_json_from_the_status_source(server):
    response = httpx.get(f"{server.url}/status", timeout=5)

    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "containers": [{"name": "myapp", "status": "running"}],
        "taken_at": T0.isoformat(),
    }


def test_unknown_path_is_404_and_head_has_no_body(server):
    assert httpx.get(f"{server.url}/nope", timeout=5).status_code == 404
    head = httpx.head(f"{server.url}/metrics", timeout=5)
    assert head.status_code == 200
    assert head.content == b""


def test_stop_closes_the_port_and_its_thread(clock, health):
    server = make_server(clock, health)
    server.start()
    port = server.port
    server.stop()

    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    assert "stacks-opsd-exporter" not in {thread.name for thread in threading.enumerate()}


@pytest.mark.parametrize("current", [sample_snapshot(), Snapshot()], ids=["populated", "unpolled"])
def test_rendered_metrics_pass_promtool_check_metrics(clock, health, current):
    promtool = require_tool("promtool")
    metrics = build_daemon_metrics(lambda: current, clock, SampleBudget(), lambda: OPTIONS)
    with MetricsServer(Listener.of("127.0.0.1:0"), metrics.registry, health, dict) as server:
        text = httpx.get(f"{server.url}/metrics", timeout=5).text

    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )

    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


def tls_client(cert: str, **options) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=cert), timeout=5, **options)


def test_https_with_basic_auth(clock, health, certificate, caplog):
    cert, key = certificate
    caplog.set_level(logging.DEBUG)
    server = make_server(
        clock, health, tls_cert_file=cert, tls_key_file=key, basic_auth=("prometheus", PASSWORD)
    )
    with server, tls_client(cert) as client:
        assert server.url.startswith("https://127.0.0.1:")

        anonymous = client.get(f"{server.url}/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Basic ")
        assert client.get(f"{server.url}/status").status_code == 401
        wrong = client.get(f"{server.url}/metrics", auth=("prometheus", "guess"))
        assert wrong.status_code == 401

        scraped = client.get(f"{server.url}/metrics", auth=("prometheus", PASSWORD))
        assert scraped.status_code == 200
        assert "stacks_up 1.0" in scraped.text
        assert client.get(f"{server.url}/healthz").status_code == 200

        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5)

    token = base64.b64encode(f"prometheus:{PASSWORD}".encode()).decode()
    assert PASSWORD not in repr(server) and PASSWORD not in caplog.text
    assert token not in caplog.text


def test_a_silent_client_does_not_block_tls_scrapes(clock, health, certificate):
    cert, key = certificate
    with (
        make_server(clock, health, tls_cert_file=cert, tls_key_file=key) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5),
        tls_client(cert) as client,
    ):
        assert client.get(f"{server.url}/metrics").status_code == 200


def test_bad_settings_are_refused_before_listening(certificate):
    cert, _ = certificate
    with pytest.raises(ListenerError, match="HOST:PORT"):
        Listener.of("localhost")
    with pytest.raises(ListenerError, match="both a certificate file and a key file"):
        Listener.of("127.0.0.1:0", tls_cert_file=cert)
    with pytest.raises(ListenerError, match="cannot load the TLS certificate"):
        Listener.of("127.0.0.1:0", tls_cert_file=cert, tls_key_file=cert)


def test_every_problem_is_named_with_its_setting_one_a_line(tmp_path):
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(ListenerError) as caught:
        Listener.of(
            "localhost",
            tls_cert_file=missing,
            tls_key_file=missing,
            basic_auth=("prometheus:scraper", PASSWORD),
        )
    lines = str(caught.value).splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [
        "daemon.listen",
        "daemon.tls_cert_file, daemon.tls_key_file",
        "daemon.basic_auth_user",
    ]
    assert lines[1].startswith(
        f"daemon.tls_cert_file, daemon.tls_key_file: cannot load the TLS certificate "
        f"{missing!r} with key {missing!r}: [Errno 2] No such file or directory; "
    )
    assert lines[2] == (
        "daemon.basic_auth_user: must be non-empty and must not contain ':' (basic auth puts "
        "one between the user and the password), got 'prometheus:scraper'"
    )
    assert PASSWORD not in str(caught.value)


def test_status_source_failure_is_a_500_not_a_dropped_connection(clock, health):
    def broken():
        raise RuntimeError("snapshot unavailable")

    snapshot = sample_snapshot()
    metrics = build_daemon_metrics(lambda: snapshot, clock, SampleBudget(), lambda: OPTIONS)
    with MetricsServer(Listener.of("127.0.0.1:0"), metrics.registry, health, broken) as server:
        response = httpx.get(f"{server.url}/status", timeout=5)

    assert response.status_code == 500
    assert "status failed" in response.text
