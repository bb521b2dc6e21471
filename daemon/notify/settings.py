"""The `[[notify]]` tables: one NotifyConfig per sink, its defaults, rules and row filters.

    [[notify]]
    name = "ops-webhook"                  # the `sink` label of the metrics; unique
    kind = "webhook"                      # webhook | slack | alertmanager | jsonl
    url = "https://hooks.example.org/stacks-opsd"   # webhook, slack, alertmanager
    path = ""                             # jsonl: a file, or "-" for stdout
    secret_file = ""                      # webhook: HMAC secret for X-Stacks-Opsd-Signature
    headers_files = {}                    # header name -> file holding its value
    timeout = "10s"                       # per delivery attempt
    actors = ["*"]                        # globs of the `actor` column, e.g. "policy:*"
    actions = ["*"]                       # globs of the `action` column, e.g. "backup.*"
    outcomes = ["*"]                      # outcome names, or "*"
    match = ["*"]                         # container name globs
    summarize_after = "24h"               # older undelivered rows: one audited summary
    generator_url = ""                    # alertmanager: the alerts' link; "" = this daemon's
                                          # /status, from daemon.listen and its TLS setting

A row reaches the sink when every filter matches it; an empty filter is refused (it
would let nothing through). A row about no container passes `match`. An alertmanager
sink takes `match` only: the rows that clear its alerts must all reach it. A summary of
this sink's own skipped rows (`notify.summary` with this sink's name as target) always
passes, so nothing is skipped unnoticed.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from daemon.audit import ACTIONS, OUTCOMES, AuditAction
from daemon.secrets import mask_url_password, mask_url_path
from policies import OptionRule, positive_duration, unique_names

SINK_KINDS = ("webhook", "slack", "alertmanager", "jsonl")
URL_KINDS = ("webhook", "slack", "alertmanager")
STDOUT = "-"
SINK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
ROW_FILTERS = ("actors", "actions", "outcomes", "match")  # a row must match each of them
# An HTTP header name (RFC 9110's token): what a `headers_files` key must be.
HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


def _url_problem(value: str) -> str | None:
    """What a URL to post to lacks, as the "expected ..." of a config error; None if usable."""
    bad_port = "an http:// or https:// URL with a host and, if any, a port from 1 to 65535"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # a port that is no number from 0 to 65535, an unclosed [IPv6
        return bad_port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "an http:// or https:// URL"
    if port == 0:
        return bad_port
    if " " in value or not value.isprintable():
        return "an http:// or https:// URL with any space percent-encoded as %20"
    try:
        _ = httpx.URL(value).host  # decoded as the poster's httpx decodes it
    except (httpx.InvalidURL, ValueError):  # idna's IDNAError is a ValueError
        return "an http:// or https:// URL whose host is a valid name (xn-- labels in punycode)"
    return None


def _generator_url_fits(settings: "NotifyConfig") -> bool:
    if not settings.generator_url:
        return True
    return settings.kind == "alertmanager" and _url_problem(settings.generator_url) is None


def _known_globs(values: tuple[str, ...], known: tuple[str, ...]) -> bool:
    return all(any(fnmatchcase(name, glob) for name in known) for glob in values)


@dataclass(frozen=True)
class NotifyConfig:
    name: str = ""
    kind: str = ""
    url: str = ""
    path: str = ""
    secret_file: str = ""
    headers_files: dict[str, str] = field(default_factory=dict)
    timeout: timedelta = timedelta(seconds=10)
    actors: tuple[str, ...] = ("*",)
    actions: tuple[str, ...] = ("*",)
    outcomes: tuple[str, ...] = ("*",)
    match: tuple[str, ...] = ("*",)
    summarize_after: timedelta = timedelta(hours=24)
    generator_url: str = ""

    def files_read(self) -> tuple[str, ...]:
        """The files the sink reads when it is built (its secret and header values)."""
        return tuple(path for path in (self.secret_file, *self.headers_files.values()) if path)

    RULES: ClassVar[tuple[OptionRule, ...]] = (
        OptionRule(
            "name",
            lambda s: bool(SINK_NAME.fullmatch(s.name)),
            "a sink name of letters, digits, '_', '.' and '-' (it is a metric label)",
        ),
        OptionRule(
            "kind",
            lambda s: s.kind in SINK_KINDS,
            "one of " + ", ".join(f'"{kind}"' for kind in SINK_KINDS),
        ),
        OptionRule(
            "url",
            lambda s: _url_problem(s.url) is None if s.kind in URL_KINDS else not s.url,
            lambda s: (
                f'{_url_problem(s.url)} (kind "{s.kind}" posts to it)'
                if s.kind in URL_KINDS
                else f'no url (kind "{s.kind}" writes to `path`)'
            ),
            needs=("kind",),
            shown_as=mask_url_path,  # an incoming webhook's path is its secret
        ),
        OptionRule(
            "path",
            lambda s: bool(s.path) if s.kind == "jsonl" else not s.path,
            lambda s: (
                'a file path, or "-" for standard output'
                if s.kind == "jsonl"
                else f'no path (kind "{s.kind}" posts to `url`)'
            ),
            needs=("kind",),
        ),
        OptionRule(
            "secret_file",
            lambda s: not s.secret_file or s.kind == "webhook",
            "no secret_file (only a webhook signs its requests)",
            needs=("kind",),
        ),
        OptionRule(
            "headers_files",
            lambda s: not s.headers_files or s.kind in URL_KINDS,
            "no headers_files (a JSON-lines file has no headers)",
            needs=("kind",),
        ),
        OptionRule(
            "headers_files",
            lambda s: all(HEADER_NAME.fullmatch(name) for name in s.headers_files),
            "HTTP header names (letters, digits and !#$%&'*+-.^_`|~, no spaces) as its keys",
            shown_as=lambda files: list(files),
        ),
        positive_duration("timeout"),
        *(
            OptionRule(
                row_filter,
                lambda s, row_filter=row_filter: bool(getattr(s, row_filter)),
                f'at least one name or glob, like ["*"] (the default): with none, no row '
                f"{'about a container ' if row_filter == 'match' else ''}reaches the sink",
            )
            for row_filter in ROW_FILTERS
        ),
        OptionRule(
            "actions",
            lambda s: _known_globs(s.actions, ACTIONS),
            "action names or globs matching at least one of " + ", ".join(ACTIONS),
        ),
        OptionRule(
            "outcomes",
            lambda s: _known_globs(s.outcomes, OUTCOMES),
            'outcome names or "*"; outcomes: ' + ", ".join(OUTCOMES),
        ),
        *(
            OptionRule(
                row_filter,
                lambda s, row_filter=row_filter: (
                    s.kind != "alertmanager" or getattr(s, row_filter) == ("*",)
                ),
                '["*"] for an alertmanager sink: its alerts are cleared by later rows (a '
                "start, a success), which a filter would hide, leaving the alert firing; "
                "`match` picks the containers",
                needs=("kind",),
            )
            for row_filter in ("actors", "actions", "outcomes")
        ),
        positive_duration("summarize_after"),
        OptionRule(
            "generator_url",
            _generator_url_fits,
            lambda s: (
                f'{_url_problem(s.generator_url)}, or "" for this daemon\'s /status'
                if s.kind == "alertmanager"
                else "no generator_url (only an alertmanager sink links its alerts)"
            ),
            needs=("kind",),
            shown_as=mask_url_password,
        ),
    )

    def wants(self, row: Any) -> bool:
        """Whether this sink receives the audit row (anything with the audit columns)."""
        if row.action == AuditAction.NOTIFY_SUMMARY and row.target == self.name:
            return True
        container = row.container_name or row.container_id
        return (
            _any_glob(row.actor, self.actors)
            and _any_glob(row.action, self.actions)
            and _any_glob(row.outcome, self.outcomes)
            and (container is None or self.wants_container(container))
        )

    def wants_container(self, container: str) -> bool:
        """Whether `match` lets through what is about the container (its name, or its id)."""
        return _any_glob(container, self.match)


def _any_glob(value: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatchcase(value, glob) for glob in globs)


NOTIFY_RULES: tuple[OptionRule, ...] = (
    unique_names("notify", "[[notify]] tables with different names"),
)
