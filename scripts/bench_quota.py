"""Quota efficiency of a crawl with comments and creator info: requests spent / the minimum the API allows.

    python scripts/bench_quota.py                       # seed 42, 10,000 videos, 2024-03-01..31 (3 windows)
    python scripts/bench_quota.py --seed 7 --videos 20000 --tags fashion

Starts a seeded simulator, runs `crawlspec run` (the installed CLI, a subprocess) against it with
`fetch: {comments: true, user_info: true}`, then prints, per endpoint, the requests the simulator counted,
the minimum computed from the corpus dump, and their ratio (target 1.00). The minimum:
- video pages: per window, ceil(matching videos incl. deleted ones / 100), at least 1 (the cursor
  counts deleted videos);
- comment pages: per matching live video with comment_count > 0, ceil(listed items / 100), at least 1:
  the `video_id` listing holds the comments with their replies, 1,000 items at most in all;
- user info: one per distinct creator of the matching live videos (the database starts empty).

    python scripts/bench_quota.py --planner            # --plans auto 7 30 --dense-fail-videos 1000

The planner table: a sparse (one small region), a mid-size and a dense query (a hashtag each) over 60 days,
without and with the simulator's large-search failure model (a page of a search matching M videos answers
500 with chance M/(M+N)), crawled with each window plan (`auto`, fixed 7 and 30 days per query), each run
on a fresh simulator (same seed: same corpus) into a fresh SQLite database, retry waits 0 s. With the
failure model on, every plan runs once per fault seed (`--fault-seeds`, default 20: the same corpus, other
draws of the faults) and the table shows the mean: one run's count depends on which requests happen to fail
(on the dense query one stream's count ranges from 19 to 27; five streams could not tell auto from fixed 7).
It prints the video-query requests of each run, whether the stored ids are exactly the matching live
videos, and the floor: the fewest requests any partition of the 60 days into consecutive windows of at most
30 days costs (per window max(1, ceil(results / 100)), deleted videos included). With failures the floor is
only a lower bound: failed attempts are charged too. A plan the CLI rejects (exit 2) is skipped.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from crawlspec.sim import SimOptions, start_simulator

PATHS = {"video query": "/v2/research/video/query/", "comments": "/v2/research/video/comment/list/",
         "user info": "/v2/research/user/info/"}


def read_dump(path: Path) -> tuple[list[dict], list[dict]]:
    videos, comments = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record["kind"] == "video":
                videos.append({**record["data"], "_deleted": record["deleted"]})
            elif record["kind"] == "comment":
                comments.append(record["data"])
    return videos, comments


def windows(start: date, end: date, days: int) -> list[tuple[date, date]]:
    spans, day = [], start
    while day <= end:
        spans.append((day, min(end, day + timedelta(days=days - 1))))
        day += timedelta(days=days)
    return spans


def minimum(videos: list[dict], comments: list[dict], tags: set[str], spans: list[tuple[date, date]]) -> dict:
    def day_of(video: dict) -> date:
        return datetime.fromtimestamp(video["create_time"], timezone.utc).date()

    matching = [v for v in videos if {t.lower() for t in v.get("hashtag_names", [])} & tags
                and spans[0][0] <= day_of(v) <= spans[-1][1]]
    pages = sum(max(1, math.ceil(sum(1 for v in matching if a <= day_of(v) <= b) / 100)) for a, b in spans)
    live = [v for v in matching if not v["_deleted"]]
    wanted = {v["id"] for v in live}
    listed: dict[int, int] = {}   # the video_id listing: comments and their replies, 1,000 items at most
    for comment in comments:
        if comment["video_id"] in wanted:
            listed[comment["video_id"]] = listed.get(comment["video_id"], 0) + 1
    comment_pages = sum(max(1, math.ceil(min(listed.get(v["id"], 0), 1000) / 100))
                        for v in live if v.get("comment_count", 0))
    creators = {v["username"].replace("\x00", "") for v in live if v.get("username")}
    return {"video query": pages, "comments": comment_pages, "user info": len(creators)}


def crawlspec_exe() -> str:
    exe = shutil.which("crawlspec", path=str(Path(sys.executable).parent)) or shutil.which("crawlspec")
    if exe is None:
        sys.exit("the crawlspec console script is not installed")
    return exe


def run_crawl(exe: str, sim_url: str, work: Path, spec: dict, *overrides: str) -> subprocess.CompletedProcess[str]:
    """`crawlspec run` of `spec` (written to work/specs/bench.yaml) against the simulator, into work/bench.db."""
    (work / "specs").mkdir(exist_ok=True)
    (work / "specs" / "bench.yaml").write_text(json.dumps(spec))
    env = dict(os.environ, CRAWLSPEC_CLIENT_KEY="bench", CRAWLSPEC_CLIENT_SECRET="bench-secret")
    return subprocess.run([exe, "run", "+spec=bench", f"api.base_url={sim_url}", "api.credentials_file=null",
                           f"db.url=sqlite:///{work / 'bench.db'}", "api.daily_quota=100000",
                           "api.on_quota_exhausted=exit", "log.format=json", "log.level=warning", *overrides],
                          cwd=work, env=env, capture_output=True, text=True)


def endpoint_table(args: argparse.Namespace) -> int:
    exe = crawlspec_exe()
    start, end = date(2024, 3, 1), date(2024, 3, 31)
    sim = start_simulator(SimOptions(seed=args.seed, videos=args.videos, start=start, days=31, daily_quota=100_000,
                                     client_key="bench", client_secret="bench-secret"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            sim.dump_corpus(work / "corpus.jsonl")
            spec = {"name": "bench", "query": {"include_any_hashtags": args.tags},
                    "window": {"start": start.isoformat(), "end": end.isoformat(),
                               "days_per_query": args.days_per_query},
                    "fetch": {"comments": True, "user_info": True}}
            began = time.perf_counter()
            result = run_crawl(exe, sim.url, work, spec)
            elapsed = time.perf_counter() - began
            if result.returncode != 0:
                sys.exit(f"crawlspec run exited {result.returncode}:\n{result.stderr[-3000:]}")
            videos, comments = read_dump(work / "corpus.jsonl")
            need = minimum(videos, comments, {t.lower() for t in args.tags},
                           windows(start, end, args.days_per_query))
        spent = sim.stats()["requests"]
    finally:
        sim.stop()
    print(f"seed {args.seed}, {args.videos} videos, tags {args.tags}, {start}..{end}; crawl took {elapsed:.1f} s")
    print(f"{'endpoint':<12} {'requests':>9} {'minimum':>9} {'ratio':>6}")
    total_spent = total_need = 0
    for name, path in PATHS.items():
        got = spent.get(path, 0)
        total_spent, total_need = total_spent + got, total_need + need[name]
        print(f"{name:<12} {got:>9} {need[name]:>9} {got / need[name] if need[name] else float('nan'):>6.2f}")
    print(f"{'total':<12} {total_spent:>9} {total_need:>9} {total_spent / total_need:>6.2f}")
    return 0 if total_spent == total_need else 1


# --- the planner table (--planner) ------------------------------------------------------------------------

PLANNER_START, PLANNER_DAYS = date(2024, 3, 1), 60
MAX_WINDOW_DAYS, PAGE_SIZE = 30, 100
ZERO_WAITS = ("api.retry.base_wait_s=0", "api.retry.max_wait_s=0", "api.retry.search_id_wait_s=0")
FIXED_PLANS = ("7", "30")


def video_day(video: dict) -> date:
    return datetime.fromtimestamp(video["create_time"], timezone.utc).date()


def window_pages(matched: int) -> int:
    """Requests one window costs: its pages of 100 (deleted videos hold cursor slots); an empty window costs one."""
    return max(1, math.ceil(matched / PAGE_SIZE))


def floor_partition(day_counts: Sequence[int], max_days: int = MAX_WINDOW_DAYS) -> list[range]:
    """The cheapest partition of the days into consecutive windows of at most `max_days` days, as ranges of
    day offsets, `day_counts[i]` being the search results of day i (dynamic programme over the last window)."""
    best = [0] * (len(day_counts) + 1)   # best[i]: the floor of the first i days
    last_start = [0] * (len(day_counts) + 1)
    for end in range(1, len(day_counts) + 1):
        matched, best[end] = 0, -1
        for start in range(end - 1, max(0, end - max_days) - 1, -1):
            matched += day_counts[start]
            cost = best[start] + window_pages(matched)
            if best[end] < 0 or cost < best[end]:
                best[end], last_start[end] = cost, start
    windows, end = [], len(day_counts)
    while end > 0:
        windows.append(range(last_start[end], end))
        end = last_start[end]
    return windows[::-1]


def floor_requests(day_counts: Sequence[int], max_days: int = MAX_WINDOW_DAYS) -> int:
    """The fewest requests any partition of the days into consecutive windows of at most `max_days` days costs."""
    return sum(window_pages(sum(day_counts[w.start:w.stop])) for w in floor_partition(day_counts, max_days))


def fixed_plan_requests(day_counts: Sequence[int], days: int) -> int:
    """Requests of consecutive windows of `days` days from the first day (the last one may be shorter)."""
    return sum(window_pages(sum(day_counts[i:i + days])) for i in range(0, len(day_counts), days))


def matches(video: dict, query: dict) -> bool:
    """The simulator's semantics for the two spec queries used here: any of the hashtags (case-insensitive),
    or a region code among `regions`."""
    tags = {t.lower() for t in query.get("include_any_hashtags", [])}
    if tags and not {t.lower() for t in video.get("hashtag_names", [])} & tags:
        return False
    regions = {r.upper() for r in query.get("regions", [])}
    return not regions or str(video.get("region_code", "")).upper() in regions


def daily_counts(videos: Iterable[dict], start: date, days: int) -> list[int]:
    counts = [0] * days
    for video in videos:
        offset = (video_day(video) - start).days
        if 0 <= offset < days:
            counts[offset] += 1
    return counts


def plan_argument(text: str) -> str:
    """`auto` or a number of days per query (1..30), as given on the command line."""
    if text == "auto" or (text.isdigit() and 1 <= int(text) <= MAX_WINDOW_DAYS):
        return text
    raise argparse.ArgumentTypeError(f"a plan is auto or 1..{MAX_WINDOW_DAYS} days per query, got {text!r}")


def spec_days_per_query(plan: str) -> str | int:
    return plan if plan == "auto" else int(plan)


def run_message(stderr: str) -> str:
    """What a run said last: the `message` (else `summary`) of its last JSON log line, else the line itself."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    if not lines:
        return ""
    try:
        record = json.loads(lines[-1])
    except json.JSONDecodeError:
        record = None
    if isinstance(record, dict) and (record.get("message") or record.get("summary")):
        return str(record.get("message") or record.get("summary"))[:400]
    return lines[-1][:400]


