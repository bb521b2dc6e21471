"""ISO weeks (UTC) for weekly_pin: which week a backup belongs to, and when its pin is due."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Literal, get_args

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def of(cls, moment: datetime) -> "IsoWeek":
        return _week_of(moment)

    @classmethod
    def parse(cls, label: object) -> "IsoWeek | None":
        """`2026-W02` back into an IsoWeek; None for anything else."""
        if not isinstance(label, str):
            return None
        year, sep, week = label.partition("-W")
        if not sep or not year.isdigit() or not week.isdigit():
            return None
        return cls(int(year), int(week))

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    def moment(self, weekday: str, at: time) -> datetime:
        """`weekday` at `at` (UTC) within this week."""
        day = date.fromisocalendar(self.year, self.week, WEEKDAYS.index(weekday) + 1)
        return datetime.combine(day, at.replace(tzinfo=None), UTC)


@lru_cache(maxsize=16384)
def _week_of(moment: datetime) -> IsoWeek:
    # weekly_pin asks for the week of every listed backup at every evaluation.
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return IsoWeek(year, week)
