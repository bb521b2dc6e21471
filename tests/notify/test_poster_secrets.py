"""What a receiver answers is shown without the sink's own secrets, and sink settings that
cannot work are refused with a message naming the key, not a traceback.

A receiver that refuses a request may echo it: its headers (the `Authorization` value
read from `headers_files`) and its URL (an incoming webhook's token). `notify test`
prints the answer, and the delivery worker logs it with every retry.
"""

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from daemon.clock import ManualClock
from daemon.notify import (
    HttpPoster,
    NotifyConfig,
    SinkConfigError,
    SinkRejected,
    SinkUnreachable,
    build_sink,
    sample_notification,
)
from tests.support.processes import command, free_port

HEADER_TOKEN = "hdr-Secret-Token-9876"
PATH_TOKEN = "abcdefghijklmnopqrstuvwx"
URL_PASSWORD = "Hook-Passw0rd-777"


@pytest.fixture
def echoing_receiver():
    """Answers every POST (and GET) with 401 and the request it got: headers, path, and all."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            echo = {"error": "unauthorized", "path": self.path, "headers": dict(self.headers)}
            body = json.dumps(echo).encode()
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def notify_test(config) -> subprocess.CompletedProcess:
    return subprocess.run(
        command("--config", str(config), "notify", "test"),
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def write_sink(tmp_path, url: str, header: str, kind: str = "webhook"):
    (tmp_path / "auth").write_text(header + "\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[[notify]]
name = "hook"
kind = "{kind}"
url = "{url}"
headers_files = {{ Authorization = "auth" }}
""",
        encoding="utf-8",
    )
    return config


def test_notify_test_prints_a_refusal_without_the_echoed_header_or_url_token(
    tmp_path, echoing_receiver
):
    url = echoing_receiver.replace("//", f"//hookuser:{URL_PASSWORD}@")
    config = write_sink(
        tmp_path, f"{url}/services/T0AAAAAAA/B0BBBBBBB/{PATH_TOKEN}", f"Bearer {HEADER_TOKEN}"
    )
    done = notify_test(config)
    assert done.returncode == 1, done.stderr
    assert "hook (webhook): FAILED (rejected)" in done.stdout
    assert "HTTP 401" in done.stdout and "unauthorized" in done.stdout
    shown = done.stdout + done.stderr
    assert [s for s in (HEADER_TOKEN, PATH_TOKEN, URL_PASSWORD) if s in shown] == []


@pytest.mark.parametrize("kind", ["webhook", "slack", "alertmanager"])
def test_a_refusal_the_worker_retries_carries_no_header_value(echoing_receiver, tmp_path, kind):
    (tmp_path / "auth").write_text(f"Bearer {HEADER_TOKEN}\n")
    sink = build_sink(
        NotifyConfig(
            name="hook",
            kind=kind,
            url=f"{echoing_receiver}/services/T0AAAAAAA/B0BBBBBBB/{PATH_TOKEN}",
            headers_files={"Authorization": str(tmp_path / "auth")},
        )
    )
    try:
        with pytest.raises(SinkRejected) as caught:
            sink.send(sample_notification(ManualClock().now(), "test:1"))
    finally:
        sink.close()
    error = caught.value
    assert error.status == 401 and "unauthorized" in error.answer
    for text in (str(error), error.answer):
        assert HEADER_TOKEN not in text and PATH_TOKEN not in text


def test_reading_alerts_back_shows_a_refusal_without_the_echoed_header_or_url_token(
    echoing_receiver,
):
    url = echoing_receiver.replace("//", f"//amuser:{URL_PASSWORD}@")
    poster = HttpPoster(
        f"{url}/{PATH_TOKEN}/api/v2/alerts", 5, {"Authorization": f"Bearer {HEADER_TOKEN}"}
    )
    try:
        with pytest.raises(SinkRejected) as caught:
            poster.get([("filter", 'alertname="StacksOpsdBackupStale"')])
    finally:
        poster.close()
    error = caught.value
    assert error.status == 401 and "unauthorized" in error.answer
    for text in (str(error), error.answer):
        assert [s for s in (HEADER_TOKEN, PATH_TOKEN, URL_PASSWORD) if s in text] == []


def test_a_header_file_that_is_not_ascii_is_refused_naming_the_file_not_its_value(tmp_path):
    config = write_sink(tmp_path, "http://127.0.0.1:9/hook", "Bearer hdr-Secret-Tökén-9876")
    done = notify_test(config)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"stacks-opsd: notification sink hook: headers_files.Authorization: {tmp_path / 'auth'} "
        "holds a character an HTTP header cannot carry (character 20 is not printable ASCII); "
        "write the value in ASCII, encoded as the receiver expects (relative paths start at "
        "the config file)"
    )
    assert "Tökén" not in done.stdout + done.stderr


def test_building_the_sink_reports_a_header_with_a_control_character(tmp_path):
    (tmp_path / "auth").write_text("Bearer abc\x7fdef\n")
    settings = NotifyConfig(
        name="hook",
        kind="webhook",
        url="http://127.0.0.1:9/hook",
        headers_files={"X-Token": str(tmp_path / "auth")},
    )
    with pytest.raises(SinkConfigError, match=r"headers_files.X-Token: .* \(character 11 is not"):
        build_sink(settings)


@pytest.mark.parametrize("kind", ["webhook", "slack", "alertmanager"])
def test_a_host_that_is_not_valid_punycode_is_a_sink_error_without_the_url_path(kind):
    sink = build_sink(
        NotifyConfig(name="hook", kind=kind, url=f"https://xn--zz.example.com/hook/{PATH_TOKEN}")
    )
    try:
        with pytest.raises(SinkUnreachable) as caught:
            sink.send(sample_notification(ManualClock().now(), "test:1"))
    finally:
        sink.close()
    assert str(caught.value) == (
        "https://xn--zz.example.com/... has a host name that cannot be used (Invalid A-label); "
        "check the url's host: an xn-- label must be valid punycode"
    )


def test_check_config_and_notify_test_refuse_a_host_that_is_not_valid_punycode(tmp_path):
    config = write_sink(tmp_path, f"https://xn--zz.example.com/hook/{PATH_TOKEN}", "Bearer x")
    expected = [
        "stacks-opsd: config.toml: notify[0].url: expected an http:// or https:// URL whose "
        'host is a valid name (xn-- labels in punycode) (kind "webhook" posts to it), '
        'got "https://xn--zz.example.com/..."'
    ]
    for args in (("check-config",), ("notify", "test")):
        done = subprocess.run(
            command("--config", str(config), *args),
            capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/bin:/bin", "STACKS_API_KEY": "sk_stacks_" + "ab" * 32},
        )  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.splitlines() == expected
        assert PATH_TOKEN not in done.stdout + done.stderr


def test_check_config_refuses_an_out_of_range_port_and_a_header_name_with_a_space(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[api]
base_url = "http://127.0.0.1:{free_port()}/api/v1"

[[notify]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:99999/x"
headers_files = {{ "X Token" = "token" }}
"""
    )
    done = subprocess.run(
        command("--config", str(config), "check-config"),
        capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "STACKS_API_KEY": "sk_stacks_" + "ab" * 32},
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "stacks-opsd: config.toml: notify[0].url: expected an http:// or https:// URL with a "
        'host and, if any, a port from 1 to 65535 (kind "webhook" posts to it), '
        'got "http://127.0.0.1:99999/..."',
        "stacks-opsd: config.toml: notify[0].headers_files: expected HTTP header names "
        '(letters, digits and !#$%&\'*+-.^_`|~, no spaces) as its keys, got ["X Token"]',
    ]