@dataclass(frozen=True)
class PlanRun:
    requests: float     # video-query requests the simulator counted, failed attempts included
    failed: int         # of which answered 500 by the failure model
    exit_code: int
    exact: bool         # stored video ids == the corpus's matching live ids
    seconds: float
    message: str

    runs: int = 1       # > 1: the mean over that many fault seeds (requests, failed) and the worst exit
    per_seed: tuple[float, ...] = ()   # with runs > 1: the requests of each fault seed, in seed order

    def cell(self) -> str:
        shown = f"{self.requests:g}" if self.runs == 1 else f"{self.requests:.1f}"
        return shown + (f" (exit {self.exit_code})" if self.exit_code else "")


def mean_run(tries: list[PlanRun]) -> PlanRun:
    """One plan's runs over several fault seeds as one row: mean requests, worst outcome."""
    if len(tries) == 1:
        return tries[0]
    return PlanRun(requests=statistics.mean(t.requests for t in tries), failed=sum(t.failed for t in tries),
                   exit_code=max(t.exit_code for t in tries), exact=all(t.exact for t in tries),
                   seconds=sum(t.seconds for t in tries), message=tries[-1].message, runs=len(tries),
                   per_seed=tuple(t.requests for t in tries))


def paired_difference(a: Sequence[float], b: Sequence[float]) -> str:
    """`a` - `b`, requests per fault seed (same seeds, same order): the mean difference and its standard
    error (one run's count depends on which requests fail, so a difference of means alone does not say
    whether it is noise)."""
    differences = [x - y for x, y in zip(a, b, strict=True)]
    error = statistics.stdev(differences) / len(differences) ** 0.5
    return f"{statistics.mean(differences):+.2f} (standard error {error:.2f}, {len(differences)} fault seeds)"


