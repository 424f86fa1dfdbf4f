"""The auto window planner on synthetic densities: no database, no network."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crawlspec.crawl import window_plan
from crawlspec.crawl.window_plan import Learned, Observation, SizedWindow
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


def failing_at(scale: float) -> Learned:
    """Lessons whose fitted failure scale is about `scale`: 1,000 attempts at a search of `scale` videos,
    half of them failed (the chance of a 5xx is n / (n + S): one half at n = S)."""
    return Learned(observations=(Observation(int(scale), 1000, 500),))


def test_the_failure_scale_is_fitted_to_the_attempts_seen() -> None:
    assert window_plan.failure_scale([]) is None
    assert window_plan.failure_scale([Observation(500, 10, 0)]) is None        # no failure: no limit
    assert window_plan.failure_scale([Observation(500, 3, 3)]) == 1.0           # no success: tiny
    assert failing_at(300).scale == pytest.approx(300, rel=1e-3)
    # chances 100/(100+400) = 0.2 and 900/(900+400) = 0.69 in one fit
    mixed = [Observation(100, 1000, 200), Observation(900, 1000, 692)]
    assert window_plan.failure_scale(mixed) == pytest.approx(400, rel=0.02)


def test_a_dense_query_that_fails_gets_windows_that_fill_a_page() -> None:
    """30 videos a day, failures at a scale of 300: a 30-day search (900 videos) would fail 75% of
    the time; windows of one page cost the fewest requests, failures included."""
    windows = window_plan.plan(SIXTY, failing_at(300), density(30.0))
    assert covers_exactly(windows, SIXTY)
    assert spans(windows) == [3] * 20                      # 90 videos: one page, 23% failures
    free = window_plan.plan(SIXTY, Learned(), density(30.0))
    assert max(spans(free)) > 20                           # without failures: large windows


def test_a_burst_day_gets_a_window_of_its_own_and_the_quiet_days_around_it_stay_together() -> None:
    burst = START + timedelta(days=9)
    per_day = {day: 2.0 for day in SIXTY} | {burst: 900.0}
    windows = window_plan.plan(SIXTY, failing_at(1000), density(per_day))
    assert Window(burst, burst) in windows
    assert covers_exactly(windows, SIXTY)
    assert len(windows) <= 4                               # the 58 quiet days take two or three windows
    assert all(w.length() >= 9 for w in windows if burst not in w.days())


def test_a_day_denser_than_any_good_search_is_still_asked_alone_and_gaps_end_windows() -> None:
    days = SIXTY[:5] + SIXTY[10:12]
    windows = window_plan.plan(days, failing_at(50), density(500.0))
    assert spans(windows) == [1] * 7
    gap = window_plan.plan(days, Learned(), density(None))
    assert gap == [Window(SIXTY[0], SIXTY[4]), Window(SIXTY[10], SIXTY[11])]


def test_without_failures_a_known_density_is_planned_to_the_fewest_pages() -> None:
    """50 videos a day: 60 days need at least 30 pages; two 30-day windows of 1,500 take exactly 30."""
    windows = window_plan.plan(SIXTY, Learned(), density(50.0))
    assert sum(window_plan.expected_requests(50.0 * w.length(), None, 100) for w in windows) == 30
    assert covers_exactly(windows, SIXTY)


def test_expected_density_prefers_the_smallest_finished_window_holding_the_day() -> None:
    history = [SizedWindow(SIXTY[0], SIXTY[29], 300), SizedWindow(SIXTY[0], SIXTY[0], 100)]
    expected = window_plan.expected_per_day(history)
    assert expected(SIXTY[0]) == 100            # its own one-day window
    assert expected(SIXTY[1]) == 10             # the 30-day window's average
    assert expected(SIXTY[45]) == 400 / 31      # never seen: the overall average
    assert window_plan.expected_per_day([])(SIXTY[0]) is None


def test_a_failure_without_a_known_density_halves_the_day_limit() -> None:
    learned = window_plan.after_failure(Learned(), Window(SIXTY[0], SIXTY[29]), density(None), attempts=1,
                                        split=True)
    assert (learned.max_days, learned.observations, learned.failures, learned.splits) == (15, (), 1, 1)
    assert spans(window_plan.plan(SIXTY, learned, density(None))) == [15] * 4


def test_a_failure_with_a_known_density_is_an_observation_of_the_expected_size() -> None:
    window = Window(SIXTY[0], SIXTY[9])         # 10 days x 40 = 400 expected
    learned = window_plan.after_failure(Learned(), window, density(40.0), attempts=3, split=False)
    assert learned.observations == (Observation(400, 3, 1),) and learned.max_days == 30
    assert learned.scale is not None and learned.splits == 0


def test_a_finished_window_is_observed_and_a_clean_one_at_the_day_limit_lets_it_grow_back() -> None:
    learned = Learned(max_days=8)
    grown = window_plan.after_window(learned, Window(SIXTY[0], SIXTY[7]), results=180, attempts=2, failures=0)
    assert grown.max_days == 10 and grown.observations == (Observation(180, 2, 0),)
    failed = window_plan.after_window(learned, Window(SIXTY[0], SIXTY[7]), results=180, attempts=4, failures=2)
    assert failed.max_days == 8 and failed.failures == 2
    many = learned
    for _ in range(window_plan.MAX_OBSERVATIONS + 5):
        many = window_plan.observe(many, Observation(1, 1, 0))
    assert len(many.observations) == window_plan.MAX_OBSERVATIONS


@pytest.mark.parametrize(("days", "per_day", "cursor", "split"), [
    (1, None, 0, False),        # a single day cannot be split
    (30, None, 0, True),        # unknown density: the first page splits at once ...
    (30, None, 100, False),     # ... later pages are retried (page 1 would be fetched again)
    (10, 5.0, 0, False),        # 50 expected: fits on one page
    (10, 50.0, 0, True),        # 500 expected, nothing fetched yet
    (10, 50.0, 200, True),      # less than half fetched
    (10, 50.0, 300, False),     # most of it fetched: cheaper to finish
])
def test_when_a_5xx_splits_a_window_at_once(days: int, per_day: float | None, cursor: int, split: bool) -> None:
    window = Window(START, START + timedelta(days=days - 1))
    assert window_plan.split_at_once(window, density(per_day), cursor=cursor, page_size=100) is split
