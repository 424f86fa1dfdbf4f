"""Revision 0007: databases made before the fetch flags left the fingerprint keep their coverage,
checkpoints and failure records under the new fingerprint, merged when several flags were used."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone

import sqlalchemy as sa

from alembic import command
from crawlspec.spec.compile import compile_spec
from crawlspec.storage import checkpoints
from crawlspec.storage.database import _alembic_config, head_revision, open_database, upgrade_database
from crawlspec.storage.models import CoveredDay, Crawl, CrawlSpec, CrawlWindow, FailingDay, FailureSpend

SPEC = {"name": "shoes", "query": {"include_any_hashtags": ["shoes"], "regions": ["US"]},
        "window": {"start": "2024-03-01", "end": "2024-03-31", "days_per_query": 7}}
NO_STAGES = {"comments": False, "user_info": False}
COMMENTS = {"comments": True, "user_info": False}
USERS_FP = "f" * 64
T0 = datetime(2024, 4, 1, tzinfo=timezone.utc)
T1 = datetime(2024, 4, 2, tzinfo=timezone.utc)


def old_fingerprint(query: dict, fetch: dict, fields: tuple[str, ...]) -> str:
    """The fingerprint before revision 0007: the fetch flags were part of it."""
    canonical = json.dumps({"query": query, "fetch": fetch, "fields": list(fields)},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def day(n: int) -> date:
    return date(2024, 3, n)


def window(fp: str, first: int, last: int, status: str, pages: int) -> dict:
    return {"fingerprint": fp, "start_date": day(first), "end_date": day(last), "status": status, "cursor": pages * 100,
            "search_id": None, "has_more": status != "done", "pages": pages, "videos": pages * 100, "failures": 0}


def failing(fp: str, failures: int, when: datetime) -> dict:
    return {"fingerprint": fp, "day": day(20), "failures": failures, "requests": failures, "first_failed_at": T0,
            "last_failed_at": when, "retry_after": day(25)}


def make_database_at_0004(url: str, a: str, b: str, plan) -> None:
    engine = open_database(url, upgrade=False)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0004")
        spec_rows = [(a, NO_STAGES), (b, COMMENTS)]
        conn.execute(sa.insert(CrawlSpec.__table__), [
            {"fingerprint": fp, "name": "shoes", "query": plan.query, "fields": list(plan.fields), "fetch": fetch,
             "created_at": T0} for fp, fetch in spec_rows]
            + [{"fingerprint": USERS_FP, "name": "people", "query": {}, "fields": ["id"], "fetch": {"info": True},
                "created_at": T0}])
        conn.execute(sa.insert(Crawl.__table__), [{"id": 1, "fingerprint": a}, {"id": 2, "fingerprint": b},
                                                  {"id": 3, "fingerprint": USERS_FP}])
        conn.execute(sa.insert(CoveredDay.__table__), [
            {"fingerprint": fp, "day": day(n), "crawl_id": None, "covered_at": T0}
            for fp, n in ((a, 1), (a, 2), (b, 2), (b, 3), (USERS_FP, 1))])
        conn.execute(sa.insert(CrawlWindow.__table__), [
            window(a, 1, 7, "done", 3), window(b, 1, 7, "in_progress", 1), window(b, 8, 14, "in_progress", 2)])
        conn.execute(sa.insert(FailingDay.__table__), [failing(a, 2, T0), failing(b, 5, T1)])
        conn.execute(sa.insert(FailureSpend.__table__), [
            {"day": day(20), "fingerprint": a, "requests": 3}, {"day": day(20), "fingerprint": b, "requests": 4}])
    engine.dispose()


def test_old_fingerprints_merge_into_the_new_one_with_their_coverage(db_url: str) -> None:
    plan = compile_spec(SPEC)
    a, b = old_fingerprint(plan.query, NO_STAGES, plan.fields), old_fingerprint(plan.query, COMMENTS, plan.fields)
    new = plan.fingerprint
    assert len({a, b, new}) == 3
    make_database_at_0004(db_url, a, b, plan)

    engine = open_database(db_url, upgrade=False)
    assert upgrade_database(engine) == head_revision()

    with engine.connect() as conn:
        def values(sql: str) -> list[tuple]:
            return [tuple(row) for row in conn.execute(sa.text(sql))]

        assert sorted(values("SELECT fingerprint, name FROM crawl_spec")) == sorted([(new, "shoes"),
                                                                                    (USERS_FP, "people")])
        assert values("SELECT id, fingerprint FROM crawl ORDER BY id") == [(1, new), (2, new), (3, USERS_FP)]
        assert checkpoints.covered_days(conn, new, day(1), day(31)) == {day(1), day(2), day(3)}
        assert checkpoints.covered_days(conn, USERS_FP, day(1), day(31)) == {day(1)}
        windows = checkpoints.unfinished_windows(conn, new)
        assert [(w.start_date, w.end_date, w.pages) for w in windows] == [(day(8), day(14), 2)]
        assert values("SELECT status, pages FROM crawl_window WHERE start_date = "
                      f"'{day(1)}'") == [("done", 3)], "the done checkpoint wins over the unfinished one"
        assert values("SELECT fingerprint, failures FROM failing_day") == [(new, 5)]
        assert values("SELECT fingerprint, requests FROM failure_spend") == [(new, 7)]
        assert values("SELECT count(*) FROM crawl_window WHERE fingerprint IN "
                      f"('{a}', '{b}')") == [(0,)]
    engine.dispose()