def stored_video_ids(db: Path) -> set[str]:
    if not db.exists():
        return set()
    with closing(sqlite3.connect(db)) as conn:
        return {str(row[0]) for row in conn.execute("SELECT id FROM video")}


def run_plan(exe: str, opts: SimOptions, query: dict, plan: str, expected: set[str]) -> PlanRun:
    """One crawl of `query` over the planner's 60 days with `plan`: a fresh simulator, a fresh database."""
    sim = start_simulator(opts)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            end = PLANNER_START + timedelta(days=PLANNER_DAYS - 1)
            spec = {"name": "bench", "query": query, "window": {
                "start": PLANNER_START.isoformat(), "end": end.isoformat(), "days_per_query": spec_days_per_query(plan)}}
            began = time.perf_counter()
            result = run_crawl(exe, sim.url, Path(tmp), spec, *ZERO_WAITS)
            seconds = time.perf_counter() - began
            stored = stored_video_ids(Path(tmp) / "bench.db")
        stats = sim.stats()
    finally:
        sim.stop()
    return PlanRun(requests=stats["requests"].get(PATHS["video query"], 0),
                   failed=stats["faults"].get("dense_window", 0), exit_code=result.returncode,
                   exact=stored == expected, seconds=seconds, message=run_message(result.stderr))


