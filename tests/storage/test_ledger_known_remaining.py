"""A reservation is one statement, and what it returns answers "how many left" without another query."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from support.clock import Clock

from crawlspec.crawl.quota import RequestBudget
from crawlspec.storage.ledger import QuotaLedger

DAY = datetime(2024, 3, 1, 23, 59, 59, tzinfo=timezone.utc)


class StatementLog:
    def __init__(self, engine: Engine):
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)


def test_one_statement_per_reservation_and_remaining_without_a_query(engine: Engine) -> None:
    ledger = QuotaLedger(engine, limits={"research": 3, "follow": 5}, clock=Clock(DAY))
    budget = RequestBudget(ledger)
    budget("/v2/research/video/query/")     # creates today's row
    log = StatementLog(engine)
    budget("/v2/research/video/query/")
    assert len(log.statements) == 1
    assert budget.remaining() == 1 == ledger.remaining()
    assert len(log.statements) == 2                   # ledger.remaining() queried, budget.remaining() did not
    assert ledger.reserve() and not ledger.reserve()
    assert ledger.remaining_known() == 0 == ledger.remaining() and ledger.used() == 3
    assert ledger.remaining_known("follow") == 5      # nothing reserved in that pool yet: asked


def test_known_remaining_follows_the_utc_day_and_zero_limits(engine: Engine) -> None:
    clock = Clock(DAY)
    ledger = QuotaLedger(engine, limits={"research": 2, "follow": 0}, clock=clock)
    assert ledger.reserve() and ledger.remaining_known() == 1
    clock.now = DAY + timedelta(seconds=1)
    assert ledger.remaining_known() == 2               # a new day: last night's count is not reused
    assert not ledger.reserve("follow") and ledger.remaining_known("follow") == 0 == ledger.used("follow")


def test_another_ledger_on_the_same_database_is_seen_by_the_next_reservation(engine: Engine) -> None:
    ours = QuotaLedger(engine, limits={"research": 10}, clock=Clock(DAY))
    theirs = QuotaLedger(engine, limits={"research": 10}, clock=Clock(DAY))
    assert ours.reserve() and theirs.reserve() and theirs.reserve()
    assert ours.remaining_known() == 9 and ours.remaining() == 7
    assert ours.reserve() and ours.remaining_known() == 6
