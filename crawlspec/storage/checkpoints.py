"""Window checkpoints and day coverage.

A window's checkpoint (cursor, search_id, has_more, pages, videos) is advanced in the same transaction
as the rows of the page it describes, so a crash can never leave a checkpoint that claims more (or
less) than was stored. None of these functions commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec import exit_codes
from crawlspec.errors import CrawlspecError
from crawlspec.storage.bulk import chunked, dialect_insert
from crawlspec.storage.models import UNFINISHED_STATUSES, CoveredDay, CrawlWindow, table_of

WINDOW_TABLE = table_of(CrawlWindow)
COVERED_TABLE = table_of(CoveredDay)
MAX_ERROR_CHARS = 2000


class CheckpointConflict(CrawlspecError):
    """The window's checkpoint moved since it was read (another process crawls it, or a stale state
    was passed): this page is rolled back; the other writer's pages are safe. Run again to resume."""

    exit_code = exit_codes.RESUMABLE


@dataclass(frozen=True)
class WindowState:
    id: int
    fingerprint: str
    start_date: date
    end_date: date
    status: str  # pending | in_progress | done | failed
    cursor: int
    search_id: str | None
    has_more: bool
    pages: int
    videos: int
    crawl_id: int | None = None
    failures: int = 0
    last_error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED_STATUSES


_STATE_FIELDS = frozenset(field.name for field in fields(WindowState))


def _state(row: Any) -> WindowState:
    return WindowState(
        id=row.id, fingerprint=row.fingerprint, start_date=row.start_date, end_date=row.end_date,
        status=row.status, cursor=row.cursor, search_id=row.search_id, has_more=bool(row.has_more),
        pages=row.pages, videos=row.videos, crawl_id=row.crawl_id, failures=row.failures,
        last_error=row.last_error,
    )


def _load(conn: Connection, window_id: int) -> WindowState:
    row = conn.execute(sa.select(WINDOW_TABLE).where(WINDOW_TABLE.c.id == window_id)).one()
    return _state(row)


def _fresh_values(now: datetime, crawl_id: int | None) -> dict[str, Any]:
    return {"status": "pending", "cursor": 0, "search_id": None, "has_more": True, "pages": 0,
            "videos": 0, "crawl_id": crawl_id, "started_at": now, "updated_at": now,
            "finished_at": None, "lease_owner": None, "lease_until": None, "failures": 0,
            "last_error": None}


def open_window(conn: Connection, *, fingerprint: str, start_date: date, end_date: date,
                crawl_id: int | None, now: datetime) -> WindowState:
    """The checkpoint of the window with these bounds, created pending if new.

    Unfinished windows are returned as they are (resume from their cursor) and adopted by `crawl_id`;
    a failed window becomes pending again at its last committed cursor; a done window (its days were
    not marked covered, e.g. inside the API's index lag, or a refetch) starts over from cursor 0."""
    bounds = {"fingerprint": fingerprint, "start_date": start_date, "end_date": end_date}
    insert = dialect_insert(conn, WINDOW_TABLE).on_conflict_do_nothing(
        index_elements=["fingerprint", "start_date", "end_date"])
    conn.execute(insert, {**bounds, **_fresh_values(now, crawl_id)})
    where = sa.and_(*(WINDOW_TABLE.c[key] == value for key, value in bounds.items()))
    row = conn.execute(sa.select(WINDOW_TABLE).where(where)).one()
    if row.status == "done":
        values = _fresh_values(now, crawl_id)
    elif row.status == "failed":
        values = {"status": "pending", "crawl_id": crawl_id, "updated_at": now, "finished_at": None}
    elif row.crawl_id != crawl_id:
        values = {"crawl_id": crawl_id, "updated_at": now}
    else:
        return _state(row)
    conn.execute(sa.update(WINDOW_TABLE).where(WINDOW_TABLE.c.id == row.id).values(**values))
    return _load(conn, row.id)


def unfinished_windows(conn: Connection, fingerprint: str) -> list[WindowState]:
    """Pending and in-progress windows of a fingerprint, oldest dates first."""
    table = WINDOW_TABLE
    rows = conn.execute(
        sa.select(table)
        .where(table.c.fingerprint == fingerprint, table.c.status.in_(UNFINISHED_STATUSES))
        .order_by(table.c.start_date, table.c.end_date, table.c.id)
    )
    return [_state(row) for row in rows]


