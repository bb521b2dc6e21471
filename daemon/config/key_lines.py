"""Where each key of a TOML file is written: the line numbers that tomli does not give.

`key_lines(text)` maps every key that is assigned a value to the 1-based line of
its assignment, by the key path the validator renders (`load.key_path`):

    [policies]                       ->  policies.weekly_pin.weekday = 2
    weekly_pin = { weekday = "friday" }
    [policies.auto_restart]          ->  policies.auto_restart.max_restarts = 4
    max_restarts = 2
    [[overrides]]                    ->  overrides[0].auto_restart.max_restarts = 6
    auto_restart.max_restarts = 2

The keys of an inline table are listed at the line they are written on (TOML
keeps an inline table on one line), and the inline tables of an array are
numbered as `[[...]]` tables are: `overrides = [{ auto_restart = { max_restarts
= 2 } }]` sets `overrides[0].auto_restart.max_restarts`.

`stacks-opsd explain` uses it to say where an effective option comes from
(`config.toml:15`). The scanner reads the text after tomli has accepted it, so it
only needs to tell table headers, keys and values apart: strings are skipped
whole (an "=" or "#" inside one is neither a key nor a comment), arrays and
inline tables are entered for the keys in them, other values are skipped. Quoted
keys are unquoted; a key it cannot read is simply not listed (explain then shows
the file without a line, never a wrong one).
"""

import re
from bisect import bisect_right

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}\r\n#]")  # a number, date or boolean ends before one
_BLANK = " \t"
_NEWLINES = "\r\n"


def key_lines(text: str) -> dict[str, int]:
    """Rendered key path -> line number (1-based) of every assignment in `text`."""
    return _Scanner(text).document()


class _Scanner:
    """One pass over a TOML text, noting the line of every key it assigns."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.found: dict[str, int] = {}
        self._line_starts = [0, *(newline.end() for newline in re.finditer("\n", text))]

    def document(self) -> dict[str, int]:
        arrays: dict[str, int] = {}  # array-of-tables path -> index of its latest element
        table = ""
        while self._skip_blank(newlines=True):
            if self._at("["):
                brackets = "[[" if self._at("[[") else "["
                self.pos += len(brackets)
                path = _render(self._key())
                if brackets == "[[":
                    arrays[path] = arrays.get(path, -1) + 1
                table = _in_arrays(path, arrays)
            else:
                self._pair(table)
            self._skip_line()
        return self.found

    def _pair(self, table: str) -> bool:
        """Note `key = value` at the cursor, within `table` (a rendered path), and the keys
        of the inline tables in its value; False when no key is there to read."""
        line = bisect_right(self._line_starts, self.pos)
        parts = self._key()
        if not parts or not self._at("="):
            return False
        path = _joined(table, _render(parts))
        self.found[path] = line
        self.pos += 1
        self._value(path)
        return True

    def _value(self, path: str) -> None:
        """Move past the value at the cursor (`path`: where it is set)."""
        self._skip_blank()
        if self._at("{"):
            self.pos += 1
            while self._skip_blank(newlines=True) and not self._at("}"):
                if not self._pair(path):
                    return
                self._skip_blank(newlines=True)
                self._skip(",")
            self._skip("}")
        elif self._at("["):
            self.pos += 1
            index = 0
            while self._skip_blank(newlines=True) and not self._at("]"):
                before = self.pos
                self._value(f"{path}[{index}]")
                if self.pos == before:
                    return
                index += 1
                self._skip_blank(newlines=True)
                self._skip(",")
            self._skip("]")
        elif self._at('"') or self._at("'"):
            self._string()
        else:
            end = _SCALAR_END.search(self.text, self.pos)
            self.pos = end.start() if end else len(self.text)

    def _key(self) -> list[str]:
        """The parts of the (dotted) key at the cursor, quotes removed; the cursor after it
        and the blanks that follow."""
        parts: list[str] = []
        while True:
            self._skip_blank()
            if self._at('"') or self._at("'"):
                start = self.pos
                self._string()
                parts.append(self.text[start + 1 : self.pos - 1])
            else:
                bare = _BARE_KEY.match(self.text, self.pos)
                if bare is None:
                    return parts
                parts.append(bare.group())
                self.pos = bare.end()
            self._skip_blank()
            if not self._skip("."):
                return parts

    def _string(self) -> None:
        """Move past the string at the cursor: basic or literal, one line or several."""
        quote = self.text[self.pos]
        multiline = self._at(quote * 3)
        self.pos += 3 if multiline else 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and quote == '"':
                self.pos += 2
            elif multiline and self._at(quote * 3):
                while self._at(quote):  # up to two quotes may end the content itself
                    self.pos += 1
                return
            elif char == quote and not multiline:
                self.pos += 1
                return
            else:
                self.pos += 1

    def _skip_blank(self, newlines: bool = False) -> bool:
        """Move past spaces, tabs and comments (and line ends when `newlines`); False at
        the end of the text."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "#":
                self._skip_line()
            elif char in _BLANK or (newlines and char in _NEWLINES):
                self.pos += 1
            else:
                return True
        return False

    def _skip_line(self) -> None:
        """Move to the end of the line (what is left of it after a value or header)."""
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end

    def _skip(self, token: str) -> bool:
        if self._at(token):
            self.pos += len(token)
            return True
        return False

    def _at(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)


def _render(parts: list[str]) -> str:
    return ".".join(part if _BARE_KEY.fullmatch(part) else f'"{part}"' for part in parts)


def _joined(table: str, key: str) -> str:
    return f"{table}.{key}" if table else key


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
