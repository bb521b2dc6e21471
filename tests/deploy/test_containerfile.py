"""The Containerfile builds a slim, non-root image that runs `stacks-opsd run` with a health check.

No container engine runs here or in CI (the docker client has no daemon to talk to), so
`docker build` cannot be a test: the instructions are parsed and checked instead.
"""

import json
import shlex
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPO / "deploy" / "container" / "Containerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined."""
    joined, parts = [], []
    for line in CONTAINERFILE.read_text().splitlines():
        stripped = line.strip()
        if not parts and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            parts.append(stripped[:-1].strip())
            continue
        parts.append(stripped)
        joined.append(" ".join(parts))
        parts = []
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in joined]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (name, _) in enumerate(steps) if name == "FROM")
    return steps[last_from:]


def only(stage: list[tuple[str, str]], name: str) -> str:
    (value,) = [args for instruction, args in stage if instruction == name]
    return value


def test_multi_stage_with_a_slim_runtime() -> None:
    froms = [args for name, args in instructions() if name == "FROM"]
    assert len(froms) == 2
    assert froms[-1] == "python:3.11-slim"
    assert only(final_stage(), "COPY").startswith("--from=builder ")


def test_runs_as_the_non_root_user_10001() -> None:
    user = only(final_stage(), "USER")
    assert user.split(":")[0] == "10001"
    assert "--uid 10001" in only(final_stage(), "RUN")


def test_entrypoint_runs_the_daemon_with_its_config() -> None:
    entrypoint = json.loads(only(final_stage(), "ENTRYPOINT"))
    command = json.loads(only(final_stage(), "CMD"))
    assert entrypoint + command == [
        "stacks-opsd",
        "--config",
        "/etc/stacks-opsd/config.toml",
        "run",
    ]


def test_healthcheck_asks_healthz_on_the_exposed_port_without_curl() -> None:
    port = only(final_stage(), "EXPOSE")
    assert port == "9847"
    healthcheck = only(final_stage(), "HEALTHCHECK")
    options, command = healthcheck.split(" CMD ", 1)
    assert "--interval=" in options
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"]
    assert f"http://127.0.0.1:{port}/healthz" in argv[2]
    compile(argv[2], "HEALTHCHECK", "exec")


def test_build_copies_only_files_that_exist() -> None:
    for name, args in instructions():
        if name == "COPY" and not args.startswith("--from="):
            *sources, _destination = shlex.split(args)
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: not in the build context"
