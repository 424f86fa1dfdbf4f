"""The `endpoint_access` rows: endpoints the project was refused (HTTP 401 `scope_not_authorized`),
with when each was last asked. When to ask again is decided by the crawl
(`crawlspec.crawl.endpoint_access`). None of these commits.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.storage.bulk import upsert_rows
from crawlspec.storage.models.base import table_of
from crawlspec.storage.models.enrichment import EndpointAccess

ACCESS = table_of(EndpointAccess)
NOT_AUTHORIZED = "not_authorized"


def refused_endpoints(conn: Connection) -> dict[str, datetime]:
    """Every endpoint recorded as not authorized, with when it was last asked."""
    query = sa.select(ACCESS.c.endpoint, ACCESS.c.checked_at).where(ACCESS.c.status == NOT_AUTHORIZED)
    return {row.endpoint: row.checked_at for row in conn.execute(query)}


def record_refusal(conn: Connection, endpoint: str, message: str, *, now: datetime) -> None:
    """Record (or renew) the endpoint's refusal, asked at `now`."""
    row = {"endpoint": endpoint, "status": NOT_AUTHORIZED, "message": message, "checked_at": now}
    upsert_rows(conn, ACCESS, [row], keys=("endpoint",),
                update=lambda excluded: {name: excluded[name] for name in ("status", "message", "checked_at")})


def clear_refusal(conn: Connection, endpoint: str) -> None:
    """The endpoint answers again: forget its refusal."""
    conn.execute(sa.delete(ACCESS).where(ACCESS.c.endpoint == endpoint))
