"""Pode's cron dialect (5 fields, @names, Jan/Mon aliases, R atoms, day-of-month AND day-of-week) on croniter."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from croniter import CroniterError, croniter

__all__ = [
    "FIELD_NAMES",
    "PREDEFINED",
    "CronExpression",
    "CronField",
    "CronSyntaxError",
    "matches",
    "next_trigger",
    "parse",
]

FIELD_NAMES: tuple[str, str, str, str, str] = ("minute", "hour", "day-of-month", "month", "day-of-week")
_MINUTE, _HOUR, _DOM, _MONTH, _DOW = range(5)
_BOUNDS: tuple[tuple[int, int], ...] = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))

# Pode's table (spec 8.4). Some older Pode releases spell '@quarterly' with four parts, which then fails
# their own 5-part check; we use the documented five-part form.
PREDEFINED: dict[str, str] = {
    "@minutely": "* * * * *",
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 1,4,7,10 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@twice-hourly": "0,30 * * * *",
    "@twice-daily": "0 0,12 * * *",
    "@twice-weekly": "0 0 * * 0,4",
    "@twice-monthly": "0 0 1,15 * *",
    "@twice-yearly": "0 0 1 1,6 *",
    "@twice-annually": "0 0 1 1,6 *",
}

_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# February counts 29 days, as in Pode: "29 2" is valid and fires in leap years only.
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ALIASES: dict[int, dict[str, int]] = {
    _MONTH: {name[:3].lower(): number for number, name in enumerate(_MONTH_NAMES, start=1)},
    _DOW: {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
}

_ALPHA_RUN = re.compile(r"[a-z]+", re.IGNORECASE | re.ASCII)
_ALLOWED_CHARS = re.compile(r"[0-9*/,\-rR]+")
# One list item: '*', 'n' or 'a-b', each with an optional '/i' ('/R' is rejected later inside lists).
_ITEM = re.compile(
    r"(?:(?P<star>\*)|(?P<lo>[0-9]+)(?:-(?P<hi>[0-9]+))?)(?:/(?P<step>[0-9]+|r))?", re.IGNORECASE
)

# The rarest valid expression is Feb 29 on a given weekday: 40 years apart at worst in the Gregorian
# calendar (28 usually, 40 across a skipped century leap year such as 2100). croniter gives up after
# this many years, so a search can never hang; only the end of datetime's range (year 9999) ends sooner.
_MAX_YEARS_BETWEEN_MATCHES = 50
_MAX_GAP_SKIPS = 16


class CronSyntaxError(ValueError):
    """A cron expression that is not valid Pode cron.

    Attributes:
        expression: the expression as given.
        field: the field at fault ("minute", "hour", "day-of-month", "month", "day-of-week"), or None
            when the expression as a whole is wrong (wrong number of parts, unknown @name).
        value: the offending text or number, as a string.
        reason: the message without the expression.
    """

    def __init__(self, reason: str, *, expression: str, field: str | None = None, value: str = "") -> None:
        self.reason = reason
        self.expression = expression
        self.field = field
        self.value = value
        super().__init__(reason if field is None else f"{reason} (in cron expression '{expression.strip()}')")


@dataclass(frozen=True)
class CronField:
    """One parsed field of a cron expression.

    Attributes:
        name: one of FIELD_NAMES.
        text: the effective atom: aliases replaced by numbers and R by its current draw.
        values: every value the field matches, fully expanded.
        wildcard: the atom was '*' (matches the field's whole range).
        random: the atom has an R ('R' or 's/R'), re-drawn by CronExpression.reroll().
    """

    name: str
    text: str
    values: frozenset[int]
    wildcard: bool = False
    random: bool = False


@dataclass(frozen=True)
class CronExpression:
    """A parsed, immutable Pode cron expression; build one with parse().

    Attributes:
        source: the text it was parsed from, as given.
        fields: minute, hour, day-of-month, month and day-of-week, in that order.

    Example:
        >>> e = parse("*/15 9-17 * * Mon-Fri")
        >>> str(e)
        '*/15 9-17 * * 1-5'
    """

    source: str
    fields: tuple[CronField, CronField, CronField, CronField, CronField]

    @property
    def has_random(self) -> bool:
        """True when any field has an R atom."""
        return any(f.random for f in self.fields)

    def reroll(self, rng: random.Random | None = None) -> CronExpression:
        """Return a copy with every R atom drawn again (schedules call this after each trigger).

        Pode draws anew after each trigger, and an 's/R' atom starts at s and turns random from then on.
        Draws for day-of-month and month only pick combinations that exist (never February 30).

        Args:
            rng: the random source; the module's shared generator when None (pass a seeded
                ``random.Random`` for repeatable draws).

        Returns:
            A new CronExpression, or self when there is nothing random.

        Example:
            >>> e = parse("R 3 * * *")
            >>> e.reroll().fields[0].values <= frozenset(range(60))
            True
        """
        if not self.has_random:
            return self
        drawn = _draw(list(self.fields), {i for i, f in enumerate(self.fields) if f.random}, rng)
        return replace(self, fields=_as_five(drawn))

    def matches(self, dt: datetime) -> bool:
        """True when all five fields match dt's wall-clock minute (seconds are ignored)."""
        minute, hour, dom, month, dow = (f.values for f in self.fields)
        # Pode ANDs day-of-month with day-of-week (vixie cron ORs them when both are restricted).
        # Set membership is exact and cheaper than croniter.match, which steps back from dt.
        return (
            dt.minute in minute
            and dt.hour in hour
            and dt.day in dom
            and dt.month in month
            and dt.isoweekday() % 7 in dow
        )

    def _croniter_text(self) -> str:
        # croniter gets the expanded value lists, never our atoms: Pode's 's/i' and our '*/i' on
        # day-of-month/month need not mean the same to croniter, and R has no croniter equivalent.
        return " ".join("*" if _is_full(f, i) else _compress(f.values) for i, f in enumerate(self.fields))

    def __str__(self) -> str:
        return " ".join(f.text for f in self.fields)