def run_backfill(exe: str, opts: SimOptions, query: dict, plan: str) -> tuple[int, int]:
    """A nightly back-fill in two runs on one database and one simulator: the first 30 days, then the
    last 30. Returns the video-query requests of each run (the second plans with what the first learned)."""
    sim = start_simulator(opts)
    spent: list[int] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for first, last in ((0, 29), (30, PLANNER_DAYS - 1)):
                spec = {"name": "bench", "query": query, "window": {
                    "start": (PLANNER_START + timedelta(days=first)).isoformat(),
                    "end": (PLANNER_START + timedelta(days=last)).isoformat(),
                    "days_per_query": spec_days_per_query(plan)}}
                before = sim.stats()["requests"].get(PATHS["video query"], 0)
                result = run_crawl(exe, sim.url, Path(tmp), spec, *ZERO_WAITS)
                if result.returncode:
                    sys.exit(f"back-fill run exited {result.returncode}: {run_message(result.stderr)}")
                spent.append(sim.stats()["requests"].get(PATHS["video query"], 0) - before)
    finally:
        sim.stop()
    return spent[0], spent[1]


def backfill_table(args: argparse.Namespace, exe: str, base: SimOptions, plans: list[str]) -> None:
    """With the failure model on: what a later run over new days costs once the first run learned."""
    print(f"\nnightly back-fill with the failure model on (two runs on one database: days 1-30, then 31-60; "
          f"mean over fault seeds 1..{args.fault_seeds}):")
    print("| query | plan | first run (days 1-30) | second run (days 31-60) |")
    print("| --- | --- | --- | --- |")
    differences = []
    for label, query in list(planner_queries(args).items())[1:]:
        seconds: dict[str, list[int]] = {}
        for plan in plans:
            runs = [run_backfill(exe, replace(base, dense_fail_videos=args.dense_fail_videos, fault_seed=seed),
                                 query, plan) for seed in range(1, args.fault_seeds + 1)]
            first, second = (statistics.mean(r[i] for r in runs) for i in (0, 1))
            seconds[plan] = [r[1] for r in runs]
            print(f"| {label} | {plan} | {first:.1f} | {second:.1f} ({', '.join(str(r[1]) for r in runs)}) |")
        if "auto" in seconds and "7" in seconds and args.fault_seeds > 1:
            differences.append(f"{label}, second run, auto - fixed 7 per fault seed: "
                               f"{paired_difference(seconds['auto'], seconds['7'])}")
    for line in differences:
        print(line)


