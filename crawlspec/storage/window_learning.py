"""The `window_learning` rows (what auto-sized windows learned per fingerprint) and the sizes of the
finished windows the planner reads the density from. What the numbers mean and how they change is
decided by `crawlspec.crawl.window_plan`. None of these commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.storage.bulk import dialect_insert
from crawlspec.storage.models.base import table_of
from crawlspec.storage.models.core import CrawlWindow, WindowLearning

LEARNING = table_of(WindowLearning)
WINDOWS = table_of(CrawlWindow)


@dataclass(frozen=True)
class LearningRow:
    max_days: int
    observations: list[list[Any]]   # [size, attempts, failures], or [null, attempts, failures, start, end]
    failures: int
    splits: int
    page_rate: float | None = None


@dataclass(frozen=True)
class FinishedWindow:
    start: date
    end: date
    results: int   # the final cursor: every search result, deleted videos included


def load_learning(conn: Connection, fingerprint: str) -> LearningRow | None:
    row = conn.execute(sa.select(LEARNING.c.max_days, LEARNING.c.observations, LEARNING.c.failures,
                                 LEARNING.c.splits, LEARNING.c.page_rate)
                       .where(LEARNING.c.fingerprint == fingerprint)).first()
    if row is None:
        return None
    observations = [list(item) for item in row.observations or []]
    return LearningRow(row.max_days, observations, row.failures, row.splits, row.page_rate)


def save_learning(conn: Connection, fingerprint: str, row: LearningRow, *, now: datetime) -> None:
    values = {"max_days": row.max_days, "observations": row.observations,
              "failures": row.failures, "splits": row.splits, "page_rate": row.page_rate, "updated_at": now}
    insert = dialect_insert(conn, LEARNING).values(fingerprint=fingerprint, **values)
    conn.execute(insert.on_conflict_do_update(index_elements=["fingerprint"], set_=values))


def finished_windows(conn: Connection, fingerprint: str) -> list[FinishedWindow]:
    """The fingerprint's windows that finished with their last page (status `done`), oldest first."""
    rows = conn.execute(sa.select(WINDOWS.c.start_date, WINDOWS.c.end_date, WINDOWS.c.cursor).where(
        WINDOWS.c.fingerprint == fingerprint, WINDOWS.c.status == "done").order_by(WINDOWS.c.start_date))
    return [FinishedWindow(start, end, int(cursor or 0)) for start, end, cursor in rows]
