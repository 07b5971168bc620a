"""Tests for Pode's cron dialect: parsing, errors, R atoms, matching and next_trigger against a brute force."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop_app.engine import cron
from desktop_app.engine.jobs.cron import CronExpression, CronSyntaxError

BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def values(expr: str) -> list[list[int]]:
    return [sorted(f.values) for f in cron.parse(expr).fields]


def everything(index: int) -> list[int]:
    lo, hi = BOUNDS[index]
    return list(range(lo, hi + 1))


# --- parse: shapes and errors -----------------------------------------------------------------------


@pytest.mark.parametrize("expr", ["", "   ", "* * * *", "* * * * * *", "0 0 1 1,4,7,10"])
def test_wrong_number_of_parts(expr: str) -> None:
    with pytest.raises(ValueError, match=r"^Cron expression should only consist of 5 parts: ") as info:
        cron.parse(expr)
    assert info.value.args[0].endswith(expr)


@pytest.mark.parametrize(
    ("expr", "field", "value", "message"),
    [
        ("60 * * * *", "minute", "60", "Value '60' for minute is invalid, should be between 0 and 59"),
        ("* 24 * * *", "hour", "24", "Value '24' for hour is invalid, should be between 0 and 23"),
        (
            "* * 0 * *",
            "day-of-month",
            "0",
            "Value '0' for day-of-month is invalid, should be between 1 and 31",
        ),
        ("* * 32 * *", "day-of-month", "32", "Value '32' for day-of-month is invalid"),
        ("* * * 13 *", "month", "13", "Value '13' for month is invalid, should be between 1 and 12"),
        ("* * * 0 *", "month", "0", "Value '0' for month is invalid"),
        ("* * * * 7", "day-of-week", "7", "Value '7' for day-of-week is invalid, should be between 0 and 6"),
        ("60/5 * * * *", "minute", "60", "Value '60' for minute is invalid"),
        ("5,61 * * * *", "minute", "61", "Value '61' for minute is invalid"),
        ("30-10 * * * *", "minute", "30-10", "Min value for minute should not be greater than the max value"),
        ("* 0-24 * * *", "hour", "24", "Max value '24' for hour is invalid, should be less than/equal to 23"),
        ("* * 0-5 * *", "day-of-month", "0", "Min value '0' for day-of-month is invalid, should be greater"),
        ("* * * * 1-7", "day-of-week", "7", "Max value '7' for day-of-week is invalid"),
        ("*/0 * * * *", "minute", "*/0", "Interval for minute should be greater than 0"),
        ("* 1-5/0 * * *", "hour", "1-5/0", "Interval for hour should be greater than 0"),
        ("x * * * *", "minute", "x", "Invalid atom character: x in minute"),
        ("* Mon * * *", "hour", "Mon", "Invalid atom character: Mon in hour"),
        ("* * Jan * *", "day-of-month", "Jan", "Invalid atom character: Jan in day-of-month"),
        ("1|2 * * * *", "minute", "1|2", "Invalid atom character: 1|2 in minute"),
        ("* * * * 1.5", "day-of-week", "1.5", "Invalid atom character: 1.5 in day-of-week"),
        ("* * * foo *", "month", "foo", "Invalid month alias found: foo"),
        ("* * * January *", "month", "January", "Invalid month alias found: January"),
        ("* * * * Fry", "day-of-week", "Fry", "Invalid day-of-week alias found: Fry"),
        ("* * * * Jan", "day-of-week", "Jan", "Invalid day-of-week alias found: Jan"),
        ("* * * Mon *", "month", "Mon", "Invalid month alias found: Mon"),
        ("1,,2 * * * *", "minute", "1,,2", "Invalid cron atom format found: 1,,2 in minute"),
        ("1, * * * *", "minute", "1,", "Invalid cron atom format found: 1, in minute"),
        ("1-2-3 * * * *", "minute", "1-2-3", "Invalid cron atom format found: 1-2-3"),
        ("*/ * * * *", "minute", "*/", "Invalid cron atom format found: */"),
        ("/5 * * * *", "minute", "/5", "Invalid cron atom format found: /5"),
        ("rr * * * *", "minute", "rr", "Invalid cron atom format found: rr"),
        ("R-5 * * * *", "minute", "R-5", "Invalid cron atom format found: R-5"),
        ("R,5 * * * *", "minute", "R,5", "Invalid cron atom format found: R,5 in minute"),
        ("1-5/R * * * *", "minute", "1-5/R", "Invalid cron atom format found: 1-5/R in minute"),
        ("0 0 30 2 *", "day-of-month", "30", "February only has 29 days, but 30 was supplied."),
        ("0 0 30,31 2 *", "day-of-month", "30", "February only has 29 days, but 30 was supplied."),
        ("0 0 31 4,6,9,11 *", "day-of-month", "31", "April only has 30 days, but 31 was supplied."),
        ("0 0 30-31 Feb *", "day-of-month", "30", "February only has 29 days, but 30 was supplied."),
    ],
)
def test_errors_name_the_field_and_value(expr: str, field: str, value: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        cron.parse(expr)
    error = info.value
    assert isinstance(error, CronSyntaxError)
    assert str(error).startswith(message)
    assert f"'{expr}'" in str(error)  # and the expression, for schedules with several
    assert (error.field, error.value, error.expression) == (field, value, expr)
    if field != "day-of-month" or "only has" not in message:
        assert field in str(error) and value in str(error)


def test_unknown_predefined_name_lists_the_known_ones() -> None:
    with pytest.raises(CronSyntaxError, match=r"Unknown predefined cron expression: @fortnightly .*@hourly"):
        cron.parse("@fortnightly")


def test_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be a string"):
        cron.parse(5)  # type: ignore[arg-type]


def test_a_day_that_exists_in_one_listed_month_is_accepted() -> None:
    # Pode throws for "30 1,2" (Feb has no 30th); only combinations that can never fire are errors.
    assert values("0 0 30 1,2 *")[2:4] == [[30], [1, 2]]
    assert values("0 0 31 */2 *")[3] == [1, 3, 5, 7, 9, 11]
    assert values("0 0 29 2 *")[2:4] == [[29], [2]]  # leap years only, as in Pode


# --- parse: predefined names, aliases, atoms -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("@minutely", "* * * * *"),
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@quarterly", "0 0 1 1,4,7,10 *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@twice-hourly", "0,30 * * * *"),
        ("@twice-daily", "0 0,12 * * *"),
        ("@twice-weekly", "0 0 * * 0,4"),
        ("@twice-monthly", "0 0 1,15 * *"),
        ("@twice-yearly", "0 0 1 1,6 *"),
        ("@twice-annually", "0 0 1 1,6 *"),
    ],
)
def test_predefined_names(name: str, expected: str) -> None:
    for spelling in (name, name.upper(), f"  {name.title()}\t"):
        parsed = cron.parse(spelling)
        assert str(parsed) == expected
        assert parsed.source == spelling
        assert [sorted(f.values) for f in parsed.fields] == values(expected)
    assert set(cron.PREDEFINED) >= {name}


def test_predefined_names_fire_when_expected() -> None:
    assert cron.next_trigger("@quarterly", datetime(2026, 1, 1)) == datetime(2026, 4, 1)
    assert cron.next_trigger("@twice-weekly", datetime(2026, 3, 1)) == datetime(2026, 3, 5)  # a Thursday
    assert cron.next_trigger("@weekly", datetime(2026, 3, 1)) == datetime(2026, 3, 8)  # the next Sunday


@pytest.mark.parametrize("spelling", ["Jan", "jan", "JAN", "jAn"])
def test_month_aliases_any_case(spelling: str) -> None:
    assert values(f"0 0 1 {spelling} *")[3] == [1]


def test_every_alias_maps_to_its_number() -> None:
    for number, name in enumerate(MONTHS, start=1):
        assert values(f"* * * {name} *")[3] == [number]
    for number, name in enumerate(DAYS):
        assert values(f"* * * * {name.upper()}")[4] == [number]


def test_aliases_in_ranges_lists_and_steps() -> None:
    parsed = cron.parse("0 9 * Jan-Mar,oct * ")
    assert sorted(parsed.fields[3].values) == [1, 2, 3, 10]
    assert str(parsed) == "0 9 * 1-3,10 *"
    assert values("* * * * Mon-Fri")[4] == [1, 2, 3, 4, 5]
    assert values("* * * * sun,SAT")[4] == [0, 6]
    assert values("* * * Feb/3 *")[3] == [2, 5, 8, 11]


def test_atoms_and_steps() -> None:
    assert values("* * * * *") == [everything(i) for i in range(5)]
    assert values("*/15 * * * *")[0] == [0, 15, 30, 45]
    assert values("5/15 * * * *")[0] == [5, 20, 35, 50]
    # a-b/i is a, a+i, ... up to b (Pode misreads it as b/i: 30, 35, ..., 55).
    assert values("1-30/5 * * * *")[0] == [1, 6, 11, 16, 21, 26]
    assert values("* 9-17 * * *")[1] == list(range(9, 18))
    assert values("* * * * 0-6")[4] == everything(4)
    assert values("0,15-17,*/20,50-59/4 * * * *")[0] == [0, 15, 16, 17, 20, 40, 50, 54, 58]
    assert values("07 * * * *")[0] == [7]
    assert values("*/100 * * * *")[0] == [0]  # an interval past the range keeps only the start
    assert values("*/1 * * * *")[0] == everything(0)
    # '*' starts at the field's minimum: Pode starts at 0, which day-of-month and month reject.
    assert values("* * */10 */5 *")[2:4] == [[1, 11, 21, 31], [1, 6, 11]]


def test_str_is_the_effective_expression_and_parses_back() -> None:
    for expr in ["*/15 9-17 * * Mon-Fri", "0,30 0 1-31/2 JAN,jul 0", "  5  4   *  * sun  "]:
        parsed = cron.parse(expr)
        again = cron.parse(str(parsed))
        assert str(parsed) == " ".join(str(parsed).split())
        assert [f.values for f in again.fields] == [f.values for f in parsed.fields]
    assert str(cron.parse("*/15 9-17 * * Mon-Fri")) == "*/15 9-17 * * 1-5"


def test_expression_is_immutable_and_hashable() -> None:
    parsed = cron.parse("0 0 * * *")
    with pytest.raises(AttributeError):
        parsed.source = "x"  # type: ignore[misc]
    assert parsed == cron.parse("0 0 * * *")
    assert len({parsed, cron.parse("0 0 * * *")}) == 1
    assert [f.name for f in parsed.fields] == list(cron.FIELD_NAMES)
    assert parsed.fields[0].wildcard is False and parsed.fields[1].wildcard is False
    assert parsed.fields[2].wildcard is True


# --- R -----------------------------------------------------------------------------------------------


def test_r_draws_within_each_field_range() -> None:
    rng = random.Random(1234)
    seen: list[set[int]] = [set() for _ in range(5)]
    parsed = cron.parse("R r R R R", rng=rng)
    assert parsed.has_random and all(f.random for f in parsed.fields)
    for _ in range(600):
        for i, f in enumerate(parsed.fields):
            (value,) = f.values
            lo, hi = BOUNDS[i]
            assert lo <= value <= hi
            assert f.text == str(value)
            seen[i].add(value)
        # the drawn pair always exists (Pode could draw February 30 and never fire)
        assert min(parsed.fields[2].values) <= DAYS_IN_MONTH[min(parsed.fields[3].values) - 1]
        parsed = parsed.reroll(rng)
    assert [len(s) for s in seen] == [60, 24, 31, 12, 7]
    assert parsed.source == "R r R R R"


def test_r_day_of_month_respects_a_fixed_month_and_vice_versa() -> None:
    rng = random.Random(7)
    feb = cron.parse("0 0 R 2 *", rng=rng)
    thirty_first = cron.parse("0 0 31 R *", rng=rng)
    for _ in range(300):
        feb, thirty_first = feb.reroll(rng), thirty_first.reroll(rng)
        assert max(feb.fields[2].values) <= 29
        assert DAYS_IN_MONTH[min(thirty_first.fields[3].values) - 1] == 31


def test_reroll_changes_the_draw_eventually() -> None:
    parsed = cron.parse("R * * * *")
    first = parsed.fields[0].values
    for _ in range(1000):  # chance of 1000 identical draws: 60**-1000
        parsed = parsed.reroll()
        if parsed.fields[0].values != first:
            break
    else:
        pytest.fail("reroll never drew another minute")
    assert parsed.source == "R * * * *" and parsed.has_random


def test_draws_follow_the_global_seed_and_a_given_rng() -> None:
    random.seed(99)
    a = cron.parse("R R * * *")
    random.seed(99)
    b = cron.parse("R R * * *")
    assert str(a) == str(b)
    assert str(cron.parse("R R R R R", rng=random.Random(5))) == str(
        cron.parse("R R R R R", rng=random.Random(5))
    )


def test_start_then_random() -> None:
    # 's/R' fires at s first, then at a random value after each trigger (Pode).
    parsed = cron.parse("5/R * * * *")
    assert parsed.has_random and parsed.fields[0].values == {5} and str(parsed) == "5 * * * *"
    assert cron.parse("*/r * * * *").fields[0].values == {0}
    assert cron.parse("* * */R * *").fields[2].values == {1}
    rng = random.Random(3)
    draws = {min(parsed.reroll(rng).fields[0].values) for _ in range(200)}
    assert len(draws) > 30 and draws <= set(range(60))


def test_reroll_without_r_is_the_same_object() -> None:
    parsed = cron.parse("*/5 * * * *")
    assert not parsed.has_random
    assert parsed.reroll() is parsed


# --- matches -----------------------------------------------------------------------------------------


def test_day_of_month_and_day_of_week_both_must_match() -> None:
    friday_13ths = [d for d in (date(2026, 1, 1) + timedelta(days=n) for n in range(366 * 4)) if d.day == 13]
    for day in friday_13ths:
        assert cron.matches("0 0 13 * 5", datetime.combine(day, time())) is (day.weekday() == 4)
    assert cron.matches("0 0 13 * fri", datetime(2026, 2, 13))
    assert not cron.matches("0 0 13 * 5", datetime(2026, 2, 20))  # a Friday, not the 13th
    assert not cron.matches("0 0 13 * 5", datetime(2026, 1, 13))  # the 13th, a Tuesday


def test_matching_is_by_minute() -> None:
    assert cron.matches("30 14 * * *", datetime(2026, 5, 1, 14, 30, 59, 999999))
    assert not cron.matches("30 14 * * *", datetime(2026, 5, 1, 14, 31))
    assert not cron.matches("30 14 * * *", datetime(2026, 5, 1, 15, 30))
    assert cron.matches(cron.parse("@daily"), datetime(2026, 5, 1))
    assert not cron.matches("* * * 6 *", datetime(2026, 5, 1))


def test_sunday_is_zero() -> None:
    assert cron.matches("* * * * 0", datetime(2026, 3, 1))  # a Sunday
    assert cron.matches("* * * * 6", datetime(2026, 2, 28))  # a Saturday


def test_aware_datetimes_match_their_own_wall_clock() -> None:
    assert cron.matches("0 9 * * *", datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=5))))
    assert not cron.matches("0 9 * * *", datetime(2026, 1, 1, 4, tzinfo=timezone(timedelta(hours=0))))


# --- next_trigger ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "start", "expected"),
    [
        ("0 0 1 * *", datetime(2026, 1, 31, 12), datetime(2026, 2, 1)),  # month end
        ("0 0 31 * *", datetime(2026, 4, 1), datetime(2026, 5, 31)),  # April has no 31st
        ("59 23 * * *", datetime(2026, 12, 31, 23, 58), datetime(2026, 12, 31, 23, 59)),
        ("0 0 * * *", datetime(2026, 12, 31, 23, 59), datetime(2027, 1, 1)),  # year end
        ("@yearly", datetime(2026, 1, 1), datetime(2027, 1, 1)),
        ("0 0 29 2 *", datetime(2025, 1, 1), datetime(2028, 2, 29)),  # leap year
        ("0 0 29 2 *", datetime(2096, 3, 1), datetime(2104, 2, 29)),  # 2100 is not a leap year
        ("0 0 29 2 1", datetime(2026, 1, 1), datetime(2044, 2, 29)),  # Feb 29 on a Monday
        ("0 0 29 2 1", datetime(2072, 3, 1), datetime(2112, 2, 29)),  # the 40-year worst case
        ("0 0 13 * 5", datetime(2026, 1, 1), datetime(2026, 2, 13)),  # Friday the 13th
        ("0 0 13 * 5", datetime(2026, 3, 14), datetime(2026, 11, 13)),
        ("0 0 * * 1", datetime(2026, 2, 27), datetime(2026, 3, 2)),  # day-of-month '*'
        ("0 0 1 * *", datetime(2026, 2, 27), datetime(2026, 3, 1)),  # day-of-week '*'
        ("0 0 1-7 * 1", datetime(2026, 2, 3), datetime(2026, 3, 2)),  # first Monday of a month
        ("*/20 * * * *", datetime(2026, 1, 1, 10, 41), datetime(2026, 1, 1, 11, 0)),
        ("1-30/5 * * * *", datetime(2026, 1, 1, 10, 27), datetime(2026, 1, 1, 11, 1)),
    ],
)
def test_next_trigger(expr: str, start: datetime, expected: datetime) -> None:
    assert cron.next_trigger(expr, start) == expected


def test_strictly_after_the_start_minute_and_seconds_ignored() -> None:
    assert cron.next_trigger("0 10 * * *", datetime(2026, 1, 1, 10, 0)) == datetime(2026, 1, 2, 10, 0)
    assert cron.next_trigger("0 10 * * *", datetime(2026, 1, 1, 9, 59, 59, 999)) == datetime(2026, 1, 1, 10)
    assert cron.next_trigger("0 10 * * *", datetime(2026, 1, 1, 10, 0, 30)) == datetime(2026, 1, 2, 10, 0)
    result = cron.next_trigger("* * * * *", datetime(2026, 1, 1, 10, 0, 59, 123456))
    assert result == datetime(2026, 1, 1, 10, 1)
    assert result is not None and (result.second, result.microsecond) == (0, 0)


def test_several_expressions_earliest_wins() -> None:
    start = datetime(2026, 1, 1, 10, 0)
    exprs: list[str | CronExpression] = ["0 12 * * *", cron.parse("30 11 * * *"), "0 0 1 1 *"]
    assert cron.next_trigger(exprs, start) == datetime(2026, 1, 1, 11, 30)
    assert cron.next_trigger(tuple(reversed(exprs)), start) == datetime(2026, 1, 1, 11, 30)
    assert cron.next_trigger(["0 0 29 2 1", "@yearly"], start) == datetime(2027, 1, 1)
    assert cron.next_trigger([], start) is None


def test_a_bad_expression_among_several_raises() -> None:
    with pytest.raises(ValueError, match="minute"):
        cron.next_trigger(["* * * * *", "61 * * * *"], datetime(2026, 1, 1))


def test_end_is_inclusive() -> None:
    start = datetime(2026, 1, 1)
    assert cron.next_trigger("0 12 * * *", start, end=datetime(2026, 1, 1, 12)) == datetime(2026, 1, 1, 12)
    assert cron.next_trigger("0 12 * * *", start, end=datetime(2026, 1, 1, 11, 59, 59)) is None
    assert cron.next_trigger(["0 12 * * *", "0 6 * * *"], start, end=datetime(2026, 1, 1, 7)) == datetime(
        2026, 1, 1, 6
    )
    assert cron.next_trigger("0 0 29 2 1", start, end=datetime(2030, 1, 1)) is None


def test_no_trigger_before_the_end_of_time() -> None:
    assert cron.next_trigger("* * * * *", datetime(9999, 12, 31, 23, 59)) is None
    assert cron.next_trigger("0 0 29 2 1", datetime(9990, 1, 1)) is None


def test_aware_start_keeps_its_tzinfo() -> None:
    plus2 = timezone(timedelta(hours=2))
    result = cron.next_trigger("0 0 * * *", datetime(2026, 1, 1, 12, tzinfo=plus2))
    assert result == datetime(2026, 1, 2, tzinfo=plus2)
    assert result is not None and result.tzinfo is plus2


def test_aware_start_across_daylight_saving() -> None:
    new_york = ZoneInfo("America/New_York")
    # 02:30 does not exist on 2024-03-10; Pode's wall-clock tick never sees it, so the next is a day later.
    result = cron.next_trigger("30 2 * * *", datetime(2024, 3, 9, 12, tzinfo=new_york))
    assert result == datetime(2024, 3, 11, 2, 30, tzinfo=new_york)
    # 01:30 happens twice on 2024-11-03, and a minute-by-minute wall clock sees both.
    first = cron.next_trigger("30 1 * * *", datetime(2024, 11, 3, tzinfo=new_york))
    assert first is not None and (first.hour, first.minute, first.utcoffset()) == (1, 30, timedelta(hours=-4))
    second = cron.next_trigger("30 1 * * *", first)
    assert second is not None and (second.hour, second.minute, second.utcoffset()) == (
        1,
        30,
        timedelta(hours=-5),
    )


def test_next_trigger_after_reroll_uses_the_new_draw() -> None:
    rng = random.Random(11)
    parsed = cron.parse("R 3 * * *", rng=rng)
    for _ in range(20):
        minute = min(parsed.fields[0].values)
        assert cron.next_trigger(parsed, datetime(2026, 1, 1)) == datetime(2026, 1, 1, 3, minute)
        parsed = parsed.reroll(rng)


# --- properties against a brute force ----------------------------------------------------------------


@st.composite
def field_atom(draw: st.DrawFn, index: int) -> tuple[str, frozenset[int]]:
    """A random valid atom for the field and the values it should match, worked out independently."""
    lo, hi = BOUNDS[index]

    def number(v: int) -> str:
        names = MONTHS if index == 3 else DAYS if index == 4 else None
        if names is not None and draw(st.booleans()):
            name = names[v - lo]
            return "".join(c.upper() if draw(st.booleans()) else c for c in name)
        return str(v)

    def item() -> tuple[str, set[int]]:
        kind = draw(st.sampled_from(["n", "a-b", "*/i", "s/i", "a-b/i"]))
        step = draw(st.integers(1, hi - lo + 2))
        a, b = sorted(draw(st.lists(st.integers(lo, hi), min_size=2, max_size=2)))
        if kind == "n":
            return number(a), {a}
        if kind == "a-b":
            return f"{number(a)}-{number(b)}", set(range(a, b + 1))
        if kind == "*/i":
            return f"*/{step}", set(range(lo, hi + 1, step))
        if kind == "s/i":
            return f"{number(a)}/{step}", set(range(a, hi + 1, step))
        return f"{number(a)}-{number(b)}/{step}", set(range(a, b + 1, step))

    shape = draw(st.sampled_from(["*", "item", "item", "list"]))
    if shape == "*":
        return "*", frozenset(range(lo, hi + 1))
    items = [item() for _ in range(1 if shape == "item" else draw(st.integers(2, 4)))]
    return ",".join(text for text, _ in items), frozenset().union(*(v for _, v in items))


@st.composite
def expressions(draw: st.DrawFn) -> tuple[str, list[frozenset[int]]]:
    atoms = [draw(field_atom(i)) for i in range(5)]
    return " ".join(text for text, _ in atoms), [v for _, v in atoms]


def brute_next(fields: list[frozenset[int]], start: datetime) -> datetime | None:
    """First minute after start's minute that matches, walking day by day (skipping days that cannot)."""
    minutes, hours, doms, months, dows = fields
    first = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = first.date()
    for _ in range(45 * 366):
        if day.day in doms and day.month in months and day.isoweekday() % 7 in dows:
            for h in sorted(hours):
                for m in sorted(minutes):
                    candidate = datetime.combine(day, time(h, m))
                    if candidate >= first:
                        return candidate
        day += timedelta(days=1)
    return None


