"""The invariants of the model-based test: what the database, the quota ledger and the simulator's
request counters must say after any sequence of runs, kills, fault bursts and day changes.

`check()` returns the violations as sentences (an empty list when everything holds)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from support.model_harness import LISTS, Oracle

# (link table, its column, the table it points to, that table's key)
REFERENCES = [
    ("videos_to_hashtags", "video_id", "video", "id"), ("videos_to_hashtags", "hashtag_id", "hashtag", "id"),
    ("videos_to_effect_ids", "video_id", "video", "id"), ("videos_to_effect_ids", "effect_id", "effect", "id"),
    ("videos_to_crawls", "video_id", "video", "id"), ("videos_to_crawls", "crawl_id", "crawl", "id"),
    ("videos_to_crawl_tags", "video_id", "video", "id"), ("videos_to_crawl_tags", "crawl_tag_id", "crawl_tag", "id"),
    ("crawls_to_crawl_tags", "crawl_id", "crawl", "id"), ("crawls_to_crawl_tags", "crawl_tag_id", "crawl_tag", "id"),
    ("user_liked_video", "video_id", "video", "id"), ("user_pinned_video", "video_id", "video", "id"),
    ("user_reposted_video", "video_id", "video", "id"), ("covered_day", "crawl_id", "crawl", "id"),
    ("crawl_window", "crawl_id", "crawl", "id"), ("user_list_progress", "crawl_id", "crawl", "id"),
]
PAIRS = {"videos_to_hashtags": "video_id, hashtag_id", "videos_to_effect_ids": "video_id, effect_id",
         "videos_to_crawls": "video_id, crawl_id", "videos_to_crawl_tags": "video_id, crawl_tag_id",
         "crawls_to_crawl_tags": "crawl_id, crawl_tag_id", "user_liked_video": "username, video_id",
         "user_pinned_video": "username, video_id", "user_reposted_video": "username, video_id",
         "user_follower": "username, follower_username", "user_following": "username, following_username"}
LIST_TABLES = {"liked_videos": ("user_liked_video", "video_id"), "pinned_videos": ("user_pinned_video", "video_id"),
               "reposted_videos": ("user_reposted_video", "video_id"),
               "followers": ("user_follower", "follower_username"),
               "following": ("user_following", "following_username")}


@dataclass
class ModelState:
    """What the test did, as the model knows it (the oracle of requests and quota)."""

    today: date
    requested_days: set[date] = field(default_factory=set)
    users_days: set[date] = field(default_factory=set)
    kills: Counter[str] = field(default_factory=Counter)          # per spec
    kills_by_day: Counter[date] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)         # injected 500s received, per spec
    requests: Counter[str] = field(default_factory=Counter)       # research requests received, per spec
    sim_used: dict[tuple[date, str], int] = field(default_factory=dict)   # the simulator's charge per day, pool
    runs: int = 0
    long_bursts: int = 0        # bursts of at least MAX_TRIES errors met by a run: calls may fail for good
    dropped_pages: int = 0      # pages committed in windows the runner then split or recorded as failing days
    video_minimum: int = 0      # set by check(): pages of the windows the runner crawled
    ledger_over_sim: int = 0    # set by check(): requests reserved in the ledger but never received


def days_between(start: date, end: date) -> set[date]:
    return {start + timedelta(n) for n in range((end - start).days + 1)}


def _rows(conn: sa.Connection, sql: str, **params) -> list[tuple]:
    return [tuple(row) for row in conn.execute(sa.text(sql), params)]


def check(db_url: str, oracle: Oracle, model: ModelState, *, final_window: tuple[date, date] | None = None) -> list[str]:
    """Every invariant; with `final_window` also completeness (everything requested is stored)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("video"):
                return [] if model.runs == 0 else ["no tables after a run"]
            problems = _links(conn) + _ledger(conn, model)
            problems += _video_spec(conn, oracle, model, final_window)
            problems += _users_spec(conn, oracle, model, final=final_window is not None)
            return problems
    finally:
        engine.dispose()


