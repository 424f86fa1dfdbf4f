"""The planner table's floor in scripts/bench_quota.py: the fewest video-query requests any partition of
the days into consecutive windows of at most 30 days costs (one request per started 100 results, one for
an empty window). scripts/ is not a package: the script is loaded from its file."""

from __future__ import annotations

import importlib.util
import itertools
import math
import subprocess
import sys
from types import ModuleType

import pytest
from support.paths import REPO_ROOT


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_quota", REPO_ROOT / "scripts" / "bench_quota.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = _load_script()


def brute_force_floor(counts: list[int], max_days: int) -> int:
    """Every partition of the days (a cut or not between each two days), for short ranges."""
    best = math.inf
    for cuts in itertools.product((False, True), repeat=max(0, len(counts) - 1)):
        windows, current = [], [counts[0]]
        for cut, count in zip(cuts, counts[1:], strict=True):
            if cut:
                windows.append(current)
                current = []
            current.append(count)
        windows.append(current)
        if all(len(w) <= max_days for w in windows):
            best = min(best, sum(max(1, math.ceil(sum(w) / 100)) for w in windows))
    return int(best)


def test_an_empty_range_costs_nothing() -> None:
    assert bench.floor_requests([]) == 0
    assert bench.fixed_plan_requests([], 7) == 0


def test_sparse_days_need_one_request_per_30_days() -> None:
    assert bench.floor_requests([1] * 60) == 2
    assert bench.floor_requests([0] * 61) == 3
    assert bench.floor_requests([2] * 30) == 1
    assert bench.fixed_plan_requests([1] * 60, 7) == 9


def test_dense_days_cost_their_pages_whatever_the_plan() -> None:
    assert bench.floor_requests([100] * 60) == 60
    assert bench.floor_requests([50] * 60) == 30
    assert bench.fixed_plan_requests([50] * 60, 7) == 8 * 4 + 2   # eight windows of 350, then 4 days of 200


def test_a_burst_on_one_day_costs_its_pages_once() -> None:
    counts = [0] * 60
    counts[45] = 250
    assert bench.floor_requests(counts) == 1 + 3
    assert bench.fixed_plan_requests(counts, 30) == 1 + 3
    assert bench.fixed_plan_requests(counts, 7) == 8 + 3


def test_the_floor_moves_window_edges_off_a_burst() -> None:
    counts = [0] * 40
    counts[28] = counts[29] = 60   # fixed 30-day windows put both days in one window of 120 results
    assert bench.fixed_plan_requests(counts, 30) == 2 + 1
    assert bench.floor_requests(counts) == 1 + 1


@pytest.mark.parametrize("counts", [[0, 150, 60, 40, 0, 99, 1, 250, 0, 30, 70, 5], [99, 2, 99, 2, 99, 2, 99, 2],
                                    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 300]])
@pytest.mark.parametrize("max_days", [1, 3, 5, 30])
def test_the_floor_is_the_best_partition(counts: list[int], max_days: int) -> None:
    assert bench.floor_requests(counts, max_days) == brute_force_floor(counts, max_days)
    assert bench.floor_requests(counts, max_days) <= bench.fixed_plan_requests(counts, max_days)


def test_the_floor_and_plans_count_days_of_the_range_only() -> None:
    videos = [{"create_time": 1709251200 + offset * 86400 + 60, "region_code": "pl", "hashtag_names": ["Gym"]}
              for offset in (-1, 0, 0, 59, 60)]   # 2024-03-01 is day 0 of 60
    counts = bench.daily_counts(videos, bench.PLANNER_START, 60)
    assert (counts[0], counts[59], sum(counts)) == (2, 1, 3)
    assert bench.matches(videos[0], {"regions": ["PL"]}) and bench.matches(videos[0], {"include_any_hashtags": ["gym"]})
    assert not bench.matches(videos[0], {"regions": ["DE"]})


@pytest.mark.slow
def test_the_planner_table_matches_the_per_window_sums_of_the_dump() -> None:
    """The whole script on a small corpus: fixed 30-day windows use exactly the requests the dump predicts,
    and every crawl stores exactly the matching live videos."""
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "bench_quota.py"), "--planner",
                             "--videos", "3000", "--plans", "30"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("check: fixed 30 without failures") == 3
    assert "MISMATCH" not in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith(("| sparse", "| mid", "| dense"))]
    assert len(rows) == 6 and all(row.endswith("| yes |") for row in rows)


def test_the_floor_partition_covers_every_day_once_in_windows_of_at_most_30() -> None:
    counts = [0, 150, 60, 40, 0, 99, 1, 250, 0, 30, 70, 5] * 6
    windows = bench.floor_partition(counts)
    assert [day for window in windows for day in window] == list(range(len(counts)))
    assert all(1 <= len(window) <= 30 for window in windows)
    assert bench.floor_partition([]) == []