def can_fire(fields: list[frozenset[int]]) -> bool:
    return any(d <= DAYS_IN_MONTH[m - 1] for d in fields[2] for m in fields[3])


starts = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2150, 12, 31))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), starts)
def test_next_trigger_is_the_first_match_after_start(
    expr: tuple[str, list[frozenset[int]]], start: datetime
) -> None:
    text, fields = expr
    if not can_fire(fields):
        with pytest.raises(CronSyntaxError, match="only has"):
            cron.parse(text)
        return
    parsed = cron.parse(text)
    assert [f.values for f in parsed.fields] == fields

    result = cron.next_trigger(text, start)
    assert result == brute_next(fields, start)
    assert result is not None
    assert result > start and result.replace(second=0, microsecond=0) == result
    assert cron.matches(parsed, result)
    # and a plain minute-by-minute scan finds nothing earlier (capped at a day)
    minute = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute < min(result, start + timedelta(days=1)):
        assert not parsed.matches(minute)
        minute += timedelta(minutes=1)


@settings(max_examples=60, deadline=None)
@given(st.lists(expressions(), min_size=1, max_size=3), starts)
def test_several_expressions_give_the_earliest(
    exprs: list[tuple[str, list[frozenset[int]]]], start: datetime
) -> None:
    valid = [text for text, fields in exprs if can_fire(fields)]
    singles = [t for t in (cron.next_trigger(text, start) for text in valid) if t is not None]
    assert cron.next_trigger(valid, start) == (min(singles) if singles else None)


@settings(max_examples=150, deadline=None)
@given(expressions(), st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_matches_agrees_with_the_fields(expr: tuple[str, list[frozenset[int]]], dt: datetime) -> None:
    text, fields = expr
    if not can_fire(fields):
        return
    expected = (
        dt.minute in fields[0]
        and dt.hour in fields[1]
        and dt.day in fields[2]
        and dt.month in fields[3]
        and dt.isoweekday() % 7 in fields[4]
    )
    assert cron.matches(text, dt) is expected