def parse(expr: str, *, rng: random.Random | None = None) -> CronExpression:
    """Parse one expression of Pode's cron dialect.

    Five whitespace-separated fields ``minute hour day-of-month month day-of-week`` (0-59, 0-23, 1-31,
    1-12, 0-6 with Sunday = 0), or one of Pode's @names (see PREDEFINED), case-insensitive. Atoms: ``*``,
    ``n``, ``R`` (random in the field's range), ``a-b``, ``s/i``, ``*/i``, ``a-b/i``, ``s/R`` and lists
    ``a,b-c,*/i`` of the non-random forms. ``Jan``..``Dec`` and ``Sun``..``Sat`` (any case) stand for
    numbers in the month and day-of-week fields. Unlike Pode, ``a-b/i`` means a, a+i, ... up to b, ``*/i``
    starts at the field's minimum (1 for day-of-month and month, not 0), and an interval of 0 is an error.

    Args:
        expr: the expression.
        rng: the random source for R atoms; the module's shared generator when None.

    Returns:
        The parsed expression.

    Raises:
        CronSyntaxError: a ValueError whose message names the field and the value at fault.
        TypeError: expr is not a string.

    Example:
        >>> str(parse("@hourly"))
        '0 * * * *'
        >>> parse("0 0 13 * Fri").matches(datetime(2026, 2, 13))
        True
    """
    if not isinstance(expr, str):
        raise TypeError(f"A cron expression must be a string, not {type(expr).__name__}: {expr!r}")
    text = expr.strip()
    if text.startswith("@"):
        if text.lower() not in PREDEFINED:
            known = ", ".join(PREDEFINED)
            raise CronSyntaxError(
                f"Unknown predefined cron expression: {text} (known: {known})", expression=expr, value=text
            )
        text = PREDEFINED[text.lower()]
    atoms = text.split()
    if len(atoms) != 5:
        raise CronSyntaxError(
            f"Cron expression should only consist of 5 parts: {expr}", expression=expr, value=expr
        )

    fields = [_parse_field(i, atom, expr) for i, atom in enumerate(atoms)]
    pure_random = {i for i, atom in enumerate(atoms) if atom.lower() == "r"}
    fields = _draw(fields, pure_random, rng)
    _check_days_exist(fields, expr)
    return CronExpression(source=expr, fields=_as_five(fields))


def matches(expr: str | CronExpression, dt: datetime) -> bool:
    """Whether dt's minute fires the expression (all five fields must match; seconds are ignored).

    Args:
        expr: an expression, as text or parsed.
        dt: the moment, naive (local wall time) or aware (its own wall time is used).

    Returns:
        True when the minute matches.

    Raises:
        CronSyntaxError: expr is text and not valid.

    Example:
        >>> matches("0 0 13 * 5", datetime(2026, 3, 13))  # Friday the 13th
        True
        >>> matches("0 0 13 * 5", datetime(2026, 4, 13))  # a Monday
        False
    """
    return _parsed(expr).matches(dt)


