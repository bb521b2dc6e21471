"""The log of every accepted (2xx) mutating request under /api/v1: the ground truth for audits.

Each entry says how the change was answered (`answer`: "ok", or the fault that
garbled, emptied, dropped or delayed the answer; see after_apply.py), so a test
can line the log up with what the client saw. Request bodies are stored with
secret-looking fields replaced by "****".
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.simulator.after_apply import MutationAnswer

SECRET_FIELD = re.compile(r"pass|secret|token|private|credential|authorization|api_?key", re.I)
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Mutation:
    seq: int
    at: datetime
    method: str
    path: str
    status_code: int  # of the normal answer; `answer` says what the client actually got
    container_id: str | None
    backup_id: int | None
    body: Any
    answer: MutationAnswer = MutationAnswer.OK  # ok, garbage, empty204, drop, slow


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "****" if SECRET_FIELD.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str) and value.startswith("sk_stacks_"):
        return "****"
    return value


def logged_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return redact(json.loads(body))
    except (ValueError, UnicodeDecodeError):
        return f"<{len(body)} bytes, not JSON>"


class MutationLog:
    def __init__(self) -> None:
        self._entries: list[Mutation] = []

    def record(
        self,
        at: datetime,
        method: str,
        path: str,
        status: int,
        container_id: str | None,
        backup_id: int | None,
        body: bytes,
        answer: MutationAnswer = MutationAnswer.OK,
    ) -> None:
        entry = Mutation(
            len(self._entries) + 1,
            at,
            method,
            path,
            status,
            container_id,
            backup_id,
            logged_body(body),
            MutationAnswer(answer),
        )
        self._entries.append(entry)

    def entries(self) -> list[Mutation]:
        return list(self._entries)
