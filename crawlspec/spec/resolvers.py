"""OmegaConf resolvers available in configs and specs.

`${days_ago:N}` is today's UTC date minus N days, as `YYYY-MM-DD`. "Today" is the real UTC date,
unless `CRAWLSPEC_TODAY=YYYY-MM-DD` is set (tests, back-fills) or a caller pins it with `pinned_today`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import date, timedelta

from omegaconf import OmegaConf

from crawlspec.clock import TODAY_ENV, utc_today

__all__ = ["TODAY_ENV", "days_ago", "pinned_today", "register", "today_utc"]

_pinned: contextvars.ContextVar[date | None] = contextvars.ContextVar("crawlspec_today", default=None)


def today_utc() -> date:
    """Today's UTC date, or the pinned / `CRAWLSPEC_TODAY` one."""
    pinned = _pinned.get()
    if pinned is not None:
        return pinned
    return utc_today()


@contextlib.contextmanager
def pinned_today(today: date | None) -> Iterator[None]:
    """Within the block, `${days_ago:N}` counts from `today` (no effect when `today` is None)."""
    token = _pinned.set(today) if today is not None else None
    try:
        yield
    finally:
        if token is not None:
            _pinned.reset(token)


def days_ago(n: object) -> str:
    """The resolver: `${days_ago:3}` -> the ISO date three days before today (UTC)."""
    if isinstance(n, bool) or not isinstance(n, (int, str)):
        raise ValueError(f"days_ago needs a whole number of days, got {n!r}")
    try:
        days = int(n)
    except ValueError:
        raise ValueError(f"days_ago needs a whole number of days, got {n!r}") from None
    if days < 0:
        raise ValueError(f"days_ago needs a number of days >= 0, got {days}")
    return (today_utc() - timedelta(days=days)).isoformat()


def register() -> None:
    """Register the resolvers (idempotent: safe in every process, sweep workers included)."""
    if not OmegaConf.has_resolver("days_ago"):
        OmegaConf.register_new_resolver("days_ago", days_ago)
