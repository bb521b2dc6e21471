"""Where each key of a TOML file is written: the line numbers that tomli does not give.

`key_lines(text)` maps every key that is assigned a value to the 1-based line of
its assignment, by the key path the validator renders (`load.key_path`):

    [policies.auto_restart]          ->  policies.auto_restart.max_restarts = 12
    max_restarts = 2
    [[overrides]]                    ->  overrides[0].auto_restart.max_restarts = 15
    auto_restart.max_restarts = 2

`stacks-opsd explain` uses it to say where an effective option comes from
(`config.toml:15`). The scanner reads the file line by line after tomli has
accepted it, so it only needs to recognise table headers and `key =` lines; the
continuation lines of multi-line arrays, inline tables and multi-line strings
are skipped. Quoted keys are unquoted; a key it cannot read is simply not listed
(explain then shows the file without a line, never a wrong one).
"""

import re

_HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGNMENT = re.compile(
    r"\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)
_KEY_PART = re.compile(r"[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key_lines(text: str) -> dict[str, int]:
    """Rendered key path -> line number (1-based) of every assignment in `text`."""
    found: dict[str, int] = {}
    arrays: dict[str, int] = {}  # array-of-tables path -> index of its latest element
    table = ""
    depth = 0  # open brackets/braces of a value that continues on the next lines
    in_string: str | None = None  # the delimiter of an open multi-line string
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        if depth > 0:
            depth = max(depth + _balance(line), 0)
            continue
        header = _HEADER.match(line)
        if header is not None:
            path = _render(_parts(header.group(2)))
            if header.group(1) == "[[":
                arrays[path] = arrays.get(path, -1) + 1
            table = _in_arrays(path, arrays)
            continue
        assignment = _ASSIGNMENT.match(line)
        if assignment is None:
            continue
        key = _render(_parts(assignment.group(1)))
        found[f"{table}.{key}" if table else key] = number
        value = line[assignment.end() :]
        for delimiter in ('"""', "'''"):
            if value.count(delimiter) % 2 == 1:
                in_string = delimiter
        if in_string is None:
            depth = max(_balance(value), 0)
    return found


def _parts(dotted: str) -> list[str]:
    return [part.strip("\"'") for part in _KEY_PART.findall(dotted)]


def _render(parts: list[str]) -> str:
    return ".".join(part if _BARE_KEY.fullmatch(part) else f'"{part}"' for part in parts)


def _in_arrays(path: str, arrays: dict[str, int]) -> str:
    """`overrides.auto_restart` -> `overrides[2].auto_restart` inside the third [[overrides]]."""
    parts = path.split(".")
    rendered = ""
    for index, part in enumerate(parts):
        rendered = f"{rendered}.{part}" if rendered else part
        prefix = ".".join(parts[: index + 1])
        if prefix in arrays:
            rendered += f"[{arrays[prefix]}]"
    return rendered


def _balance(text: str) -> int:
    """Opened minus closed brackets and braces outside strings and comments."""
    balance, quote = 0, None
    for char in text:
        if quote is not None:
            if char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char in "[{":
            balance += 1
        elif char in "]}":
            balance -= 1
    return balance
