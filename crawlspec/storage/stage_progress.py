"""How far each stage of a spec has got, read from the database: the days of its range by state,
its videos per UTC day, and the comment, creator and user-list stages as done/pending counts.

Read-only; shared by `crawlspec status` and `crawlspec report`. Tolerant of databases migrated
before the stage tables existed (a missing table counts as nothing done).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

DAY_STATES = ("covered", "pending", "failing", "empty-unconfirmed")
"""A day of a spec's range is covered (delivered completely), failing (parked after 5xx answers),
empty-unconfirmed (answered empty once, asked again before it counts), or pending (anything else)."""


@dataclass(frozen=True)
class SpecRange:
    """The days a spec's crawls asked for: from the earliest start to the latest end of its crawls."""

    start: date
    end: date

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


@dataclass(frozen=True)
class StageCounts:
    done: int = 0
    pending: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"done": self.done, "pending": self.pending, **self.extra}


def _has(conn: Connection, table: str) -> bool:
    return sa.inspect(conn).has_table(table)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def spec_range(conn: Connection, fingerprint: str) -> SpecRange | None:
    row = conn.execute(sa.text("SELECT min(start_date), max(end_date) FROM crawl WHERE fingerprint = :fp "
                               "AND start_date IS NOT NULL"), {"fp": fingerprint}).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return SpecRange(_as_date(row[0]), _as_date(row[1]))


def day_states(conn: Connection, fingerprint: str, days: list[date]) -> dict[date, str]:
    """Each day of `days` with its state (DAY_STATES)."""
    covered = {_as_date(r[0]) for r in conn.execute(
        sa.text("SELECT day FROM covered_day WHERE fingerprint = :fp"), {"fp": fingerprint})}
    failing: set[date] = set()
    if _has(conn, "failing_day"):
        failing = {_as_date(r[0]) for r in conn.execute(
            sa.text("SELECT day FROM failing_day WHERE fingerprint = :fp"), {"fp": fingerprint})}
    empty = unconfirmed_empty_days(conn, fingerprint)
    states = {}
    for day in days:
        if day in covered:
            states[day] = "covered"
        elif day in failing:
            states[day] = "failing"
        elif day in empty:
            states[day] = "empty-unconfirmed"
        else:
            states[day] = "pending"
    return states


def unconfirmed_empty_days(conn: Connection, fingerprint: str) -> set[date]:
    """Days whose window answered empty once and awaits its confirming request."""
    if not _has(conn, "empty_day"):
        return set()
    rows = conn.execute(sa.text("SELECT day FROM empty_day WHERE fingerprint = :fp"), {"fp": fingerprint})
    return {_as_date(day) for (day,) in rows}


def _of_spec() -> str:
    return ("SELECT vc.video_id FROM videos_to_crawls vc JOIN crawl c ON c.id = vc.crawl_id "
            "WHERE c.fingerprint = :fp")


def videos_per_day(conn: Connection, fingerprint: str) -> dict[date, int]:
    """The spec's stored videos by UTC day of creation."""
    if conn.dialect.name == "postgresql":
        day = "to_char(v.create_time AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    else:
        day = "substr(v.create_time, 1, 10)"
    rows = conn.execute(sa.text(
        f"SELECT {day} AS d, count(*) FROM video v WHERE v.id IN ({_of_spec()}) "
        f"AND v.create_time IS NOT NULL GROUP BY d ORDER BY d"), {"fp": fingerprint})
    return {_as_date(d): n for d, n in rows}


def comment_stage(conn: Connection, fingerprint: str) -> StageCounts:
    """Videos of the spec with comments: listings done vs not done yet."""
    wanted = conn.execute(sa.text(
        f"SELECT count(*) FROM video v WHERE v.id IN ({_of_spec()}) AND v.comment_count > 0"),
        {"fp": fingerprint}).scalar_one()
    if not _has(conn, "comment_progress"):
        return StageCounts(0, wanted)
    done = conn.execute(sa.text(
        f"SELECT count(*) FROM comment_progress p WHERE p.target = 'video' AND p.status = 'done' "
        f"AND p.video_id IN ({_of_spec()})"), {"fp": fingerprint}).scalar_one()
    comments = conn.execute(sa.text(
        f"SELECT count(*) FROM comment WHERE video_id IN ({_of_spec()})"), {"fp": fingerprint}).scalar_one()
    return StageCounts(done, max(0, wanted - done), {"comments_stored": comments})


def creator_stage(conn: Connection, fingerprint: str) -> StageCounts:
    """Distinct creators of the spec's videos: known (profile stored or looked up) vs not asked yet."""
    creators = conn.execute(sa.text(
        f"SELECT count(DISTINCT lower(v.username)) FROM video v WHERE v.id IN ({_of_spec()}) "
        f"AND v.username IS NOT NULL AND v.username <> ''"), {"fp": fingerprint}).scalar_one()
    known_sources = ["SELECT lower(username) AS u FROM user_info"]
    if _has(conn, "user_lookup"):
        known_sources.append("SELECT lower(username) AS u FROM user_lookup")
    known = conn.execute(sa.text(
        f"SELECT count(DISTINCT lower(v.username)) FROM video v WHERE v.id IN ({_of_spec()}) "
        f"AND lower(v.username) IN (SELECT u FROM ({' UNION '.join(known_sources)}) k)"),
        {"fp": fingerprint}).scalar_one()
    return StageCounts(known, max(0, creators - known))


def user_list_stage(conn: Connection, fingerprint: str) -> dict[str, int]:
    """A users spec's lists by status (done, unavailable, in_progress, failed, ...)."""
    if not _has(conn, "user_list_progress"):
        return {}
    return dict(conn.execute(sa.text(
        "SELECT l.status, count(*) FROM user_list_progress l JOIN crawl c ON c.id = l.crawl_id "
        "WHERE c.fingerprint = :fp GROUP BY l.status ORDER BY l.status"), {"fp": fingerprint}).all())


def requests_per_day(conn: Connection) -> dict[str, dict[date, int]]:
    """The quota ledger: requests per pool and UTC day."""
    pools: dict[str, dict[date, int]] = {}
    for day, pool, used in conn.execute(sa.text("SELECT day, pool, used FROM quota_ledger ORDER BY day")):
        pools.setdefault(pool, {})[_as_date(day)] = used
    return pools