def next_trigger(
    exprs: str | CronExpression | Sequence[str | CronExpression],
    start: datetime,
    end: datetime | None = None,
) -> datetime | None:
    """The first minute strictly after start's minute that fires any of the expressions.

    As Pode: start plus one minute, truncated to the minute, then the first match at or after that; the
    earliest over several expressions wins.

    Args:
        exprs: one expression or several (text or parsed); an empty sequence never fires.
        start: where to search from, naive (local wall time) or aware (the result keeps its tzinfo).
        end: the latest acceptable answer, inclusive; None for no limit.

    Returns:
        The trigger time (seconds and microseconds zero), or None when it would be after end, or when
        no match exists before the year 9999 ends.

    Raises:
        CronSyntaxError: an expression is text and not valid.

    Example:
        >>> next_trigger("@hourly", datetime(2026, 1, 1, 10, 0, 30))
        datetime.datetime(2026, 1, 1, 11, 0)
        >>> next_trigger(["0 12 * * *", "30 6 * * *"], datetime(2026, 1, 1, 10, 0))
        datetime.datetime(2026, 1, 1, 12, 0)
        >>> next_trigger("0 0 1 1 *", datetime(2026, 6, 1), end=datetime(2026, 12, 31)) is None
        True
    """
    many: Sequence[str | CronExpression] = [exprs] if isinstance(exprs, str | CronExpression) else exprs
    parsed = [_parsed(e) for e in many]  # parse all first, so a bad expression raises even after a hit
    base = start.replace(second=0, microsecond=0)
    found = [t for t in (_next_one(e, base) for e in parsed) if t is not None]
    if not found:
        return None
    first = min(found)
    if end is not None and first > end:
        return None
    return first


def _next_one(expr: CronExpression, base: datetime) -> datetime | None:
    # croniter's get_next is strictly after its start, and base is already truncated to the minute.
    # day_or=False gives Pode's AND of day-of-month and day-of-week; with either side '*' it is the
    # plain intersection too, which the brute-force tests check.
    it = croniter(
        expr._croniter_text(), base, day_or=False, max_years_between_matches=_MAX_YEARS_BETWEEN_MATCHES
    )
    # For an aware start in a zone with DST, croniter moves a time that falls in the spring-forward gap
    # (02:30 on that day) to the first existing minute after it (03:00), which the expression does not
    # name. Pode's tick loop compares wall clocks, so that day never fires: skip such answers. A zone
    # has at most a few gaps a year, so a handful of skips always suffices.
    for _ in range(_MAX_GAP_SKIPS):
        try:
            result: datetime = it.get_next(datetime)
        except CroniterError:  # no match within _MAX_YEARS_BETWEEN_MATCHES
            return None
        except (ValueError, OverflowError):  # the search ran past datetime.max (year 9999)
            return None
        if expr.matches(result):
            return result
    raise RuntimeError(f"croniter kept returning times that do not match '{expr}' after {base}")


def _parsed(expr: str | CronExpression) -> CronExpression:
    return expr if isinstance(expr, CronExpression) else parse(expr)


def _as_five(fields: list[CronField]) -> tuple[CronField, CronField, CronField, CronField, CronField]:
    minute, hour, dom, month, dow = fields
    return (minute, hour, dom, month, dow)


def _is_full(field: CronField, index: int) -> bool:
    lo, hi = _BOUNDS[index]
    return field.values == frozenset(range(lo, hi + 1))


