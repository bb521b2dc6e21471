"""The printed result: one row per figure, with its baseline, ratio and target."""

from dataclasses import dataclass

HEADERS = ("#", "figure", "value", "baseline", "ratio", "target", "met")


@dataclass(frozen=True)
class Row:
    number: str
    figure: str
    value: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: bool | None = None  # None: no target for this figure

    def cells(self) -> tuple[str, ...]:
        met = "—" if self.met is None else ("yes" if self.met else "NO")
        return (
            self.number,
            self.figure,
            self.value,
            self.baseline,
            self.ratio,
            self.target,
            met,
        )


def markdown(rows: list[Row]) -> str:
    """A markdown table with columns padded to line up in a terminal."""
    cells = [HEADERS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]

    def line(values) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(HEADERS), rule, *(line(row) for row in cells[1:])])
