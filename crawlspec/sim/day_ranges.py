"""`START..END[,START..END]` UTC date ranges (the simulator's `--failing-days`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

DayRange = tuple[date, date]


def parse_day_ranges(text: str) -> tuple[DayRange, ...]:
    """`2024-03-10..2024-03-12,2024-03-20` -> ((2024-03-10, 2024-03-12), (2024-03-20, 2024-03-20)).

    A single day stands for the range of that day; an empty text for no range. ValueError names the
    part that is not a date or a range whose end is before its start."""
    ranges: list[DayRange] = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        first, sep, last = part.partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if sep else start
        except ValueError:
            raise ValueError(f"{part!r} is not a YYYY-MM-DD..YYYY-MM-DD range") from None
        if end < start:
            raise ValueError(f"{part!r} ends before it starts")
        ranges.append((start, end))
    return tuple(ranges)


def normalise_day_ranges(value: object) -> tuple[DayRange, ...]:
    """Day ranges from a string, or from pairs of dates / ISO strings (config passthrough)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return parse_day_ranges(value)
    if isinstance(value, Iterable):
        ranges: list[DayRange] = []
        for item in value:
            if isinstance(item, str):
                ranges.extend(parse_day_ranges(item))
                continue
            start, end = (d if isinstance(d, date) else date.fromisoformat(str(d)) for d in item)
            if end < start:
                raise ValueError(f"{start}..{end} ends before it starts")
            ranges.append((start, end))
        return tuple(ranges)
    raise ValueError(f"expected START..END[,START..END], got {value!r}")


def touches(ranges: Iterable[DayRange], start: date, end: date) -> bool:
    """Whether the inclusive window start..end shares a day with any range."""
    return any(lo <= end and start <= hi for lo, hi in ranges)