def _compress(values: frozenset[int]) -> str:
    """'1-5,10,20-22' from {1, 2, 3, 4, 5, 10, 20, 21, 22}."""
    parts: list[str] = []
    ordered = sorted(values)
    run_start = prev = ordered[0]
    for v in [*ordered[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(str(run_start) if run_start == prev else f"{run_start}-{prev}")
        if v is not None:
            run_start = prev = v
    return ",".join(parts)


def _parse_field(index: int, atom: str, expr: str) -> CronField:
    name = FIELD_NAMES[index]
    lo, hi = _BOUNDS[index]

    def fail(reason: str, value: object) -> CronSyntaxError:
        return CronSyntaxError(reason, expression=expr, field=name, value=str(value))

    if index in _ALIASES:
        aliases = _ALIASES[index]

        def to_number(m: re.Match[str]) -> str:
            word = m.group(0)
            if word.lower() == "r":
                return word
            if word.lower() not in aliases:
                examples = "Jan..Dec" if index == _MONTH else "Sun..Sat"
                raise fail(f"Invalid {name} alias found: {word} (use {examples} or {lo}-{hi})", word)
            return str(aliases[word.lower()])

        atom = _ALPHA_RUN.sub(to_number, atom)

    if not _ALLOWED_CHARS.fullmatch(atom):
        raise fail(f"Invalid atom character: {atom} in {name} (use digits, '*', '-', '/', ',' and R)", atom)
    if atom.lower() == "r":
        # The value is drawn by _draw, which knows the other day fields.
        return CronField(name, "R", frozenset({lo}), random=True)
    if atom == "*":
        return CronField(name, "*", frozenset(range(lo, hi + 1)), wildcard=True)

    items = atom.split(",")
    values: set[int] = set()
    random_start = False
    for item in items:
        if item.lower() == "r":
            raise fail(f"Invalid cron atom format found: {atom} in {name} (R must stand alone)", atom)
        m = _ITEM.fullmatch(item)
        if m is None:
            raise fail(f"Invalid cron atom format found: {atom} in {name}", atom)
        step_text = m.group("step")
        if step_text is not None and step_text.lower() == "r":
            if len(items) > 1 or m.group("hi") is not None:
                # Pode has only 's/R' and '*/R', standing alone.
                raise fail(f"Invalid cron atom format found: {atom} in {name} (use R, s/R or */R)", atom)
            random_start = True
            step_text = None
        step = int(step_text) if step_text is not None else None
        if step == 0:
            raise fail(f"Interval for {name} should be greater than 0: {item}", item)

        if m.group("star"):
            first, last = lo, hi
        elif m.group("hi") is not None:
            first, last = int(m.group("lo")), int(m.group("hi"))
            if first > last:
                raise fail(f"Min value for {name} should not be greater than the max value: {item}", item)
            if first < lo:
                raise fail(
                    f"Min value '{first}' for {name} is invalid, should be greater than/equal to {lo}", first
                )
            if last > hi:
                raise fail(
                    f"Max value '{last}' for {name} is invalid, should be less than/equal to {hi}", last
                )
        else:
            first = int(m.group("lo"))
            if not lo <= first <= hi:
                hint = "; Sunday is 0" if index == _DOW and first == 7 else ""
                raise fail(
                    f"Value '{first}' for {name} is invalid, should be between {lo} and {hi}{hint}", first
                )
            # 's/i' runs from s to the field's maximum; a plain 'n' is just n.
            last = hi if step is not None else first
        if random_start:
            atom = str(first)
            values.add(first)  # 's/R' fires at s first, then at random values after each reroll
        else:
            values.update(range(first, last + 1, step or 1))
    return CronField(name, atom, frozenset(values), random=random_start)


def _draw(fields: list[CronField], which: set[int], rng: random.Random | None) -> list[CronField]:
    """Draw new values for the fields at the indexes in which, never an impossible month/day pair."""
    # Without rng, the module's shared generator, so random.seed() applies.
    randint = rng.randint if rng is not None else random.randint
    choice = rng.choice if rng is not None else random.choice
    out = list(fields)

    def put(index: int, value: int) -> None:
        out[index] = replace(out[index], text=str(value), values=frozenset({value}))

    for index in which - {_DOM, _MONTH}:
        put(index, randint(*_BOUNDS[index]))
    if {_DOM, _MONTH} <= which:
        month = randint(1, 12)
        put(_MONTH, month)
        put(_DOM, randint(1, _DAYS_IN_MONTH[month - 1]))
    elif _DOM in which:
        put(_DOM, randint(1, max(_DAYS_IN_MONTH[m - 1] for m in out[_MONTH].values)))
    elif _MONTH in which:
        earliest_day = min(out[_DOM].values)
        put(_MONTH, choice([m for m in range(1, 13) if _DAYS_IN_MONTH[m - 1] >= earliest_day]))
    return out


def _check_days_exist(fields: list[CronField], expr: str) -> None:
    # Pode only checks two literal lists and rejects a day that is too long for *any* listed month
    # ("30 1,2" throws there). We reject only what can never fire, whatever the atoms' form: every
    # listed day is beyond every listed month's length.
    days, months = fields[_DOM].values, fields[_MONTH].values
    longest = max(months, key=lambda m: (_DAYS_IN_MONTH[m - 1], -m))
    length, day = _DAYS_IN_MONTH[longest - 1], min(days)
    if day > length:
        raise CronSyntaxError(
            f"{_MONTH_NAMES[longest - 1]} only has {length} days, but {day} was supplied.",
            expression=expr,
            field="day-of-month",
            value=str(day),
        )
