"""Provenance: the spec registry (one row per fingerprint) and the `crawl` rows of each run."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.storage.bulk import dialect_insert, ids_for_names, union_links
from crawlspec.storage.models import Crawl, CrawlSpec, CrawlTag, CrawlWindow, crawls_to_crawl_tags, table_of
from crawlspec.text import storable, storable_text

CRAWL_TABLE = table_of(Crawl)
SPEC_TABLE = table_of(CrawlSpec)


def register_spec(conn: Connection, *, fingerprint: str, name: str, query: Mapping[str, Any],
                  fields: Sequence[str] | Any, fetch: Mapping[str, Any], now: datetime) -> None:
    """Record the spec behind a fingerprint once; a later run switching a stage on (`fetch.comments`, ...) adds
    its flag, so `status` and `report` show every stage the fingerprint has asked for (the fingerprint
    does not depend on the flags). Idempotent."""
    stmt = dialect_insert(conn, SPEC_TABLE).on_conflict_do_nothing(index_elements=["fingerprint"])
    conn.execute(stmt, {"fingerprint": fingerprint, "name": name, "query": storable(dict(query)),
                        "fields": storable(list(fields) if not isinstance(fields, str) else fields),
                        "fetch": dict(fetch), "created_at": now})
    stored = conn.execute(sa.select(SPEC_TABLE.c.fetch).where(SPEC_TABLE.c.fingerprint == fingerprint)).scalar_one()
    stored = dict((json.loads(stored) if isinstance(stored, str) else stored) or {})
    merged = {**stored, **{key: stored.get(key) or value for key, value in fetch.items()}}
    if merged != stored:
        conn.execute(sa.update(SPEC_TABLE).where(SPEC_TABLE.c.fingerprint == fingerprint).values(fetch=merged))


def start_crawl(conn: Connection, *, spec_name: str, fingerprint: str, query: Mapping[str, Any],
                start_date: date, end_date: date, tags: Sequence[str], overrides: Sequence[str] | None,
                now: datetime) -> int:
    """Insert the `crawl` row of a run (with its crawl tags) and return its id."""
    crawl_id = conn.execute(
        sa.insert(CRAWL_TABLE).returning(CRAWL_TABLE.c.id),
        {"spec_name": spec_name, "fingerprint": fingerprint, "query": storable(dict(query)),
         "start_date": start_date, "end_date": end_date,
         "overrides": list(overrides) if overrides is not None else None,
         "started_at": now, "requests": 0, "videos": 0},
    ).scalar_one()
    names = {storable_text(tag).strip() for tag in tags} - {""}
    tag_ids = ids_for_names(conn, table_of(CrawlTag), "name", names)
    union_links(conn, crawls_to_crawl_tags, ((crawl_id, tag_id) for tag_id in tag_ids.values()))
    return int(crawl_id)


def finish_crawl(conn: Connection, crawl_id: int, *, outcome: str, exit_code: int, requests: int,
                 videos: int, now: datetime) -> None:
    """Close a crawl row: outcome (e.g. complete / quota / interrupted / failed), exit code, counts."""
    result = conn.execute(
        sa.update(CRAWL_TABLE).where(CRAWL_TABLE.c.id == crawl_id).values(
            finished_at=now, outcome=outcome, exit_code=exit_code, requests=requests, videos=videos)
    )
    if result.rowcount != 1:
        raise LookupError(f"no crawl with id {crawl_id}")


def mark_crawl_sample(conn: Connection, crawl_id: int) -> None:
    """The crawl row says its run is a random sample (whose days are never covered)."""
    conn.execute(sa.update(CRAWL_TABLE).where(CRAWL_TABLE.c.id == crawl_id)
                 .values(extra_data={"sample": True, "is_random": True}))


def close_dead_crawls(conn: Connection, fingerprint: str, *, holder_gone: Callable[[str, datetime | None], bool],
                      now: datetime) -> list[int]:
    """Close as `interrupted` (exit 75) the unfinished crawl rows of this fingerprint whose process is
    gone (killed, its node lost): every window lease the row's run still holds belongs to a process
    `holder_gone` says is gone. A row without any lease left proves nothing and stays open.
    Returns the ids closed; their videos are those of the windows they crawled."""
    windows = table_of(CrawlWindow)
    open_ids = conn.execute(sa.select(CRAWL_TABLE.c.id).where(
        CRAWL_TABLE.c.fingerprint == fingerprint, CRAWL_TABLE.c.finished_at.is_(None))).scalars().all()
    closed = []
    for crawl_id in open_ids:
        rows = conn.execute(sa.select(windows.c.lease_owner, windows.c.lease_until, windows.c.videos)
                            .where(windows.c.crawl_id == crawl_id)).all()
        leases = [(row.lease_owner, row.lease_until) for row in rows if row.lease_owner]
        if not leases or not all(holder_gone(owner, until) for owner, until in leases):
            continue
        conn.execute(sa.update(CRAWL_TABLE).where(CRAWL_TABLE.c.id == crawl_id).values(
            finished_at=now, outcome="interrupted", exit_code=75, videos=sum(row.videos or 0 for row in rows)))
        closed.append(int(crawl_id))
    return closed