def planner_queries(args: argparse.Namespace) -> dict[str, dict]:
    return {f"sparse: region {args.sparse_region.upper()}": {"regions": [args.sparse_region.upper()]},
            f"mid: #{args.mid_tag}": {"include_any_hashtags": [args.mid_tag]},
            f"dense: #{args.dense_tag}": {"include_any_hashtags": [args.dense_tag]}}


def ratio(a: PlanRun | None, b: int) -> str:
    return f"{a.requests / b:.2f}" if a is not None and b else "-"


def planner_table(args: argparse.Namespace, exe: str) -> int:
    base = SimOptions(seed=args.seed, videos=args.videos, start=PLANNER_START, days=PLANNER_DAYS,
                      deleted_rate=args.deleted_rate, daily_quota=100_000, client_key="bench",
                      client_secret="bench-secret")
    sim = start_simulator(base)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sim.dump_corpus(Path(tmp) / "corpus.jsonl")
            corpus, _ = read_dump(Path(tmp) / "corpus.jsonl")
    finally:
        sim.stop()
    print(f"$ python scripts/bench_quota.py {' '.join(sys.argv[1:])}")
    print(f"seed {args.seed}, {args.videos} videos ({args.deleted_rate:g} deleted), {PLANNER_START} + {PLANNER_DAYS} "
          f"days; failure model: --dense-fail-videos {args.dense_fail_videos}; retry waits 0 s")
    plans, skipped, rows, problems = list(args.plans), set(), [], 0
    for label, query in planner_queries(args).items():
        matching = [v for v in corpus if matches(v, query)
                    and 0 <= (video_day(v) - PLANNER_START).days < PLANNER_DAYS]
        counts = daily_counts(matching, PLANNER_START, PLANNER_DAYS)
        expected = {str(v["id"]) for v in matching if not v["_deleted"]}
        floor = floor_requests(counts)
        print(f"{label}: {len(matching)} results, floor {floor}: " + ", ".join(
            f"{PLANNER_START + timedelta(days=w.start):%m-%d}..{PLANNER_START + timedelta(days=w.stop - 1):%m-%d} "
            f"({sum(counts[w.start:w.stop])})" for w in floor_partition(counts)))
        for failures in (False, True):
            runs: dict[str, PlanRun] = {}
            for plan in [p for p in plans if p not in skipped]:
                seeds = range(1, args.fault_seeds + 1) if failures else (None,)
                tries = [run_plan(exe, replace(base, dense_fail_videos=args.dense_fail_videos if failures else 0,
                                               fault_seed=seed), query, plan, expected) for seed in seeds]
                if any(run.exit_code == 2 for run in tries):
                    skipped.add(plan)
                    print(f"plan {plan} skipped: crawlspec run exited 2 (invalid input): {tries[0].message}")
                    continue
                run = runs[plan] = mean_run(tries)
                print(f"  {label:<22} failures {'on ' if failures else 'off'} plan {plan:>4}: {run.cell():>5} requests "
                      f"({run.failed} answered 500), exit {run.exit_code}, exact {'yes' if run.exact else 'no'}, "
                      f"{run.seconds:.1f} s" + (f"; per fault seed {[t.requests for t in tries]}" if failures else ""))
                if run.exit_code or not run.exact:
                    problems += 1
                if not failures and plan in FIXED_PLANS:
                    want = fixed_plan_requests(counts, int(plan))
                    problems += run.requests != want
                    print(f"    check: fixed {plan} without failures used {run.requests} requests, the per-window "
                          f"sum from the dump is {want}: {'ok' if run.requests == want else 'MISMATCH'}")
            rows.append((label, f"{len(matching)} ({len(expected)} live)", failures, floor, runs))
    print()
    print("| query | videos (live) | failures | floor | auto | fixed 7 | fixed 30 | auto/floor | auto <= fixed 7 | exact |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, size, failures, floor, runs in rows:
        auto, seven = runs.get("auto"), runs.get("7")
        cells = [runs[p].cell() if p in runs else "-" for p in ("auto", "7", "30")]
        within = "yes" if auto and seven and auto.requests <= seven.requests else ("no" if auto and seven else "-")
        inexact = [plan for plan, run in runs.items() if not run.exact]
        exact = f"no ({', '.join(inexact)})" if inexact else ("yes" if runs else "-")
        print(f"| {label} | {size} | {'on' if failures else 'off'} | {floor}{' *' if failures else ''} | "
              f"{' | '.join(cells)} | {ratio(auto, floor)} | {within} | {exact} |")
    for label, _size, failures, _floor, runs in rows:
        auto, seven = runs.get("auto"), runs.get("7")
        if failures and auto and seven and len(auto.per_seed) > 1:
            print(f"{label} with failures, auto - fixed 7 per fault seed: "
                  f"{paired_difference(auto.per_seed, seven.per_seed)}")
    if args.backfill:
        backfill_table(args, exe, base, [p for p in plans if p not in skipped])
    print(f"\nfloor: the fewest requests of any plan of consecutive windows of <= {MAX_WINDOW_DAYS} days, from the "
          "corpus dump; * with failures it is a lower bound only (failed attempts are charged too).")
    print("requests: video-query requests the simulator counted, failed attempts included (with failures: the mean "
          f"over fault seeds 1..{args.fault_seeds}); (exit N): the worst exit code when not 0; exact: the stored video "
          "ids are the corpus's matching live ids in every run (else the plans that missed).")
    return 1 if problems else 0


def add_planner_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("planner table (--planner): requests per window plan vs the floor")
    group.add_argument("--planner", action="store_true", help="print the planner table instead of the endpoint one")
    group.add_argument("--plans", nargs="+", type=plan_argument, default=["auto", "7", "30"],
                       help="auto and/or days per query; a plan whose run exits 2 (not accepted) is skipped")
    group.add_argument("--dense-fail-videos", type=int, default=1000,
                       help="failure model when on: a page of a search matching M videos fails with chance M/(M+N)")
    group.add_argument("--fault-seeds", type=int, default=20,
                       help="with the failure model on, each plan runs once per fault seed 1..N over the same corpus "
                            "(the table shows the mean)")
    group.add_argument("--backfill", action="store_true",
                       help="also time a nightly back-fill with failures: days 1-30, then 31-60 on the same database")
    group.add_argument("--deleted-rate", type=float, default=0.05)
    group.add_argument("--sparse-region", default="PL")
    group.add_argument("--mid-tag", default="gym")
    group.add_argument("--dense-tag", default="viral")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--tags", nargs="+", default=["shoes", "sneakers", "fashion"])
    parser.add_argument("--days-per-query", type=int, default=14)
    add_planner_arguments(parser)
    args = parser.parse_args()
    if args.planner:
        return planner_table(args, crawlspec_exe())
    return endpoint_table(args)


if __name__ == "__main__":
    sys.exit(main())
