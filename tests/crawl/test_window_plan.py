"""The auto window planner on synthetic densities: no database, no network."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crawlspec.crawl import window_plan
from crawlspec.crawl.window_plan import Learned, SizedWindow
from crawlspec.spec.windows import Window

START = date(2024, 3, 1)
SIXTY = [START + timedelta(days=i) for i in range(60)]


def density(per_day: dict[date, float] | float | None):
    def expected(day: date) -> float | None:
        if isinstance(per_day, dict):
            return per_day.get(day, 0.0)
        return per_day
    return expected


def spans(windows: list[Window]) -> list[int]:
    return [w.length() for w in windows]


def covers_exactly(windows: list[Window], days: list[date]) -> bool:
    return [d for w in windows for d in w.days()] == days


@pytest.mark.parametrize("per_day", [None, 0.0, 1.5], ids=["nothing-known", "empty", "sparse"])
def test_without_a_failure_every_window_is_as_large_as_the_api_allows(per_day) -> None:
    windows = window_plan.plan(SIXTY, Learned(), density(per_day))
    assert spans(windows) == [30, 30]
    assert covers_exactly(windows, SIXTY)


def test_a_dense_query_under_a_search_cap_gets_windows_that_fit_the_cap() -> None:
    windows = window_plan.plan(SIXTY, Learned(search_cap=200), density(50.0))
    assert spans(windows) == [4] * 15          # 4 days x 50 = 200 videos: the most under the cap
    assert covers_exactly(windows, SIXTY)


def test_a_burst_day_gets_a_window_of_its_own_and_the_quiet_days_around_it_stay_together() -> None:
    burst = START + timedelta(days=9)
    per_day = {day: 2.0 for day in SIXTY} | {burst: 900.0}
    windows = window_plan.plan(SIXTY, Learned(search_cap=300), density(per_day))
    assert Window(burst, burst) in windows
    assert windows[0] == Window(START, burst - timedelta(days=1))          # 9 quiet days: 18 videos
    assert windows[2] == Window(burst + timedelta(days=1), burst + timedelta(days=30))   # 30 days again
    assert covers_exactly(windows, SIXTY)


def test_a_day_denser_than_the_cap_is_still_asked_alone_and_gaps_end_windows() -> None:
    days = SIXTY[:5] + SIXTY[10:12]
    windows = window_plan.plan(days, Learned(search_cap=10), density(500.0))
    assert spans(windows) == [1] * 7
    gap = window_plan.plan(days, Learned(), density(None))
    assert gap == [Window(SIXTY[0], SIXTY[4]), Window(SIXTY[10], SIXTY[11])]


def test_the_day_limit_applies_while_the_density_is_unknown() -> None:
    assert spans(window_plan.plan(SIXTY, Learned(max_days=15), density(None))) == [15] * 4


def test_expected_density_prefers_the_smallest_finished_window_holding_the_day() -> None:
    history = [SizedWindow(SIXTY[0], SIXTY[29], 300), SizedWindow(SIXTY[0], SIXTY[0], 100)]
    expected = window_plan.expected_per_day(history)
    assert expected(SIXTY[0]) == 100            # its own one-day window
    assert expected(SIXTY[1]) == 10             # the 30-day window's average
    assert expected(SIXTY[45]) == 400 / 31      # never seen: the overall average
    assert window_plan.expected_per_day([])(SIXTY[0]) is None


def test_a_failure_without_a_known_density_halves_the_day_limit() -> None:
    learned = window_plan.after_failure(Learned(), Window(SIXTY[0], SIXTY[29]), density(None), split=True,
                                        page_size=100)
    assert (learned.max_days, learned.search_cap, learned.failures, learned.splits) == (15, None, 1, 1)


def test_a_failure_with_a_known_density_caps_the_search_but_never_below_one_page() -> None:
    window = Window(SIXTY[0], SIXTY[9])         # 10 days x 40 = 400 expected
    learned = window_plan.after_failure(Learned(), window, density(40.0), split=False, page_size=100)
    assert learned.search_cap == int(400 * window_plan.SHRINK) and learned.splits == 0
    again = window_plan.after_failure(learned, Window(SIXTY[0], SIXTY[1]), density(40.0), split=True,
                                      page_size=100)
    assert again.search_cap == 100              # 80 expected: a one-page search is not made smaller
    bigger = window_plan.after_failure(again, window, density(40.0), split=True, page_size=100)
    assert bigger.search_cap == 100             # a failure never raises the cap


def test_a_clean_window_near_a_limit_lets_it_grow_back() -> None:
    learned = Learned(max_days=8, search_cap=200)
    grown = window_plan.after_clean_window(learned, Window(SIXTY[0], SIXTY[7]), results=180)
    assert (grown.max_days, grown.search_cap) == (10, 250)
    assert window_plan.after_clean_window(learned, Window(SIXTY[0], SIXTY[1]), results=20) == learned
    top = Learned(max_days=30, search_cap=None)
    assert window_plan.after_clean_window(top, Window(SIXTY[0], SIXTY[29]), results=5000) == top


@pytest.mark.parametrize(("days", "per_day", "cursor", "split"), [
    (1, None, 0, False),        # a single day cannot be split
    (30, None, 0, True),        # unknown density: the first page ...
    (30, None, 100, True),      # ... and the second split at once
    (30, None, 200, False),     # later pages are retried
    (10, 5.0, 0, False),        # 50 expected: fits on one page
    (10, 50.0, 0, True),        # 500 expected, nothing fetched yet
    (10, 50.0, 200, True),      # less than half fetched
    (10, 50.0, 300, False),     # most of it fetched: cheaper to finish
])
def test_when_a_5xx_splits_a_window_at_once(days: int, per_day: float | None, cursor: int, split: bool) -> None:
    window = Window(START, START + timedelta(days=days - 1))
    assert window_plan.split_at_once(window, density(per_day), cursor=cursor, page_size=100) is split
