"""Warnings about a valid plan that is probably not what its author meant: a window reaching past today,
or a range whose requests alone cost more than a week of the daily quota. They never stop a command:
`validate` prints them under its OK line, `compile` and `run` log them (`plan_warning` events)."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING

from crawlspec.clock import utc_today
from crawlspec.errors import SpecError
from crawlspec.logs import configure_logging, get_logger
from crawlspec.spec.compile import CompiledSpec

if TYPE_CHECKING:
    from crawlspec.spec.settings import ApiSettings, LogSettings

QUOTA_WEEK_DAYS = 7


def plan_warnings(plan: CompiledSpec, *, daily_quota: int, today: date) -> list[str]:
    """`key: what looks wrong; what to do` for each warning (none for a users spec: it has no window)."""
    if plan.users is not None:
        return []
    warnings: list[str] = []
    if plan.start > today:
        warnings.append(f"spec.window.start: {plan.start} is after today ({today}, UTC): the whole window is in "
                        "the future and has no videos yet; every run spends requests on it for nothing")
    elif plan.end > today:
        warnings.append(f"spec.window.end: {plan.end} is after today ({today}, UTC): the days after today have "
                        "no videos yet; they are asked for (and never marked covered) until they are past")
    windows, week = len(plan.windows), QUOTA_WEEK_DAYS * max(1, daily_quota)
    if windows > week:
        warnings.append(
            f"spec.window: {windows} windows need at least {windows} requests (one per window, more for "
            f"windows with several pages), more than a week of quota ({QUOTA_WEEK_DAYS} x api.daily_quota = "
            f"{week}), so the crawl takes at least {math.ceil(windows / max(1, daily_quota))} days; narrow "
            "the window or raise spec.window.days_per_query")
    return warnings


def config_plan_warnings(api: ApiSettings, plan: CompiledSpec) -> list[str]:
    """The warnings of `plan` under the `api` settings (their `daily_quota`), today being UTC's."""
    daily_quota = api.daily_quota
    try:
        today = utc_today()
    except ValueError as err:  # CRAWLSPEC_TODAY is not a date
        raise SpecError(str(err)) from None
    return plan_warnings(plan, daily_quota=daily_quota, today=today)


def log_plan_warnings(log: LogSettings, warnings: list[str]) -> None:
    """One `plan_warning` event per warning on stderr (stdout stays for data)."""
    if not warnings:
        return
    configure_logging(log.format, log.level)
    for warning in warnings:
        key, _, text = warning.partition(": ")
        get_logger("crawlspec.plan").warning("plan_warning", key=key, warning=text)