# Statements built once: SQLAlchemy finds their compiled form in its cache, without
# building and hashing a new statement for every page.
_GUARD = sa.and_(WINDOW_TABLE.c.id == sa.bindparam("guard_id"),
                 WINDOW_TABLE.c.cursor == sa.bindparam("guard_cursor"),
                 WINDOW_TABLE.c.pages == sa.bindparam("guard_pages"),
                 WINDOW_TABLE.c.status.in_(UNFINISHED_STATUSES))
_GUARDED_UPDATE = sa.update(WINDOW_TABLE).where(_GUARD)   # SET: the columns of the parameters given
_CLAIM = sa.update(WINDOW_TABLE).where(
    _GUARD, sa.or_(WINDOW_TABLE.c.lease_owner.is_(None), WINDOW_TABLE.c.lease_owner == sa.bindparam("owner"),
                   WINDOW_TABLE.c.lease_until < sa.bindparam("now"))
).values(lease_owner=sa.bindparam("owner"), lease_until=sa.bindparam("until"))


def _guarded_update(conn: Connection, window: WindowState, values: dict[str, Any]) -> WindowState:
    """UPDATE the window only if its checkpoint is still the one `window` describes; the new state is
    `window` with `values` (the guard proved the row held `window`, so no read-back is needed)."""
    result = conn.execute(_GUARDED_UPDATE, {
        **values, "guard_id": window.id, "guard_cursor": window.cursor, "guard_pages": window.pages})
    if result.rowcount != 1:
        current = _load(conn, window.id)
        raise CheckpointConflict(
            f"the checkpoint of window {window.start_date}..{window.end_date} moved (now {current.status}, "
            f"cursor {current.cursor}, page {current.pages}; expected cursor {window.cursor}, page "
            f"{window.pages}): another process may be crawling it; this page was not stored, run again "
            "to resume"
        )
    return replace(window, **{key: value for key, value in values.items() if key in _STATE_FIELDS})


def advance_window(conn: Connection, window: WindowState, *, cursor: int, search_id: str | None,
                   has_more: bool, videos_on_page: int, crawl_id: int | None,
                   now: datetime) -> WindowState:
    """Record one stored page: the next cursor and search_id; the window is done when has_more is false.

    Pass the state returned by the previous call (or by open_window/restart_window): a checkpoint that
    moved meanwhile raises CheckpointConflict, which rolls the page back."""
    values: dict[str, Any] = {
        "cursor": int(cursor), "search_id": None if search_id is None else str(search_id),
        "has_more": bool(has_more), "pages": window.pages + 1, "videos": window.videos + int(videos_on_page),
        "crawl_id": crawl_id, "updated_at": now, "status": "in_progress" if has_more else "done",
    }
    if not has_more:
        values.update(finished_at=now, lease_owner=None, lease_until=None)
    return _guarded_update(conn, window, values)


def restart_window(conn: Connection, window: WindowState, *, now: datetime) -> WindowState:
    """Back to cursor 0 without a search_id (the API rejected the stored one); upserts absorb the
    overlap. `pages` keeps counting requests; `videos` restarts."""
    return _guarded_update(conn, window, {"cursor": 0, "search_id": None, "has_more": True, "videos": 0,
                                          "status": "pending", "updated_at": now})


def fail_window(conn: Connection, window: WindowState, *, error: str, now: datetime) -> WindowState:
    """Mark a window failed (a fatal API error); the next run resumes it from its last cursor."""
    conn.execute(
        sa.update(WINDOW_TABLE).where(WINDOW_TABLE.c.id == window.id).values(
            status="failed", last_error=error[:MAX_ERROR_CHARS], failures=WINDOW_TABLE.c.failures + 1,
            updated_at=now, lease_owner=None, lease_until=None)
    )
    return _load(conn, window.id)


def claim_window(conn: Connection, window: WindowState, *, owner: str, until: datetime,
                 now: datetime) -> bool:
    """Take (or renew) the window's lease unless another live owner holds it; True when taken.

    Optional: for processes that may share one fingerprint (parallel jobs) and want to skip a window
    someone else is crawling instead of meeting a CheckpointConflict. Only a window whose checkpoint is
    still the one `window` describes can be taken: a snapshot read before another process advanced or
    finished the window (and released its lease) must not be fetched again."""
    result = conn.execute(_CLAIM, {"guard_id": window.id, "guard_cursor": window.cursor,
                                   "guard_pages": window.pages, "owner": owner, "until": until, "now": now})
    return result.rowcount == 1


