"""Conformance: the real `stacks-opsd simulator` process, driven by the guide's own curl examples.

At test time this reads ../shared/stacks-api-guide.txt (beside the clone), runs
every curl example with the real curl binary (base URL, key and ids substituted),
calls every other documented endpoint, and compares each answer with the guide's
JSON example by keys and JSON types. The "Common Error Responses" bodies must
match exactly.
"""

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.simulator.guide import (
    GUIDE_BASE_URL,
    curl_examples,
    endpoints,
    error_examples,
    guide_path,
    shape_errors,
)
from tests.support.integration import require, require_tool

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]


def start_simulator() -> tuple[subprocess.Popen, str, str]:
    """The simulator as a user starts it; returns (process, base URL of the API, key)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "daemon", "simulator", "--listen", "127.0.0.1:0", "--seed", "5"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()
    api_url = key = None
    deadline = time.monotonic() + 20
    while (api_url is None or key is None) and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        found_url = re.search(r"(http://127\.0\.0\.1:\d+/api/v1)", line)
        found_key = re.search(r"api key: (sk_stacks_[0-9a-f]{64})", line)
        api_url = api_url or (found_url and found_url.group(1))
        key = key or (found_key and found_key.group(1))
    if api_url is None or key is None:
        process.kill()
        pytest.fail("`stacks-opsd simulator` did not print its URL and API key within 20 s")
    return process, api_url, key


class Session:
    """Runs curl against the simulator and keeps the ids the examples refer to."""

    def __init__(self, curl: str, api_url: str, key: str, tmp: Path) -> None:
        self.curl, self.api_url, self.key, self.tmp = curl, api_url, key, tmp
        self.root = api_url.removesuffix("/api/v1")
        self.http = httpx.Client(base_url=self.root, timeout=10)
        self.auth = {"Authorization": f"Bearer {key}"}
        self.ids: dict[str, str] = {}

    def seed(self, name: str, template: str) -> str:
        answer = self.http.post(
            "/_sim/containers", json={"key": self.key, "name": name, "template": template}
        )
        assert answer.status_code == 200, answer.text
        self.ids[name] = answer.json()["id"]
        return self.ids[name]

    @property
    def account(self) -> str:
        return self.ids["myapp"].split("-")[1]

    def advance(self, seconds: float = 20) -> None:
        self.http.post("/_sim/clock/advance", json={"seconds": seconds}).raise_for_status()

    def api_get(self, path: str) -> dict:
        answer = self.http.get(f"/api/v1{path}", headers=self.auth)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def newest_completed_backup(self) -> str:
        listed = self.api_get(f"/containers/{self.ids['mydb']}/backups")["data"]
        return str(next(b["id"] for b in listed if b["status"] == "completed"))

    def substitute(self, text: str, key: str | None = None) -> str:
        text = text.replace(GUIDE_BASE_URL, self.api_url).replace(
            "sk_stacks_YOUR_KEY", key or self.key
        )
        text = text.replace("usr-abc12345-", f"usr-{self.account}-").replace(
            "usr-YOUR_ID-", f"usr-{self.account}-"
        )
        if "BACKUP_ID" in text:
            text = text.replace("BACKUP_ID", self.newest_completed_backup())
        return text

    def run(self, argv: list[str], key: str | None = None) -> tuple[int, object]:
        body_file, head_file = self.tmp / "body", self.tmp / "head"
        command = [self.curl, "-sS", "--max-time", "10", "-o", str(body_file), "-D", str(head_file),
                   "-w", "%{http_code}", *(self.substitute(arg, key) for arg in argv)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
        assert done.returncode == 0, f"curl failed: {done.stderr}"
        headers = head_file.read_text().lower()
        for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            assert f"\n{name}: " in headers, f"{name} missing from the answer to {argv}"
        return int(done.stdout), json.loads(body_file.read_text())


def synthesized(endpoint, session: Session) -> list[str]:
    """A curl command line for a documented endpoint that has no curl example."""
    ids = session.ids

    def container_for(_: re.Match) -> str:
        if endpoint.method == "DELETE" and endpoint.template == "/containers/{container_id}":
            return ids["scratch"]
        uses_mydb = "backup" in endpoint.template or "{ip_id}" in endpoint.template
        return ids["mydb"] if uses_mydb else ids["myapp"]

    path = endpoint.line_path
    path = path.replace("{vpn_container_id}", ids["office-vpn"]).replace(
        "{client_name}", "my-laptop"
    )
    if "{ip_id}" in path:
        listed = session.api_get(f"/containers/{ids['mydb']}/allowed-ips")["data"]["allowed_ips"]
        path = path.replace("{ip_id}", listed[-1]["id"])
    if "{connection_id}" in path:
        outgoing = session.api_get(f"/containers/{ids['myapp']}/connections")["data"]["outgoing"]
        path = path.replace("{connection_id}", outgoing[0]["id"])
    path = path.replace("{backup_id}", "BACKUP_ID")
    path = path.replace("{source_id}", ids["myapp"]).replace("{target_id}", ids["myredis"])
    path = re.sub(r"\{container_id\}", container_for, path)
    argv = ["-X", endpoint.method, "-H", "Authorization: Bearer sk_stacks_YOUR_KEY"]
    if endpoint.request_body is not None:
        argv += ["-H", "Content-Type: application/json", "-d", json.dumps(endpoint.request_body)]
    return [*argv, GUIDE_BASE_URL + path]


def test_guide_examples_against_the_real_simulator(tmp_path):
    guide = guide_path(REPO_ROOT)
    require(guide.exists(), f"the STACKS API guide at {guide}")
    curl = require_tool("curl")
    text = guide.read_text(encoding="utf-8")
    documented = endpoints(text)
    process, api_url, key = start_simulator()
    try:
        session = Session(curl, api_url, key, tmp_path)
        for name, template in [("myapp", "nodejs"), ("mydb", "postgresql"), ("myredis", "redis"),
                               ("scratch", "ubuntu"), ("office-vpn", "stacks-vpn")]:  # fmt: skip
            session.seed(name, template)
        connect = f"/api/v1/containers/{session.ids['myapp']}/connect/{session.ids['mydb']}"
        assert session.http.post(connect, headers=session.auth).status_code == 200
        problems: list[str] = []
        exercised: set[tuple[str, str]] = set()

        def check(label: str, argv: list[str], method: str, path: str) -> None:
            session.advance()
            status, body = session.run(argv)
            endpoint = next((e for e in documented if e.matches(method, path)), None)
            if not 200 <= status < 300:
                problems.append(f"{label}: HTTP {status} {body}")
                return
            if endpoint is None:
                problems.append(f"{label}: no documented endpoint matches {method} {path}")
                return
            exercised.add((endpoint.method, endpoint.template))
            if endpoint.status and status != endpoint.status:
                problems.append(f"{label}: HTTP {status}, the guide says {endpoint.status}")
            problems.extend(f"{label}: {e}" for e in shape_errors(endpoint.response, body))

        examples = curl_examples(text)
        assert len(examples) >= 15, "the guide's curl examples were not found"
        for example in examples:
            check(f"curl {example.method} {example.path}", example.argv, example.method,
                  session.substitute(example.path))  # fmt: skip
        for endpoint in documented:
            if (endpoint.method, endpoint.template) not in exercised:
                argv = synthesized(endpoint, session)
                path = session.substitute(argv[-1]).removeprefix(api_url).split("?")[0]
                check(f"{endpoint.method} {endpoint.line_path}", argv, endpoint.method, path)
        assert not problems, "\n".join(problems)
        assert {(e.method, e.template) for e in documented} <= exercised
        check_error_bodies(session, error_examples(text))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=10) == 0, "the simulator did not exit 0 on SIGTERM"
        finally:
            process.kill()


def check_error_bodies(session: Session, examples: dict) -> None:
    """Each "Common Error Responses" body, provoked for real and compared exactly."""
    expected = {
        "Invalid API key",
        "Insufficient scope",
        "Spending cap exceeded",
        "Name validation error",
        "Endpoint blocked for API keys",
    }
    assert set(examples) == expected, f"the guide's error examples changed: {sorted(examples)}"
    app = session.ids["myapp"]
    auth = ["-H", "Authorization: Bearer sk_stacks_YOUR_KEY"]
    url = GUIDE_BASE_URL

    def create(name: str, template: str, plan: str, key: str) -> tuple[int, object]:
        payload = json.dumps({"name": name, "template": template, "plan": plan})
        argv = [
            "-X",
            "POST",
            *auth,
            "-H",
            "Content-Type: application/json",
            "-d",
            payload,
            f"{url}/containers",
        ]
        return session.run(argv, key)

    assert session.run([*auth, f"{url}/containers"], "sk_stacks_" + "0" * 64) == (
        401,
        examples["Invalid API key"],
    )

    scoped = examples["Insufficient scope"]
    limited = session.http.post("/_sim/keys", json={"scopes": scoped["key_scopes"]}).json()["key"]
    limited_app = session.http.post(
        "/_sim/containers", json={"key": limited, "name": "victim", "template": "nodejs"}
    ).json()["id"]
    assert session.run(["-X", "DELETE", *auth, f"{url}/containers/{limited_app}"], limited) == (
        403,
        scoped,
    )

    capped = session.http.post("/_sim/keys", json={"spending_cap": 10}).json()["key"]
    up_to_the_cap = [
        ("one", "nodejs", "basic"),
        ("two", "python", "basic"),
        ("three", "ubuntu-micro", "micro"),
        ("four", "nginx-micro", "micro"),
    ]
    for name, template, plan in up_to_the_cap:
        assert create(name, template, plan, capped)[0] == 202
    assert create("five", "nodejs", "basic", capped) == (402, examples["Spending cap exceeded"])

    assert create("a" * 33, "nodejs", "basic", session.key) == (
        400,
        examples["Name validation error"],
    )

    json_body = ["-H", "Content-Type: application/json", "-d", '{"plan":"premium"}']
    blocked = ["-X", "PUT", *auth, *json_body, f"{url}/containers/{app}/resize"]
    assert session.run(blocked) == (403, examples["Endpoint blocked for API keys"])
