"""crawlspec.spec.windows: inclusive windows, splitting a range, grouping pending days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crawlspec.spec.windows import Window, group_days, split_window


def d(day: int, month: int = 3) -> date:
    return date(2024, month, day)


def test_window_is_inclusive_and_formats_api_dates():
    window = Window(d(1), d(3))
    assert window.api_dates() == ("20240301", "20240303")
    assert window.days() == [d(1), d(2), d(3)]
    assert Window(d(5), d(5)).days() == [d(5)]


def test_window_end_before_start_is_refused():
    with pytest.raises(ValueError, match="window end .* is before its start"):
        Window(d(2), d(1))


def test_split_month_into_weeks_last_one_shorter():
    windows = split_window(d(1), d(31), 7)
    assert [w.api_dates() for w in windows] == [
        ("20240301", "20240307"), ("20240308", "20240314"), ("20240315", "20240321"),
        ("20240322", "20240328"), ("20240329", "20240331"),
    ]


def test_split_exact_multiple_and_single_day_and_max_window():
    assert [w.api_dates() for w in split_window(d(1), d(14), 7)] == [("20240301", "20240307"),
                                                                     ("20240308", "20240314")]
    assert split_window(d(9), d(9), 30) == [Window(d(9), d(9))]
    assert split_window(d(1), d(30), 30) == [Window(d(1), d(30))]
    assert [w.api_dates() for w in split_window(date(2024, 2, 27), d(2), 2)] == [
        ("20240227", "20240228"), ("20240229", "20240301"), ("20240302", "20240302")]


def test_split_windows_cover_every_day_exactly_once():
    start, end = date(2023, 12, 20), date(2024, 3, 3)
    for days_per_query in (1, 3, 7, 30):
        windows = split_window(start, end, days_per_query)
        days = [day for w in windows for day in w.days()]
        assert days == [start + timedelta(days=i) for i in range((end - start).days + 1)]
        assert all(w.length() <= days_per_query for w in windows)


def test_group_days_sorts_deduplicates_and_splits_runs():
    pending = [d(10), d(2), d(3), d(1), d(4), d(12), d(11), d(3), d(20)]
    assert [w.api_dates() for w in group_days(pending, 3)] == [
        ("20240301", "20240303"), ("20240304", "20240304"), ("20240310", "20240312"), ("20240320", "20240320"),
    ]
    assert group_days([], 7) == []


def test_days_per_query_below_one_is_refused():
    with pytest.raises(ValueError, match="days_per_query must be at least 1, got 0"):
        split_window(d(1), d(2), 0)
