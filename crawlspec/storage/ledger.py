"""The quota ledger: requests per UTC day and pool, shared by every process using the database.

`reserve()` is called before every attempt at a research endpoint (retries included: the API charges
failed calls). It runs in a short transaction of its own, committed before the request is sent, so a
request that was sent is always counted, whatever happens to the page's transaction afterwards. It is
one statement (an upsert returning the new count), and the count it returns lets `remaining_known()`
answer the page log line without a query of its own.

`reserve_in(conn, ...)` is the same statement inside a caller's transaction: the video crawl reserves
the next page's request in the transaction that commits the current page (`RequestBudget.reserve_ahead`),
which saves a transaction per page. It is counted only if that transaction commits, still before the
request is sent; the caller gives it back when it is never used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from crawlspec.api.fields import quota_pool_limits
from crawlspec.clock import utc_now
from crawlspec.storage.bulk import dialect_insert_for
from crawlspec.storage.models import QuotaUse, table_of

LEDGER_TABLE = table_of(QuotaUse)
DEFAULT_LIMITS: Mapping[str, int] = quota_pool_limits()


class QuotaLedger:
    """Atomic per-day reservations against daily limits (SQLite WAL and PostgreSQL, many processes)."""

    def __init__(self, engine: Engine, *, limits: Mapping[str, int] = DEFAULT_LIMITS,
                 clock: Callable[[], datetime] = utc_now):
        self.engine = engine
        self.limits = dict(limits)
        self.clock = clock
        self._statements: dict[str, Any] = {}
        self._known_used: dict[str, tuple[date, int]] = {}   # pool -> (day, used) after our last reservation

    def today(self) -> date:
        """The current UTC day (the API's quota resets at 00:00 UTC)."""
        now = self.clock()
        return (now.astimezone(timezone.utc) if now.tzinfo else now).date()

    def limit(self, pool: str = "research") -> int:
        try:
            return self.limits[pool]
        except KeyError:
            raise KeyError(f"unknown quota pool {pool!r}; known: {sorted(self.limits)}") from None

    def reserve(self, pool: str = "research", *, day: date | None = None) -> bool:
        """Count one request for today iff the pool is below its limit; False when exhausted.

        One `INSERT .. ON CONFLICT DO UPDATE SET used = used + 1 WHERE used < limit RETURNING used`:
        the conflict takes the row lock (PostgreSQL) or the write lock (SQLite), so concurrent
        reservations serialise and the `used < limit` test and the increment are one atomic step.
        No row comes back when the pool is exhausted."""
        limit = self.limit(pool)
        day = day or self.today()
        if limit <= 0:
            self._known_used[pool] = (day, 0)
            return False
        with self.engine.begin() as conn:
            used = self.reserve_in(conn, pool, day=day)
        self.note_used(pool, day, limit if used is None else used)
        return used is not None

    def reserve_in(self, conn: Connection, pool: str, *, day: date) -> int | None:
        """`reserve()`'s statement in the caller's transaction (last in it: the ledger row stays locked
        until it commits): the day's count with this reservation, or None when the pool is exhausted.
        Nothing is remembered here; the caller calls `note_used` once the transaction has committed."""
        limit = self.limit(pool)
        if limit <= 0:
            return None
        used = conn.execute(self._reserve_statement(conn.dialect.name),
                            {"day": day, "pool": pool, "limit": limit}).scalar()
        return None if used is None else int(used)

    def note_used(self, pool: str, day: date, used: int) -> None:
        """Remember the count a committed reservation returned (what `remaining_known` answers)."""
        self._known_used[pool] = (day, used)

    def release(self, pool: str, day: date) -> None:
        """Give back one reservation, made on `day`, of a request that was never sent (its token could not
        be had). The day is the reservation's: a token wait may last past midnight UTC."""
        table = LEDGER_TABLE
        with self.engine.begin() as conn:
            conn.execute(sa.update(table).where(table.c.day == day, table.c.pool == pool, table.c.used > 0)
                         .values(used=table.c.used - 1))
        known = self._known_used.get(pool)
        if known is not None and known[0] == day:
            self._known_used[pool] = (day, max(0, known[1] - 1))

    def _reserve_statement(self, dialect: str) -> Any:
        statement = self._statements.get(dialect)
        if statement is None:
            table = LEDGER_TABLE
            insert = dialect_insert_for(dialect, table).values(
                day=sa.bindparam("day"), pool=sa.bindparam("pool"), used=1)
            statement = self._statements[dialect] = insert.on_conflict_do_update(
                index_elements=["day", "pool"], set_={"used": table.c.used + 1},
                where=table.c.used < sa.bindparam("limit")).returning(table.c.used)
        return statement

    def used(self, pool: str = "research", day: date | None = None) -> int:
        table = LEDGER_TABLE
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(table.c.used).where(
                table.c.day == (day or self.today()), table.c.pool == pool)).scalar()
        return int(value or 0)

    def remaining(self, pool: str = "research") -> int:
        return max(0, self.limit(pool) - self.used(pool))

    def remaining_known(self, pool: str = "research") -> int:
        """What `remaining` said right after this ledger's last reservation today (no query); other
        processes' reservations since then are not counted. Queries when none was made today."""
        known = self._known_used.get(pool)
        if known is None or known[0] != self.today():
            return self.remaining(pool)
        return max(0, self.limit(pool) - known[1])