def window_label(start: date, end: date) -> str:
    """The runner's name of a window in its log events."""
    return f"{start:%Y%m%d}-{end:%Y%m%d}"


def window_pages(db_url: str, *, unfinished_only: bool = False) -> dict[str, int]:
    """Pages committed in each window of the video spec (the only spec with windows), by label."""
    rows, _failing = _runner_state(db_url, unfinished_only)
    return rows


def failing_days_left(db_url: str) -> int:
    return _runner_state(db_url, True)[1]


def _runner_state(db_url: str, unfinished_only: bool) -> tuple[dict[str, int], int]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("crawl_window"):
                return {}, 0
            where = " WHERE status <> 'done'" if unfinished_only else ""
            rows = _rows(conn, "SELECT start_date, end_date, pages FROM crawl_window" + where)
            failing = _rows(conn, "SELECT count(*) FROM failing_day")[0][0]
    finally:
        engine.dispose()
    return {window_label(_day(a), _day(b)): pages for a, b, pages in rows}, failing


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _links(conn: sa.Connection) -> list[str]:
    problems = []
    for table, column, target, key in REFERENCES:
        orphans = _rows(conn, f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "
                              f"(SELECT 1 FROM {target} r WHERE r.{key} = t.{column})")[0][0]
        if orphans:
            problems.append(f"{orphans} rows of {table}.{column} point to no {target}")
    for table, pair in PAIRS.items():
        total, distinct = _rows(conn, f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {pair} FROM "
                                      f"{table}) d) FROM {table}")[0]
        if total != distinct:
            problems.append(f"{table}: {total - distinct} duplicate rows")
    unlinked = _rows(conn, "SELECT count(*) FROM video v WHERE NOT EXISTS "
                           "(SELECT 1 FROM videos_to_crawls l WHERE l.video_id = v.id)")[0][0]
    if unlinked:
        problems.append(f"{unlinked} videos are linked to no crawl")
    return problems


def _ledger(conn: sa.Connection, model: ModelState) -> list[str]:
    """The ledger reserves before sending: it may exceed what the simulator charged by the requests a kill
    cut off between reservation and sending (at most one per kill), never fall below it."""
    problems = []
    ledger = {(_day(d), pool): used
              for d, pool, used in _rows(conn, "SELECT day, pool, used FROM quota_ledger")}
    model.ledger_over_sim = 0
    for key in set(ledger) | set(model.sim_used):
        used, charged = ledger.get(key, 0), model.sim_used.get(key, 0)
        model.ledger_over_sim += used - charged
        if not charged <= used <= charged + model.kills_by_day[key[0]]:
            problems.append(f"quota ledger {key[0]} {key[1]}: {used} reserved, the simulator charged {charged} "
                            f"({model.kills_by_day[key[0]]} kills that day)")
    return problems


