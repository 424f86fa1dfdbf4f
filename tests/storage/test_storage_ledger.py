"""The quota ledger never lets the processes and threads sharing a database exceed the daily budget."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from threading import Barrier

import pytest
from sqlalchemy.engine import Engine
from support.clock import Clock

from crawlspec.storage.database import open_database
from crawlspec.storage.ledger import QuotaLedger

DAY = datetime(2024, 3, 1, 23, 59, 59, tzinfo=timezone.utc)


def test_reserve_stops_at_the_limit_and_pools_are_apart(engine: Engine) -> None:
    ledger = QuotaLedger(engine, limits={"research": 3, "follow": 2}, clock=Clock(DAY))
    assert [ledger.reserve() for _ in range(5)] == [True, True, True, False, False]
    assert (ledger.used(), ledger.remaining()) == (3, 0)
    assert ledger.used("follow") == 0 and ledger.remaining("follow") == 2
    assert [ledger.reserve("follow") for _ in range(3)] == [True, True, False]
    with pytest.raises(KeyError, match="unknown quota pool"):
        ledger.reserve("shop")


def test_a_new_utc_day_has_a_fresh_budget(engine: Engine) -> None:
    clock = Clock(DAY)
    ledger = QuotaLedger(engine, limits={"research": 2}, clock=clock)
    assert ledger.reserve() and ledger.reserve() and not ledger.reserve()
    clock.now = DAY + timedelta(seconds=1)  # 00:00:00 UTC the next day
    assert ledger.reserve() and ledger.used() == 1
    assert ledger.used(day=date(2024, 3, 1)) == 2
    # A clock in another time zone still books on the UTC day.
    clock.now = datetime(2024, 3, 2, 1, 0, tzinfo=timezone(timedelta(hours=5)))  # 2024-03-01 20:00 UTC
    assert not ledger.reserve()


def test_concurrent_threads_never_exceed_the_limit(engine: Engine) -> None:
    limit, threads, attempts = 60, 8, 12
    ledger = QuotaLedger(engine, limits={"research": limit, "follow": 1000}, clock=Clock(DAY))
    start = Barrier(threads)

    def reserve_many(pool: str) -> int:
        start.wait()
        return sum(ledger.reserve(pool) for _ in range(attempts))

    with ThreadPoolExecutor(threads) as pool:
        granted = list(pool.map(reserve_many, ["research"] * (threads - 2) + ["follow"] * 2))
    assert sum(granted[:-2]) == limit == ledger.used()
    assert sum(granted[-2:]) == 2 * attempts == ledger.used("follow")


def _reserve_in_process(url: str, limit: int, attempts: int, barrier: multiprocessing.synchronize.Barrier,
                        results: multiprocessing.queues.Queue) -> None:
    engine = open_database(url, upgrade=False)
    ledger = QuotaLedger(engine, limits={"research": limit}, clock=lambda: DAY)
    barrier.wait()
    results.put(sum(ledger.reserve() for _ in range(attempts)))
    engine.dispose()


@pytest.mark.slow
def test_two_processes_sharing_a_database_never_exceed_the_limit(engine: Engine, db_url: str) -> None:
    limit, attempts = 25, 20
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_reserve_in_process, args=(db_url, limit, attempts, barrier, results))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    granted = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sum(granted) == limit
    assert min(granted) > 0  # both really competed
    assert QuotaLedger(engine, limits={"research": limit}, clock=Clock(DAY)).used() == limit


def test_a_reservation_never_sent_is_given_back_on_its_own_day(engine: Engine) -> None:
    """The token wait of a request reserved at 23:59:59 UTC can end after midnight: the reservation is given
    back on the day it was made, never on the new day's budget."""
    from crawlspec.crawl.quota import RequestBudget

    clock = Clock(DAY)
    ledger = QuotaLedger(engine, limits={"research": 5}, clock=clock)
    budget = RequestBudget(ledger)
    budget("/v2/research/video/query/")
    clock.now = DAY + timedelta(seconds=2)
    ledger.reserve()   # another process's request of the new day
    budget.release("/v2/research/video/query/")
    budget.release("/v2/research/video/query/")   # a second release gives back nothing
    assert ledger.used(day=date(2024, 3, 1)) == 0 and ledger.used(day=date(2024, 3, 2)) == 1
    assert budget.used == 0
