"""Date windows: inclusive UTC day ranges of at most `days_per_query` days (the API allows 30)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

API_DATE_FORMAT = "%Y%m%d"


@dataclass(frozen=True, order=True)
class Window:
    """Days `start` to `end`, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window end {self.end} is before its start {self.start}")

    def api_dates(self) -> tuple[str, str]:
        """`(start_date, end_date)` as the API wants them: `YYYYMMDD`."""
        return self.start.strftime(API_DATE_FORMAT), self.end.strftime(API_DATE_FORMAT)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.length())]

    def length(self) -> int:
        return (self.end - self.start).days + 1

    def halves(self) -> tuple[Window, Window]:
        """The window split in two (the first half gets the middle day of an odd span); at least 2 days."""
        days = self.days()
        middle = (len(days) + 1) // 2
        return Window(days[0], days[middle - 1]), Window(days[middle], days[-1])

    def to_document(self) -> dict[str, str]:
        start_date, end_date = self.api_dates()
        return {"start_date": start_date, "end_date": end_date}


def split_window(start: date, end: date, days_per_query: int) -> list[Window]:
    """Consecutive windows of `days_per_query` days covering start..end; the last may be shorter."""
    if days_per_query < 1:
        raise ValueError(f"days_per_query must be at least 1, got {days_per_query}")
    if end < start:
        raise ValueError(f"window end {end} is before its start {start}")
    step = timedelta(days=days_per_query)
    windows: list[Window] = []
    chunk_start = start
    while chunk_start <= end:
        chunk_end = min(chunk_start + step - timedelta(days=1), end)
        windows.append(Window(chunk_start, chunk_end))
        chunk_start = chunk_end + timedelta(days=1)
    return windows


def _consecutive_runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def group_days(days: Iterable[date], days_per_query: int) -> list[Window]:
    """Windows covering exactly `days` (e.g. the pending days of a crawl): sorted, de-duplicated,
    each run of consecutive days split into chunks of at most `days_per_query` days."""
    ordered = sorted(set(days))
    windows: list[Window] = []
    for run_start, run_end in _consecutive_runs(ordered):
        windows.extend(split_window(run_start, run_end, days_per_query))
    return windows