def _video_spec(conn: sa.Connection, oracle: Oracle, model: ModelState,
                final_window: tuple[date, date] | None) -> list[str]:
    problems: list[str] = []
    fingerprint = _rows(conn, "SELECT fingerprint FROM crawl_spec WHERE name = 'model'")
    if not fingerprint:
        return [f"{model.requests['model']} video requests and no spec row"] if model.requests["model"] else []
    fp = fingerprint[0][0]
    covered = {_day(d)
               for (d,) in _rows(conn, "SELECT day FROM covered_day WHERE fingerprint = :fp", fp=fp)}
    windows = _rows(conn, "SELECT start_date, end_date, status, pages FROM crawl_window WHERE fingerprint = :fp", fp=fp)
    stored = {vid for (vid,) in _rows(conn, "SELECT DISTINCT l.video_id FROM videos_to_crawls l JOIN crawl c "
                                            "ON c.id = l.crawl_id WHERE c.spec_name = 'model'")}
    if not covered <= model.requested_days:
        problems.append(f"days covered but never requested: {sorted(covered - model.requested_days)}")
    done_days: list[date] = []
    minimum = 0
    for start, end, status, pages in windows:
        start, end = _day(start), _day(end)
        if status == "done":
            done_days += sorted(days_between(start, end))
            if pages != oracle.window_pages(start, end):
                problems.append(f"window {start}..{end}: {pages} pages, the corpus needs "
                                f"{oracle.window_pages(start, end)}")
            minimum += oracle.window_pages(start, end)
        elif status == "failed":
            problems.append(f"window {start}..{end} failed")
        else:
            minimum += pages
    minimum += model.dropped_pages
    if len(done_days) != len(set(done_days)):
        problems.append(f"days crawled to the end twice: {sorted(d for d, n in Counter(done_days).items() if n > 1)}")
    if set(done_days) != covered:
        problems.append(f"covered days {sorted(covered)} differ from the done windows' {sorted(set(done_days))}")
    expected_all = oracle.live(model.requested_days)
    if stored - expected_all:
        problems.append(f"{len(stored - expected_all)} videos stored that the query does not match")
    missing = oracle.live(covered) - stored
    if missing:
        problems.append(f"{len(missing)} videos of covered days missing, e.g. {sorted(missing)[:3]}")
    problems += _hashtags(conn, oracle, stored)
    model.video_minimum = minimum
    spent, allowed = model.requests["model"], minimum + model.kills["model"] + model.faults["model"]
    if not minimum <= spent <= allowed:
        problems.append(f"video requests {spent}: minimum {minimum} (pages of the windows crawled), "
                        f"+{model.kills['model']} kills, +{model.faults['model']} injected 500s")
    if final_window is not None and not days_between(*final_window) <= covered:
        problems.append(f"after completion, days not covered: {sorted(days_between(*final_window) - covered)}")
    return problems


def _hashtags(conn: sa.Connection, oracle: Oracle, stored: set[int]) -> list[str]:
    found: dict[int, set[str]] = {}
    for vid, name in _rows(conn, "SELECT l.video_id, h.name FROM videos_to_hashtags l JOIN hashtag h "
                                 "ON h.id = l.hashtag_id"):
        found.setdefault(vid, set()).add(name)
    wrong = [vid for vid in stored if vid in oracle.hashtags and found.get(vid, set()) != oracle.hashtags[vid]]
    return [f"{len(wrong)} videos with other hashtags than the corpus's, e.g. {wrong[:3]}"] if wrong else []


def _users_spec(conn: sa.Connection, oracle: Oracle, model: ModelState, *, final: bool) -> list[str]:
    problems: list[str] = []
    progress = {(u, n): s for u, n, s in _rows(conn, "SELECT username, list, status FROM user_list_progress")}
    for user in oracle.users:
        for name in LISTS:
            table, other = LIST_TABLES[name]
            rows = {r for (r,) in _rows(conn, f"SELECT {other} FROM {table} WHERE username = :u", u=user)}
            items, available = oracle.list_items(user, name), oracle.lists[(user, name)]["available"]
            status = progress.get((user, name))
            expected_status = "done" if available else "unavailable"
            if status in ("done", "unavailable") and status != expected_status:
                problems.append(f"{user} {name}: {status}, the corpus says {expected_status}")
            if status in ("done", "unavailable") and rows != items:
                problems.append(f"{user} {name} ({status}): {len(rows)} rows, the corpus has {len(items)}; "
                                f"missing {sorted(items - rows)[:3]}, unexpected {sorted(rows - items)[:3]}")
            elif not rows <= items:
                problems.append(f"{user} {name}: rows the corpus does not have: {sorted(rows - items)[:3]}")
            if (status == "failed" and not model.long_bursts) or (final and status != expected_status):
                problems.append(f"{user} {name}: {status} after {'completion' if final else 'a run'}")
    spent = model.requests["people"]
    allowed = oracle.users_minimum(len(model.users_days)) + model.kills["people"] + model.faults["people"]
    if spent > allowed:
        problems.append(f"users requests {spent} > {oracle.users_minimum(len(model.users_days))} (pages of every list "
                        f"once, refused ones once per day) +{model.kills['people']} kills "
                        f"+{model.faults['people']} injected 500s")
    return problems
