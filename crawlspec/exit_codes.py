"""Process exit codes: the contract with cron, CI and sweep drivers (README, "Exit codes")."""

from __future__ import annotations

OK = 0
"""Everything requested is complete."""
FAILURE = 1
"""Anything else: a bug, a fatal API error for some window, an unexpected database error."""
INVALID_INPUT = 2
"""Invalid spec, arguments, secrets file or database location; nothing was sent."""
RESUMABLE = 75
"""Stopped early with resumable work left (quota, max_api_requests, SIGINT/SIGTERM, database outage)."""
CREDENTIALS_REJECTED = 77
"""The API rejected the client key/secret or the project's scope."""

# A sweep exits with the worst code of its jobs, in this order (worst first).
SEVERITY_ORDER: tuple[int, ...] = (FAILURE, CREDENTIALS_REJECTED, INVALID_INPUT, RESUMABLE, OK)


def worst(codes: list[int] | tuple[int, ...]) -> int:
    """The exit code a sweep returns for these job codes."""
    if not codes:
        return OK
    rank = {code: i for i, code in enumerate(SEVERITY_ORDER)}
    return min(codes, key=lambda c: rank.get(c, 0))