def renew_leases(conn: Connection, owner: str, *, until: datetime) -> int:
    """Extend every lease `owner` holds to `until` (its heartbeat); the number of windows renewed."""
    result = conn.execute(sa.update(WINDOW_TABLE).where(WINDOW_TABLE.c.lease_owner == owner)
                          .values(lease_until=until))
    return int(result.rowcount)


def release_leases(conn: Connection, owner: str) -> int:
    """Give up every lease `owner` holds (its process stops); the number of windows released. Their
    checkpoints stay as committed: the next process resumes them from their cursor."""
    result = conn.execute(sa.update(WINDOW_TABLE).where(WINDOW_TABLE.c.lease_owner == owner)
                          .values(lease_owner=None, lease_until=None))
    return int(result.rowcount)


def leased_windows(conn: Connection, fingerprint: str, *, now: datetime) -> list[tuple[date, date, str]]:
    """Unfinished windows of the fingerprint whose lease runs past `now`: (start, end, lease owner)."""
    table = WINDOW_TABLE
    rows = conn.execute(sa.select(table.c.start_date, table.c.end_date, table.c.lease_owner).where(
        table.c.fingerprint == fingerprint, table.c.status.in_(UNFINISHED_STATUSES),
        table.c.lease_owner.is_not(None), table.c.lease_until > now))
    return [(start, end, owner) for start, end, owner in rows]


def covered_days(conn: Connection, fingerprint: str, start: date, end: date) -> set[date]:
    """Days in [start, end] already fully delivered for this fingerprint."""
    table = COVERED_TABLE
    rows = conn.execute(sa.select(table.c.day).where(
        table.c.fingerprint == fingerprint, table.c.day >= start, table.c.day <= end))
    return set(rows.scalars())


def mark_days_covered(conn: Connection, fingerprint: str, days: Iterable[date], *,
                      crawl_id: int | None, now: datetime) -> None:
    """Record days as covered (idempotent; a re-fetch records its crawl and time)."""
    rows = [{"fingerprint": fingerprint, "day": day, "crawl_id": crawl_id, "covered_at": now}
            for day in sorted(set(days))]
    for part in chunked(rows):
        stmt = dialect_insert(conn, COVERED_TABLE)
        stmt = stmt.on_conflict_do_update(
            index_elements=["fingerprint", "day"],
            set_={"crawl_id": stmt.excluded.crawl_id, "covered_at": stmt.excluded.covered_at})
        conn.execute(stmt, list(part))


def delete_window(conn: Connection, window_id: int) -> None:
    """Remove a window's checkpoint row."""
    conn.execute(sa.delete(WINDOW_TABLE).where(WINDOW_TABLE.c.id == window_id))


def windows_overtaken(conn: Connection, window_ids: Sequence[int]) -> list[tuple[int, str | None, datetime | None]]:
    """Of these unfinished windows, those with a day covered after the window was opened: other windows
    (of other bounds) delivered that day since, so this one can never resume (a window resumes only while
    all its days are pending). A refetch's windows are opened after their days were covered and are not
    returned. Rows: (id, lease owner, lease until)."""
    window, covered = WINDOW_TABLE, COVERED_TABLE
    found: list[tuple[int, str | None, datetime | None]] = []
    for part in chunked(list(window_ids)):
        query = sa.select(window.c.id, window.c.lease_owner, window.c.lease_until).where(
            window.c.id.in_(part), sa.exists().where(
                covered.c.fingerprint == window.c.fingerprint, covered.c.day >= window.c.start_date,
                covered.c.day <= window.c.end_date, covered.c.covered_at > window.c.started_at))
        found.extend((row.id, row.lease_owner, row.lease_until) for row in conn.execute(query))
    return found


def window_lease_owner(conn: Connection, window_id: int) -> str | None:
    """Who holds the window's lease (None: nobody, or no such window)."""
    owner: str | None = conn.execute(sa.select(WINDOW_TABLE.c.lease_owner)
                                     .where(WINDOW_TABLE.c.id == window_id)).scalar()
    return owner


def window_status(conn: Connection, window_id: int) -> str | None:
    """The window's status; None when the window is gone (split, or dropped as a failing day)."""
    status: str | None = conn.execute(sa.select(WINDOW_TABLE.c.status)
                                      .where(WINDOW_TABLE.c.id == window_id)).scalar()
    return status


def spec_had_videos(conn: Connection, fingerprint: str) -> bool:
    """Whether any window of the spec delivered videos."""
    query = sa.select(WINDOW_TABLE.c.id).where(WINDOW_TABLE.c.fingerprint == fingerprint,
                                               WINDOW_TABLE.c.videos > 0).limit(1)
    return conn.execute(query).first() is not None
