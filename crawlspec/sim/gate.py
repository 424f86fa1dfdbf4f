"""The checks every research request passes before its endpoint sees it, in the API's order: the
daily quota first (the API charges failed calls too), then the bearer token, then the method.
Shared by the data endpoints (`app.py`) and the batch-compliance endpoints (`compliance.py`)."""

from __future__ import annotations

import math
from datetime import date

from crawlspec.api import fields as api_fields
from crawlspec.sim.columns import DAY
from crawlspec.sim.responses import ApiError
from crawlspec.sim.state import Quota, Stats, TokenStore


def bearer_token(headers: dict[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def admit_research_request(method: str, path: str, headers: dict[str, str], *, quota: Quota,
                           tokens: TokenStore, stats: Stats, today: date, now: float | None = None) -> None:
    """Charge the request to its quota pool and check token and method; raises the API's error. The
    daily 429 carries Retry-After: the seconds to the next 00:00 UTC (when `now` is given)."""
    if not quota.charge(api_fields.quota_pool(path), today):
        stats.count_fault("quota_exhausted")
        reset_in = math.ceil(DAY - now % DAY) if now is not None else None
        raise ApiError(429, "rate_limit_exceeded", "The daily quota of API requests has been exhausted; "
                                                   "it resets at 00:00 UTC.", retry_after_s=reset_in)
    if not tokens.is_valid(bearer_token(headers)):
        raise ApiError(401, "access_token_invalid", "Access token is invalid, please refresh token and retry")
    if method != "POST":
        raise ApiError(405, "invalid_request", f"{method} is not allowed; research endpoints take POST")
