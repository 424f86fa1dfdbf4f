"""Endpoints the project is not approved for (HTTP 401 `scope_not_authorized` on one endpoint while the
credentials work elsewhere): recorded in `endpoint_access`, asked again at most once per UTC day.

A stage skips the work of a refused endpoint, completes everything else, and its run exits 77 naming
the endpoint. When the endpoint answers again, its row is removed. This module decides when to ask;
the rows are read and written by `crawlspec.storage.endpoint_access`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from crawlspec.crawl.stage import StageStats, utc_midnight
from crawlspec.errors import EndpointNotAuthorized
from crawlspec.logs import get_logger
from crawlspec.storage.endpoint_access import clear_refusal, record_refusal, refused_endpoints


class EndpointGate:
    """Per run: which endpoints to leave alone today, and which to forget once they answer."""

    def __init__(self, recorded: dict[str, datetime], *, since: datetime) -> None:
        self.recorded = dict(recorded)
        self.closed = {endpoint for endpoint, checked in recorded.items() if checked >= since}

    def is_closed(self, endpoint: str) -> bool:
        return endpoint in self.closed

    def refused(self, conn: Connection, endpoint: str, message: str, *, now: datetime) -> None:
        record_refusal(conn, endpoint, message, now=now)
        self.recorded[endpoint] = now
        self.closed.add(endpoint)

    def answered(self, conn: Connection, endpoint: str) -> None:
        """Call inside the transaction of a successful page: a recorded refusal is over."""
        if endpoint in self.recorded and endpoint not in self.closed:
            clear_refusal(conn, endpoint)
            del self.recorded[endpoint]


def guarded_stage(ctx: Any, name: str, endpoint: str, stage: Callable[[], StageStats]) -> StageStats:
    """Run a stage unless its endpoint was refused today; a refusal met now is recorded, and the stage
    ends there (its committed pages stay) while the run goes on with the next stages."""
    now = ctx.clock()
    with ctx.engine.connect() as conn:
        gate = EndpointGate(refused_endpoints(conn), since=utc_midnight(now))
    if gate.is_closed(endpoint):
        skipped = StageStats(name)
        skipped.not_authorized(endpoint)
        return skipped
    try:
        stats = stage()
    except EndpointNotAuthorized as err:
        with ctx.engine.begin() as conn:
            gate.refused(conn, err.endpoint, str(err), now=ctx.clock())
        get_logger("crawlspec.crawl.stage").warning("endpoint_not_authorized", endpoint=err.endpoint, stage=name,
                                               error=str(err))
        stats = StageStats(name)
        stats.not_authorized(err.endpoint)
        return stats
    if endpoint in gate.recorded:
        with ctx.engine.begin() as conn:
            clear_refusal(conn, endpoint)
    return stats
