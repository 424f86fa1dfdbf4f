"""A request reserved ahead in a page's transaction (`RequestBudget.reserve_ahead`): counted only when that
transaction commits, used by the next request without a statement of its own, given back when unused, and
never moved to another UTC day (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from support.clock import Clock

from crawlspec.crawl.quota import RequestBudget
from crawlspec.storage.database import open_database
from crawlspec.storage.ledger import QuotaLedger

VIDEOS = "/v2/research/video/query/"
FOLLOWERS = "/v2/research/user/followers/"
DAY = datetime(2024, 3, 1, 23, 59, 59, tzinfo=timezone.utc)


def statements_during(engine: Engine, action: Any) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def reserve_in_a_page(engine: Engine, budget: RequestBudget, *, commit: bool = True) -> None:
    """What the video crawl does: reserve the next request last in the page's transaction, hold it after."""
    with engine.connect() as conn:
        transaction = conn.begin()
        ahead = budget.reserve_ahead(conn, VIDEOS)
        assert ahead is not None
        if not commit:
            transaction.rollback()
            return
        transaction.commit()
    budget.hold(ahead)


def test_the_next_request_uses_the_reservation_without_a_statement(engine: Engine) -> None:
    ledger = QuotaLedger(engine, limits={"research": 10}, clock=Clock(DAY))
    budget = RequestBudget(ledger)
    budget(VIDEOS)                        # the first page: a reservation of its own
    reserve_in_a_page(engine, budget)
    assert ledger.used() == 2 and budget.used == 1 and budget.remaining() == 8
    assert statements_during(engine, lambda: budget(VIDEOS)) == []
    assert ledger.used() == 2 and budget.used == 2 and budget.sent_by_this_thread() == 2
    assert len(statements_during(engine, lambda: budget(VIDEOS))) == 1   # none held any more: its own
    assert ledger.used() == 3 == budget.used


def test_a_rolled_back_page_takes_its_reservation_with_it(engine: Engine) -> None:
    ledger = QuotaLedger(engine, limits={"research": 10}, clock=Clock(DAY))
    budget = RequestBudget(ledger)
    reserve_in_a_page(engine, budget, commit=False)
    assert ledger.used() == 0
    budget(VIDEOS)
    assert ledger.used() == 1 == budget.used   # nothing was held: the request reserved for itself


def test_an_unused_reservation_is_given_back(engine: Engine) -> None:
    ledger = QuotaLedger(engine, limits={"research": 10}, clock=Clock(DAY))
    budget = RequestBudget(ledger)
    reserve_in_a_page(engine, budget)
    assert ledger.used() == 1
    assert budget.release_unused() == 1 and budget.release_unused() == 0
    assert ledger.used() == 0 and budget.used == 0


def test_a_reservation_is_used_only_by_a_request_of_its_pool(engine: Engine) -> None:
    ledger = QuotaLedger(engine, limits={"research": 10, "follow": 10}, clock=Clock(DAY))
    budget = RequestBudget(ledger)
    reserve_in_a_page(engine, budget)
    budget(FOLLOWERS)
    assert (ledger.used("research"), ledger.used("follow")) == (1, 1)
    budget(VIDEOS)
    assert (ledger.used("research"), ledger.used("follow")) == (1, 1)


def test_a_reservation_of_yesterday_is_given_back_to_its_day(engine: Engine) -> None:
    clock = Clock(DAY)
    ledger = QuotaLedger(engine, limits={"research": 10}, clock=clock)
    budget = RequestBudget(ledger)
    reserve_in_a_page(engine, budget)
    clock.now = DAY + timedelta(seconds=2)    # the next request is sent after midnight UTC
    budget(VIDEOS)
    assert ledger.used(day=date(2024, 3, 1)) == 0 and ledger.used(day=date(2024, 3, 2)) == 1
    assert budget.used == 1 and budget.release_unused() == 0


def test_nothing_is_reserved_ahead_past_the_limits(engine: Engine) -> None:
    ledger = QuotaLedger(engine, limits={"research": 2}, clock=Clock(DAY))
    limited = RequestBudget(ledger, max_api_requests=1)
    limited(VIDEOS)
    with engine.begin() as conn:
        assert limited.reserve_ahead(conn, VIDEOS) is None       # max_api_requests reached
    budget = RequestBudget(ledger)
    reserve_in_a_page(engine, budget)                            # the day's second and last request
    with engine.begin() as conn:
        assert budget.reserve_ahead(conn, VIDEOS) is None        # one held already
    budget(VIDEOS)
    with engine.begin() as conn:
        assert budget.reserve_ahead(conn, VIDEOS) is None        # the pool is used up
    assert ledger.used() == 2


def test_a_ledger_in_another_database_is_not_reserved_in_the_page_transaction(engine: Engine,
                                                                               tmp_path: Path) -> None:
    other = open_database(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        budget = RequestBudget(QuotaLedger(other, limits={"research": 10}, clock=Clock(DAY)))
        with engine.begin() as conn:
            assert budget.reserve_ahead(conn, VIDEOS) is None
        assert budget.ledger.used() == 0
    finally:
        other.dispose()
