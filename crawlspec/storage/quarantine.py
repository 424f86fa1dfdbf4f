"""The quarantine: records the API sent that cannot be stored faithfully, kept whole in their own table.

One unstorable record (an id beyond 64 bits, a count that is not an integer) must not cost its page:
the page's other records are stored and its checkpoint advances, and the record goes here with its
endpoint, the answer's `log_id`, the reason, the time and the crawl. Written in the caller's
transaction, so a record is quarantined exactly when its page commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.logs import get_logger
from crawlspec.storage.models import QuarantinedRecord, table_of
from crawlspec.text import storable, storable_text

QUARANTINE_TABLE = table_of(QuarantinedRecord)
_log = get_logger("crawlspec.storage")


@dataclass(frozen=True)
class Rejected:
    """One record of a page that was not stored, and why."""

    record: Any
    reason: str


@dataclass(frozen=True)
class RecordSource:
    """Where a page of records came from: kept with each quarantined record."""

    endpoint: str
    log_id: str | None = None
    crawl_id: int | None = None


def _record_id(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    for key in ("id", "video_id", "username"):
        value = record.get(key)
        if value is not None and not isinstance(value, (dict, list)):
            return storable_text(str(value))
    return None


def quarantine_records(conn: Connection, rejected: Sequence[Rejected], *, source: RecordSource,
                       now: datetime) -> int:
    """Insert the rejected records into `quarantine`; returns how many."""
    if not rejected:
        return 0
    rows = [{"endpoint": source.endpoint[:64], "record_id": _record_id(item.record),
             "raw_json": json.dumps(storable(item.record), ensure_ascii=False, default=str),
             "reason": storable_text(item.reason), "log_id": source.log_id, "crawl_id": source.crawl_id,
             "quarantined_at": now} for item in rejected]
    conn.execute(sa.insert(QUARANTINE_TABLE), rows)
    for row in rows:
        _log.warning("record_quarantined", endpoint=row["endpoint"], record_id=row["record_id"],
                     reason=row["reason"], log_id=source.log_id,
                     note="this record cannot be stored faithfully; kept whole in the quarantine table, "
                          "the rest of its page is stored")
    return len(rows)


def quarantined_count(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(QUARANTINE_TABLE)).scalar_one())
