"""Exceptions that carry their exit code and, where there is one, their fix.

Every error a user can cause ends as one of these, is printed as one readable message on stderr
(never a traceback) and maps to an exit code of `crawlspec.exit_codes`.
"""

from __future__ import annotations

from typing import Literal

from crawlspec import exit_codes

StopReason = Literal["interrupted", "quota", "limit"]


class CrawlspecError(Exception):
    """Base class: `str(err)` is the full message shown to the user."""

    exit_code: int = exit_codes.FAILURE


class SpecError(CrawlspecError):
    """The composed spec or the command-line arguments are invalid (nothing was sent)."""

    exit_code = exit_codes.INVALID_INPUT

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class CredentialsFileError(CrawlspecError):
    """Secrets file missing, unreadable, malformed, or lacking a key (nothing was sent)."""

    exit_code = exit_codes.INVALID_INPUT


class CredentialsRejected(CrawlspecError):
    """The API refused the client key/secret (or the project lacks the scope)."""

    exit_code = exit_codes.CREDENTIALS_REJECTED


class EndpointNotAuthorized(CredentialsRejected):
    """401 `scope_not_authorized` on one endpoint: the credentials work, the project is not approved for
    this endpoint. A crawl records it, completes everything else, and exits 77 naming `endpoint`."""

    def __init__(self, message: str, *, endpoint: str):
        self.endpoint = endpoint
        super().__init__(message)


class DatabaseLocationError(CrawlspecError):
    """The database URL is malformed or points where no database can be created."""

    exit_code = exit_codes.INVALID_INPUT


class DatabaseUnavailable(CrawlspecError):
    """The database refused the connection or went away; committed work is safe, resume later."""

    exit_code = exit_codes.RESUMABLE


class QuotaExhausted(CrawlspecError):
    """No request may be sent now: daily budget (ledger), max_api_requests, or a 429 from the API."""

    exit_code = exit_codes.RESUMABLE

    def __init__(self, message: str, *, source: str = "ledger"):
        self.source = source  # "ledger" | "limit" | "api"
        super().__init__(message)


class Interrupted(CrawlspecError):
    """SIGINT/SIGTERM received; the in-flight page was committed or abandoned cleanly."""

    exit_code = exit_codes.RESUMABLE


class ApiUnreachable(CrawlspecError):
    """No access token after every retry (the API or the network down, timeouts, 5xx from the token
    endpoint): nothing can be sent by anyone, so the run stops as resumable instead of failing windows."""

    exit_code = exit_codes.RESUMABLE


class RunStopped(CrawlspecError):
    """No request may be sent any more: a signal (`interrupted`), the daily quota with
    `on_quota_exhausted: exit` (`quota`) or `limits.max_api_requests` (`limit`). Every loop that sends
    requests ends on it; the committed checkpoints stay, so the run is resumable (exit 75)."""

    exit_code = exit_codes.RESUMABLE

    def __init__(self, reason: StopReason, detail: str = ""):
        self.reason: StopReason = reason
        super().__init__(detail or f"stopped ({reason})")

    @classmethod
    def for_quota(cls, err: QuotaExhausted) -> RunStopped:
        """The stop an exhausted quota that may not be waited out leads to."""
        return cls("limit" if err.source == "limit" else "quota", str(err))


class ApiError(CrawlspecError):
    """The API answered with an error that retrying will not fix (fatal for the window)."""

    exit_code = exit_codes.FAILURE

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 log_id: str | None = None, endpoint: str | None = None):
        self.status = status
        self.code = code
        self.api_message = message
        self.log_id = log_id
        self.endpoint = endpoint
        detail = f"HTTP {status} {code or ''}".strip() if status is not None else (code or "error")
        suffix = f" (log_id {log_id})" if log_id else ""
        where = f"{endpoint}: " if endpoint else ""
        super().__init__(f"{where}{detail}: {message}{suffix}")


class RetriesExhausted(ApiError):
    """A transient failure (5xx, timeout, non-JSON body) persisted after every retry."""


class SearchIdRejected(ApiError):
    """The API kept rejecting a search_id/cursor it issued; the window must restart from cursor 0."""


class CursorNotAdvancing(ApiError):
    """A page said `has_more` but its cursor repeats or moves back: following it would ask for pages
    already delivered, possibly forever. The listing stops at its last committed cursor and fails."""


class UserNotFound(ApiError):
    """User endpoints: 'cannot find the user' or 'cannot return this user's information'. Not an error
    for a crawl: it is recorded so the user is not asked for again today."""
