"""The metric names a PromQL expression reads, so deploy tests can check them against the exporter.

Not a PromQL parser: it removes what cannot be a metric name (strings, label
matchers in braces, ranges and subqueries in brackets, label lists after
by/without/on/ignoring/group_left/group_right, Grafana variables, numbers and
durations), then keeps identifiers that are neither functions (followed by `(`)
nor keywords.
"""

import re

KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "atan2", "inf", "nan",
}  # fmt: skip

STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
GRAFANA_VARIABLE = re.compile(r"\$\{\w+(?::\w+)?\}|\$\w+|\[\[\w+\]\]")
BRACES = re.compile(r"\{[^{}]*\}")
BRACKETS = re.compile(r"\[[^\[\]]*\]")
LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
TOKEN = re.compile(r"\d[\w.]*|[A-Za-z_:][\w:]*\s*\(?")


def metric_names(expr: str) -> set[str]:
    """Every metric name `expr` selects, e.g. {"up"} for 'max by (job) (up{job="x"}) == 0'."""
    text = STRING.sub(" ", expr)
    text = GRAFANA_VARIABLE.sub(" ", text)
    text = BRACES.sub(" ", text)
    text = BRACKETS.sub(" ", text)
    text = LABEL_LIST.sub(" ", text)
    names = set()
    for token in TOKEN.findall(text):
        if token[0].isdigit() or token.endswith("("):
            continue
        name = token.strip()
        if name.lower() not in KEYWORDS:
            names.add(name)
    return names
