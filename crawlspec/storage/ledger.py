"""The quota ledger: requests per UTC day and pool, shared by every process using the database.

`reserve()` is called before every attempt at a research endpoint (retries included: the API charges
failed calls). It runs in a short transaction of its own, committed before the request is sent, so a
request that was sent is always counted, whatever happens to the page's transaction afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from crawlspec.api.fields import quota_pool_limits
from crawlspec.clock import utc_now
from crawlspec.storage.bulk import dialect_insert
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

    def today(self) -> date:
        """The current UTC day (the API's quota resets at 00:00 UTC)."""
        now = self.clock()
        return (now.astimezone(timezone.utc) if now.tzinfo else now).date()

    def limit(self, pool: str = "research") -> int:
        try:
            return self.limits[pool]
        except KeyError:
            raise KeyError(f"unknown quota pool {pool!r}; known: {sorted(self.limits)}") from None

    def reserve(self, pool: str = "research") -> bool:
        """Count one request for today iff the pool is below its limit; False when exhausted.

        INSERT .. ON CONFLICT DO NOTHING creates today's row; the conditional UPDATE then takes the row
        lock (PostgreSQL) or the write lock (SQLite), so concurrent reservations serialise and the
        `used < limit` test and the increment are one atomic step."""
        limit = self.limit(pool)
        day = self.today()
        with self.engine.begin() as conn:
            self._ensure_row(conn, day, pool)
            table = LEDGER_TABLE
            result = conn.execute(
                sa.update(table)
                .where(table.c.day == day, table.c.pool == pool, table.c.used < limit)
                .values(used=table.c.used + 1)
            )
            return result.rowcount == 1

    def used(self, pool: str = "research", day: date | None = None) -> int:
        table = LEDGER_TABLE
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(table.c.used).where(
                table.c.day == (day or self.today()), table.c.pool == pool)).scalar()
        return int(value or 0)

    def remaining(self, pool: str = "research") -> int:
        return max(0, self.limit(pool) - self.used(pool))

    @staticmethod
    def _ensure_row(conn: Connection, day: date, pool: str) -> None:
        stmt = dialect_insert(conn, LEDGER_TABLE).on_conflict_do_nothing(index_elements=["day", "pool"])
        conn.execute(stmt, {"day": day, "pool": pool, "used": 0})
