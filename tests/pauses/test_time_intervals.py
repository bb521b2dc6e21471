"""Alertmanager time_intervals semantics, with the examples of Alertmanager's configuration docs."""

from datetime import UTC, datetime, timedelta

import pytest

from daemon.time_intervals import (
    TimeInterval,
    parse_day_of_month_range,
    parse_location,
    parse_month_range,
    parse_time_range,
    parse_weekday_range,
    parse_year_range,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def interval(**fields) -> TimeInterval:
    parsers = {
        "weekdays": parse_weekday_range,
        "days_of_month": parse_day_of_month_range,
        "months": parse_month_range,
        "years": parse_year_range,
    }
    built = {key: tuple(parsers[key](item) for item in items) for key, items in fields.items()
             if key in parsers}  # fmt: skip
    if "times" in fields:
        built["times"] = tuple(parse_time_range(*span) for span in fields["times"])
    if "location" in fields:
        built["location"] = parse_location(fields["location"])
    return TimeInterval(**built)


def test_an_empty_interval_matches_every_moment():
    assert TimeInterval().contains(at("2026-03-01T12:34"))


def test_times_include_the_start_and_exclude_the_end():
    evening = interval(times=[("17:00", "24:00")])  # the docs' example: ends just before 24:00
    assert evening.contains(at("2026-03-02T17:00"))
    assert evening.contains(at("2026-03-02T23:59"))
    assert not evening.contains(at("2026-03-03T00:00"))
    assert not evening.contains(at("2026-03-02T16:59"))


def test_weekday_ranges_are_inclusive_and_the_week_begins_on_sunday():
    days = interval(weekdays=["monday:wednesday", "saturday", "sunday"])  # the docs' example
    assert [days.contains(at(f"2026-03-0{d}T12:00")) for d in range(1, 8)] == [
        True, True, True, True, False, False, True,  # 1 March 2026 is a Sunday
    ]  # fmt: skip
    with pytest.raises(ValueError, match="sunday"):
        parse_weekday_range("saturday:sunday")
    assert parse_weekday_range("Monday") == (1, 1)  # names in any case


def test_negative_days_of_month_count_from_the_end():
    last_three = interval(days_of_month=["-3:-1"])
    assert [last_three.contains(at(f"2026-02-{d}T00:00")) for d in (25, 26, 28)] == [
        False, True, True,
    ]  # fmt: skip
    assert last_three.contains(at("2026-01-29T00:00")) and not last_three.contains(
        at("2026-01-28T00:00")
    )
    first_five = interval(days_of_month=["1:5"])
    assert first_five.contains(at("2026-04-05T23:59")) and not first_five.contains(
        at("2026-04-06T00:00")
    )


def test_day_ranges_are_clamped_to_the_month_and_a_start_past_its_end_matches_nothing():
    assert interval(days_of_month=["1:31"]).contains(at("2028-02-29T08:00"))  # a leap year
    assert not interval(days_of_month=["30:31"]).contains(at("2026-02-28T08:00"))
    assert interval(days_of_month=["-31:-1"]).contains(at("2026-02-01T08:00"))


def test_months_by_name_or_number_and_years_inclusive():
    months = interval(months=["1:3", "may:august", "december"])  # the docs' example
    hits = [months.contains(at(f"2026-{m:02d}-10T00:00")) for m in range(1, 13)]
    assert hits == [True, True, True, False, True, True, True, True, False, False, False, True]
    years = interval(years=["2020:2022", "2030"])  # the docs' example
    assert [years.contains(at(f"{y}-06-01T00:00")) for y in (2019, 2020, 2022, 2023, 2030)] == [
        False, True, True, False, True,
    ]  # fmt: skip


def test_every_field_must_match_and_location_sets_the_clock():
    night = interval(times=[("01:00", "03:00")], weekdays=["sunday"], location="Europe/Berlin")
    assert night.contains(at("2026-03-01T00:30"))  # 01:30 in Berlin (UTC+1), a Sunday
    assert not night.contains(at("2026-03-01T02:30"))  # 03:30 in Berlin
    assert not night.contains(at("2026-03-02T00:30"))  # a Monday


def test_entered_is_when_the_stretch_holding_the_moment_began_across_midnight_and_days():
    overnight = interval(times=[("22:00", "24:00"), ("00:00", "02:00")])
    assert overnight.entered(at("2026-03-03T01:30"), timedelta(days=31)) == at("2026-03-02T22:00")
    assert overnight.entered(at("2026-03-03T02:00"), timedelta(days=31)) is None
    weekend = interval(weekdays=["saturday", "sunday"], location="Europe/Berlin")
    # Saturday 00:00 in Berlin (UTC+1), a whole day before the Sunday afternoon
    assert weekend.entered(at("2026-03-08T15:00"), timedelta(days=31)) == at("2026-03-06T23:00")


def test_entered_steps_over_a_daylight_saving_gap_and_stops_at_the_lookback():
    # 29 March 2026 in Berlin: 02:00 CET jumps to 03:00 CEST (01:00 UTC), so the window
    # from 02:30 begins at 03:00 CEST.
    early = interval(times=[("02:30", "04:00")], location="Europe/Berlin")
    assert early.entered(at("2026-03-29T01:30"), timedelta(days=31)) == at("2026-03-29T01:00")
    always = TimeInterval()
    assert always.entered(at("2026-03-29T01:30:20"), timedelta(days=2)) <= at("2026-03-27T01:30")


@pytest.mark.parametrize(
    ("parse", "value"),
    [
        (lambda v: parse_time_range(*v), ("10:00", "10:00")),
        (lambda v: parse_time_range(*v), ("24:00", "24:00")),
        (lambda v: parse_time_range(*v), ("9:00", "10:00")),
        (parse_day_of_month_range, "0"),
        (parse_day_of_month_range, "5:1"),
        (parse_day_of_month_range, "-1:-3"),
        (parse_day_of_month_range, "32"),
        (parse_month_range, "13"),
        (parse_month_range, "august:may"),
        (parse_year_range, "2022:2020"),
        (parse_weekday_range, "mon"),
        (parse_location, "Mars/Olympus"),
    ],
)
def test_values_alertmanager_refuses_are_refused(parse, value):
    with pytest.raises(ValueError):
        parse(value)
