"""Opening hours: the weekly JSON of docs/services.md, one day's intervals, and whether a moment falls in them.

A week is {"1": [["08:30", "12:00"], ["14:00", "17:30"]], …, "7": []}: ISO weekday (1 = Monday) → local-time
intervals (Beijing time), each HH:MM with start < end, sorted and not overlapping; a missing or empty weekday is
closed. Centres, produce points and providers all keep their hours in this shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from itertools import pairwise
from typing import Any

from jiayuan.kit.errors import Invalid

WEEKDAYS = ("1", "2", "3", "4", "5", "6", "7")
MAX_INTERVALS = 6
_HHMM = re.compile(r"(\d{1,2})[:：](\d{2})")
# How people write a day's hours on a form: "08:30-12:00, 14:00-17:30", "8:30至12:00；14:00~17:30".
_RANGE = re.compile(r"(\d{1,2}[:：]\d{2})\s*(?:-|–|—|~|～|至|到)\s*(\d{1,2}[:：]\d{2})")
_GAP = re.compile(r"[\s,，;；、/]*")

Intervals = list[list[str]]
Week = dict[str, Intervals]


def _hhmm(value: Any, field: str) -> str:
    m = _HHMM.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise Invalid("a time is written HH:MM, from 00:00 to 23:59", field=field, reason="not_hhmm")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def parse_intervals(value: Any, field: str) -> Intervals:
    """One day's intervals, checked and sorted; an error names the interval (`field[i]`)."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise Invalid("must be a list of [start, end] pairs", field=field, reason="not_intervals")
    if len(value) > MAX_INTERVALS:
        raise Invalid(f"at most {MAX_INTERVALS} intervals a day", field=field, reason="too_many",
                      limit=MAX_INTERVALS)
    spans: list[tuple[str, str, int]] = []
    for i, pair in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise Invalid("must be a pair [start, end]", field=where, reason="not_intervals")
        start, end = _hhmm(pair[0], where), _hhmm(pair[1], where)
        if start >= end:
            raise Invalid("the start must be before the end", field=where, reason="end_before_start")
        spans.append((start, end, i))
    spans.sort()
    for (_s1, e1, _i1), (s2, _e2, i2) in pairwise(spans):
        if s2 < e1:
            raise Invalid("overlaps another interval of the same day", field=f"{field}[{i2}]", reason="overlaps")
    return [[s, e] for s, e, _i in spans]


def parse_week(value: Any, field: str = "weekly_hours") -> Week | None:
    """A whole week, every weekday present (closed days empty); None stays None (hours not given)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise Invalid('must be an object of weekdays "1" (Monday) to "7" (Sunday)', field=field,
                      reason="not_a_week")
    week: Week = {d: [] for d in WEEKDAYS}
    for key, intervals in value.items():
        day = str(key).strip()
        if day not in WEEKDAYS:
            raise Invalid('weekdays are "1" (Monday) to "7" (Sunday)', field=f"{field}.{key}", reason="not_a_week")
        week[day] = parse_intervals(intervals, f"{field}.{day}")
    return week


def parse_day_text(text: str | None, field: str) -> Intervals:
    """A day's hours as typed on a form ("08:30-12:00, 14:00-17:30"; blank is closed)."""
    text = (text or "").strip()
    if not text:
        return []
    pairs: list[list[str]] = []
    pos = 0
    for m in _RANGE.finditer(text):
        if not _GAP.fullmatch(text[pos:m.start()]):
            break
        pairs.append([m.group(1), m.group(2)])
        pos = m.end()
    if not pairs or not _GAP.fullmatch(text[pos:]):
        raise Invalid("write each interval as 08:30-12:00, separated by commas", field=f"{field}[{len(pairs)}]",
                      reason="not_intervals")
    return parse_intervals(pairs, field)


def format_intervals(intervals: Sequence[Sequence[str]] | None, joiner: str = ", ") -> str:
    return joiner.join(f"{s}–{e}" for s, e in intervals or ())


def intervals_on(week: Mapping[str, Any] | None, day: date) -> Intervals:
    return [list(p) for p in (week or {}).get(str(day.isoweekday())) or ()]


def has_hours(week: Mapping[str, Any] | None, day: date) -> bool:
    return bool(intervals_on(week, day))


def covers(intervals: Sequence[Sequence[str]], moment: datetime | time) -> bool:
    """True when a local time lies in one of the intervals (start included, end excluded)."""
    hhmm = f"{moment.hour:02d}:{moment.minute:02d}"
    return any(s <= hhmm < e for s, e in intervals)
