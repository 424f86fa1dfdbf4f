"""The auto window planner on synthetic densities: no database, no network."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import pytest

from crawlspec.crawl import window_plan
from crawlspec.crawl.window_plan import Learned, Observation, SizedWindow
from crawlspec.spec.windows import Window, group_days

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
    # every attempt failed: a scale below the search's size (the prior's clean one-page searches keep it finite)
    assert window_plan.failure_scale([Observation(500, 3, 3)]) < 600
    # one unlucky failure of a small search is not read as a failure scale of its own size
    assert window_plan.failure_scale([Observation(150, 2, 1)]) > 500
    assert failing_at(300).scale == pytest.approx(300, rel=0.02)   # 1,000 attempts outweigh the prior
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


def model_cost(windows: list[Window], expected, learned: Learned) -> float:
    return sum(window_plan.expected_requests(window_plan.expected_results(w, expected) or 0.0, learned.scale, 100)
               for w in windows)


BURST = START + timedelta(days=9)
DENSITIES = {"empty": 0.0, "sparse": 1.5, "dense": 40.0, "burst": {day: 2.0 for day in SIXTY} | {BURST: 250.0}}


@pytest.mark.parametrize("learned", [Learned(), failing_at(300), failing_at(3000)], ids=["no-failures", "S=300",
                                                                                        "S=3000"])
@pytest.mark.parametrize("name", list(DENSITIES))
def test_the_plan_never_costs_more_than_fixed_windows_of_7_or_30_days(name: str, learned: Learned) -> None:
    expected = density(DENSITIES[name])
    windows = window_plan.plan(SIXTY, learned, expected)
    assert covers_exactly(windows, SIXTY)
    assert all(1 <= w.length() <= 30 for w in windows)
    cost = model_cost(windows, expected, learned)
    for fixed in (7, 30):
        assert cost <= model_cost(group_days(SIXTY, fixed), expected, learned) + 1e-9


def test_a_burst_day_does_not_drag_the_quiet_days_into_a_failing_search() -> None:
    """2 videos a day and 250 on one day, failures at a scale of 300: the burst's search fails often
    whatever surrounds it, so its window stays short and the quiet days keep large windows."""
    expected = density(DENSITIES["burst"])
    windows = window_plan.plan(SIXTY, failing_at(300), expected)
    burst_window = next(w for w in windows if BURST in w.days())
    assert burst_window.length() <= 10
    assert min(w.length() for w in windows if w != burst_window) >= 20


def test_a_day_denser_than_any_good_search_is_still_asked_alone_and_gaps_end_windows() -> None:
    days = SIXTY[:5] + SIXTY[10:12]
    windows = window_plan.plan(days, failing_at(50), density(500.0))
    assert spans(windows) == [1] * 7
    gap = window_plan.plan(days, Learned(), density(None))
    assert gap == [Window(SIXTY[0], SIXTY[4]), Window(SIXTY[10], SIXTY[11])]


def test_without_failures_a_known_density_is_planned_to_the_fewest_pages() -> None:
    """50 videos a day: 60 days need at least 30 pages; two 30-day windows of 1,500 take exactly 30."""
    windows = window_plan.plan(SIXTY, Learned(), density(50.0))
    assert sum(math.ceil(50 * w.length() / 100) for w in windows) == 30
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
                                        failures=1)
    assert (learned.max_days, learned.observations, learned.failures) == (15, (), 1)
    assert window_plan.after_split(learned).splits == 1
    assert spans(window_plan.plan(SIXTY, learned, density(None))) == [15] * 4


def test_a_failure_with_a_known_density_is_an_observation_of_the_expected_size() -> None:
    window = Window(SIXTY[0], SIXTY[9])         # 10 days x 40 = 400 expected
    learned = window_plan.after_failure(Learned(), window, density(40.0), attempts=3, failures=1)
    assert learned.observations == (Observation(400, 3, 1),) and learned.max_days == 30
    assert learned.scale is not None and learned.failures == 1


def test_a_finished_window_is_observed_and_only_the_newest_observations_are_kept() -> None:
    learned = window_plan.after_window(Learned(), results=180, attempts=4, failures=2)
    assert learned.observations == (Observation(180, 4, 2),) and learned.failures == 2
    many = learned
    for _ in range(window_plan.MAX_OBSERVATIONS + 5):
        many = window_plan.observe(many, Observation(1, 1, 0))
    assert len(many.observations) == window_plan.MAX_OBSERVATIONS


def test_a_failure_of_unknown_size_counts_once_the_density_is_known_and_the_day_limit_lapses() -> None:
    window = Window(SIXTY[0], SIXTY[29])
    learned = window_plan.after_failure(Learned(), window, density(None), attempts=1, failures=1)
    assert learned.unsized and learned.scale is None and learned.max_days == 15
    known = window_plan.with_sizes(learned, density(40.0))
    assert known.observations == (Observation(1200, 1, 1),) and not known.unsized
    assert known.scale is not None
    # the failure scale stands for the failure now: a sparse query is back to 30-day windows
    sparse = window_plan.with_sizes(learned, density(1.0))
    assert spans(window_plan.plan(SIXTY, sparse, density(1.0))) == [30, 30]


def test_a_failed_first_page_halves_the_next_window_while_the_density_is_unknown() -> None:
    window = Window(SIXTY[0], SIXTY[29])
    learned = window_plan.after_failure(Learned(), window, density(None), attempts=1, failures=1)
    assert window_plan.next_window(SIXTY, learned, density(None)) == window.halves()[0]


def test_a_window_that_is_still_the_best_choice_after_a_failure_comes_first_again() -> None:
    """8 videos a day over 10 days: one page; a failure does not make smaller windows cheaper."""
    window = Window(SIXTY[0], SIXTY[9])
    learned = window_plan.after_failure(failing_at(5000), window, density(8.0), attempts=1, failures=1)
    assert window_plan.next_window(window.days(), learned, density(8.0)) == window


def test_a_failed_big_search_makes_the_next_windows_smaller() -> None:
    window = Window(SIXTY[0], SIXTY[29])        # 30 x 40 = 1,200 videos
    learned = window_plan.after_failure(failing_at(300), window, density(40.0), attempts=1, failures=1)
    first = window_plan.next_window(SIXTY, learned, density(40.0))
    assert first.start == SIXTY[0] and first.length() <= 5


def test_the_rate_of_a_first_page_stands_for_the_days_nothing_else_is_known_of() -> None:
    window = Window(SIXTY[0], SIXTY[29])        # ends 2024-03-30; 100 results back to 2024-03-26 00:00
    rate = window_plan.page_rate(window, results=100, oldest=datetime(2024, 3, 26, tzinfo=timezone.utc))
    assert rate == pytest.approx(20.0)
    history = window_plan.expected_per_day([SizedWindow(SIXTY[40], SIXTY[40], 7)])
    assert window_plan.with_rate(history, rate)(SIXTY[0]) == 7      # what finished windows say comes first
    assert window_plan.with_rate(density(None), rate)(SIXTY[0]) == rate
    assert window_plan.with_rate(density(None), None)(SIXTY[0]) is None


def test_expected_pages_count_the_chance_of_spilling_onto_one_more_page() -> None:
    assert window_plan.expected_pages(0.0, 100) == 1.0
    assert window_plan.expected_pages(50.0, 100) == pytest.approx(1.0, abs=1e-6)
    assert 1.2 < window_plan.expected_pages(95.0, 100) < 1.4      # a page boundary within one deviation
    assert window_plan.expected_pages(1500.0, 100) == pytest.approx(15.5, abs=0.05)


def test_a_failed_page_of_a_search_that_fails_often_gives_the_window_back_while_little_of_it_is_stored() -> None:
    """30 x 40 = 1,200 results, half the attempts fail at 300: after one page the rest of the search costs
    more in retries than small windows cost in fetching that page again; after most of it, finishing wins."""
    window = Window(SIXTY[0], SIXTY[29])
    learned = window_plan.after_failure(failing_at(300), window, density(40.0), attempts=2, failures=1)
    after = SIXTY[30:]

    def finish(fetched: int, scale_learned: Learned = learned, per_day: float | None = 40.0) -> bool:
        return window_plan.worth_finishing(window, fetched=fetched, upcoming=after, learned=scale_learned,
                                           expected=density(per_day))

    assert not finish(100)
    # 500 results left are five pages of the whole 1,200-result search, each failing with its chance
    # (1,200 / 1,500), not with the chance of a 500-result search
    assert not finish(700)
    assert finish(1100)
    # no failure limit known (a rare 5xx of a cheap search): finishing is cheaper once anything is stored
    assert finish(100, Learned())
    # density unknown: pages past the first two are finished, as a window of unknown size always was
    assert not finish(200, Learned(), None) and finish(300, Learned(), None)
