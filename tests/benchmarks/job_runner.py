"""Runs benchmark jobs in fresh subprocesses, as many at a time as there are cores.

Each job is `python -m tests.benchmarks.jobs SPEC`; its stdout is one JSON
result, its stderr is kept for the error message if it fails. Both go to files,
not pipes, so a chatty job never blocks on a pipe nobody reads yet. Progress
lines go to `progress` so the table on stdout stays clean.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Job:
    label: str
    spec: dict
    result: dict | None = None
    error: str | None = None
    seconds: float = 0.0
    _process: subprocess.Popen | None = field(default=None, repr=False)
    _started: float = field(default=0.0, repr=False)


def run_jobs(jobs: list[Job], workers: int, progress: Callable[[str], None]) -> None:
    """Run `jobs` in order (longest first is best), `workers` at a time; fill their results."""
    waiting = list(enumerate(jobs))
    running: list[tuple[int, Job]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stacks-opsd-bench-jobs-") as directory:
        while waiting or running:
            while waiting and len(running) < workers:
                number, job = waiting.pop(0)
                _start(job, Path(directory) / str(number))
                running.append((number, job))
                progress(f"[{time.perf_counter() - started:4.0f} s] started {job.label}")
            time.sleep(0.2)
            for number, job in [(n, j) for n, j in running if j._process.poll() is not None]:
                running.remove((number, job))
                _finish(job, Path(directory) / str(number))
                outcome = f"failed ({job.error})" if job.error else f"done in {job.seconds:.0f} s"
                progress(f"[{time.perf_counter() - started:4.0f} s] {outcome}: {job.label}")


def _start(job: Job, output: Path) -> None:
    command = [sys.executable, "-m", "tests.benchmarks.jobs", json.dumps(job.spec)]
    job._started = time.perf_counter()
    with open(f"{output}.out", "w") as out, open(f"{output}.err", "w") as err:
        job._process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, env=_env())


def _finish(job: Job, output: Path) -> None:
    job.seconds = time.perf_counter() - job._started
    if job._process.returncode != 0:
        lines = Path(f"{output}.err").read_text().strip().splitlines()
        job.error = lines[-1] if lines else f"exit status {job._process.returncode}"
        return
    job.result = json.loads(Path(f"{output}.out").read_text().strip().splitlines()[-1])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    return env
