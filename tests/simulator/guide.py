"""Reads the STACKS API guide's examples: curl commands, endpoint lines, documented JSON answers.

The conformance test runs these against the simulator, so a guide edit is checked
without anyone copying examples into the tests by hand.
"""

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GUIDE_BASE_URL = "https://api.stackshosting.cloud/api/v1"
ENDPOINT_LINE = re.compile(r"^(GET|POST|PUT|DELETE) (/\S+)$", re.M)
RESPONSE_LINE = re.compile(r"^Response[^\n]*:$", re.M)
REQUEST_BODY_LINE = re.compile(r"^Request body[^\n]*:$", re.M)


@dataclass(frozen=True)
class Endpoint:
    method: str
    line_path: str  # as written, e.g. /containers/{container_id}/logs?lines=100
    request_body: Any  # the documented request body, if any
    response: Any  # the documented JSON answer, if any
    status: int | None  # e.g. 202 from "Response (202 Accepted):"

    @property
    def template(self) -> str:
        return self.line_path.split("?")[0]

    def matches(self, method: str, path: str) -> bool:
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(self.template))
        return method == self.method and re.fullmatch(pattern, path) is not None


@dataclass(frozen=True)
class CurlExample:
    argv: list[str]  # without the leading "curl"
    method: str
    path: str  # below the base URL


def guide_path(repo_root: Path) -> Path:
    return repo_root.parent / "shared" / "stacks-api-guide.txt"


def _json_after(text: str, start: int) -> Any:
    """The JSON value starting at the first `{` after `start` (`[...]` read as an empty list)."""
    brace = text.index("{", start)
    cleaned = text[brace:].replace("[...]", "[]")
    value, _ = json.JSONDecoder().raw_decode(cleaned)
    return value


def endpoints(text: str) -> list[Endpoint]:
    """Every `METHOD /path` line with the request body and response documented in its section."""
    heads = list(ENDPOINT_LINE.finditer(text))
    found = []
    for index, head in enumerate(heads):
        end = heads[index + 1].start() if index + 1 < len(heads) else len(text)
        section = text[head.end() : end]
        body = REQUEST_BODY_LINE.search(section)
        response = RESPONSE_LINE.search(section)
        status = re.search(r"\((\d{3})", response.group()) if response else None
        found.append(
            Endpoint(
                method=head.group(1),
                line_path=head.group(2),
                request_body=_json_after(section, body.end()) if body else None,
                response=_json_after(section, response.end()) if response else None,
                status=int(status.group(1)) if status else None,
            )
        )
    return found


def curl_examples(text: str) -> list[CurlExample]:
    lines = text.splitlines()
    examples = []
    for index, line in enumerate(lines):
        if not line.startswith("curl "):
            continue
        parts = [line]
        while parts[-1].rstrip().endswith("\\"):
            index += 1
            parts.append(lines[index])
        command = " ".join(part.rstrip().removesuffix("\\") for part in parts)
        argv = shlex.split(command)[1:]
        url = next(arg for arg in argv if arg.startswith(GUIDE_BASE_URL))
        method = argv[argv.index("-X") + 1] if "-X" in argv else ("POST" if "-d" in argv else "GET")
        examples.append(CurlExample(argv, method, url.removeprefix(GUIDE_BASE_URL).split("?")[0]))
    return examples


def error_examples(text: str) -> dict[str, Any]:
    """The "Common Error Responses" bodies by their label (e.g. "Invalid API key")."""
    start = text.index("Common Error Responses")
    end = text.index("Common Workflows", start)
    section = text[start:end]
    return {
        label.group(1): _json_after(section, label.end())
        for label in re.finditer(r"^([A-Z][^\n{]*):$", section, re.M)
    }


def shape_errors(documented: Any, actual: Any, where: str = "$") -> list[str]:
    """How `actual` differs from the documented example by keys and JSON types (null: any)."""
    if documented is None:
        return []
    kind = _json_type(documented)
    if _json_type(actual) != kind:
        return [f"{where}: documented {kind}, got {_json_type(actual)} {actual!r:.60}"]
    if kind == "object":
        errors = []
        for name, value in documented.items():
            if name not in actual:
                errors.append(f"{where}.{name}: missing")
            else:
                errors.extend(shape_errors(value, actual[name], f"{where}.{name}"))
        return errors
    if kind == "array" and documented:
        if not actual:
            return [f"{where}: documented a non-empty array, got []"]
        return [
            e
            for i, item in enumerate(actual)
            for e in shape_errors(documented[0], item, f"{where}[{i}]")
        ]
    return []


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", dict: "object", list: "array", type(None): "null"}.get(type(value), "?")
