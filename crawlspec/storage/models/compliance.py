"""Tables of the compliance refresh (runs, their validation tasks, per-table refresh records)
and the runner's persistently failing days and the quota spent on failed requests.

Registered on `crawlspec.storage.models.Base` (re-exported by `crawlspec.storage.models`), created by Alembic 0003.
API task ids exceed 2^63, so `compliance_task.api_task_id` is a string.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crawlspec.storage.models.base import Base, BigIntPK, UtcDateTime

REFRESH_STATUSES: tuple[str, ...] = ("running", "complete")
TASK_STATUSES: tuple[str, ...] = ("pending", "submitted", "failed", "done")
COMPLIANCE_CATEGORIES: tuple[str, ...] = ("video", "comment")


class RefreshRun(Base):
    """One compliance refresh: created with its video tasks, complete when every task is done."""

    __tablename__ = "refresh_run"
    __table_args__ = (CheckConstraint(f"status IN {REFRESH_STATUSES!r}", name="status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    videos_checked: Mapped[int] = mapped_column(BigInteger)
    videos_removed: Mapped[int] = mapped_column(BigInteger)
    comments_checked: Mapped[int] = mapped_column(BigInteger)
    comments_removed: Mapped[int] = mapped_column(BigInteger)
    requests: Mapped[int] = mapped_column(Integer)


class ComplianceTask(Base):
    """One validation task of at most 10,000 ids: `ids_text` is the exact file uploaded (so a resumed
    refresh re-uploads the same ids), `api_task_id` the API's id once created. pending -> submitted ->
    done; an API `Failed` makes it `failed`, and the next call submits it again."""

    __tablename__ = "compliance_task"
    __table_args__ = (
        UniqueConstraint("refresh_id", "category", "seq"),
        CheckConstraint(f"status IN {TASK_STATUSES!r}", name="status"),
        CheckConstraint(f"category IN {COMPLIANCE_CATEGORIES!r}", name="category"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    refresh_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("refresh_run.id"))
    category: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    api_task_id: Mapped[str | None] = mapped_column(String(40))
    ids_count: Mapped[int] = mapped_column(Integer)
    ids_text: Mapped[str] = mapped_column(Text)
    submissions: Mapped[int] = mapped_column(Integer)
    polls: Mapped[int] = mapped_column(Integer)
    valid_count: Mapped[int | None] = mapped_column(Integer)
    removed: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class TableRefresh(Base):
    """When a table was last refreshed (the start of that refresh: its oldest check) and what it removed."""

    __tablename__ = "table_refresh"

    table_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    refresh_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("refresh_run.id"))
    refreshed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    rows_checked: Mapped[int] = mapped_column(BigInteger)
    rows_removed: Mapped[int] = mapped_column(BigInteger)
    total_removed: Mapped[int] = mapped_column(BigInteger)


class FailingDay(Base):
    """A (fingerprint, UTC day) whose single-day query kept answering 5xx after every retry: skipped
    until `retry_after`, which moves 1, 2, 4, 8... days further at each new failure."""

    __tablename__ = "failing_day"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    requests: Mapped[int] = mapped_column(Integer)
    last_log_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    first_failed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_failed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    retry_after: Mapped[dt.date] = mapped_column(Date)


class FailureSpend(Base):
    """Requests that failed (every attempt but a call's successful last one), per UTC day and spec."""

    __tablename__ = "failure_spend"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer)
