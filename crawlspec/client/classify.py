"""The one place that decides what an API answer (or a failed attempt) means.

`classify(outcome)` returns a `Verdict`: ok, retry (transient), search-id retry, token expired, throttle,
quota, auth, not found or fatal. A 429 `rate_limit_exceeded` (or a bare 429) is a throttle: the client
pauses and retries; only `daily_quota_limit_exceeded` says outright that the day's quota is spent. A 5xx
whose body is a complete `ok` envelope with its data is an answer, not a failure. The client acts on the verdict; nothing else in the package inspects status
codes or error messages.
"""

from __future__ import annotations

import email.utils
import enum
import re
import time
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from crawlspec.api.fields import (
    FOLLOWERS_PATH,
    FOLLOWING_PATH,
    LIKED_VIDEOS_PATH,
    PINNED_VIDEOS_PATH,
    PLAYLIST_INFO_PATH,
    REPOSTED_VIDEOS_PATH,
    TOKEN_PATH,
    USER_INFO_PATH,
)

# OAuth error categories that mean "these credentials will never work".
CREDENTIAL_ERRORS = frozenset({"invalid_client", "invalid_grant", "unauthorized_client", "access_denied",
                               "invalid_scope", "invalid_request"})
TRANSIENT_TOKEN_ERRORS = frozenset({"server_error", "temporarily_unavailable"})
QUOTA_CODES = frozenset({"rate_limit_exceeded", "daily_quota_limit_exceeded"})
THROTTLE_CODE = "rate_limit_exceeded"
DAY_QUOTA_CODE = "daily_quota_limit_exceeded"

_SEARCH_ID_RE = re.compile(r"search id \S* ?is invalid or expired", re.IGNORECASE)
_CURSOR_RE = re.compile(r"invalid count or cursor", re.IGNORECASE)
_USER_GONE_RE = re.compile(r"cannot find the user|cannot return this user'?s information", re.IGNORECASE)
# A user's list (or a playlist) the API will not return: hidden likes, private following, unknown ids.
_LIST_UNAVAILABLE_RE = re.compile(r"cannot find the (user|playlist)|cannot return this user'?s information"
                                  r"|information cannot be returned|is private|not enabled|hidden", re.IGNORECASE)
_LIST_PATHS = frozenset({LIKED_VIDEOS_PATH, PINNED_VIDEOS_PATH, REPOSTED_VIDEOS_PATH, FOLLOWERS_PATH,
                         FOLLOWING_PATH, PLAYLIST_INFO_PATH})
_TEXT_EXCERPT = 200
MALFORMED_PAGE = "malformed_page"


class Kind(enum.Enum):
    OK = "ok"
    RETRY = "retry"                    # 5xx, timeout, connection error, non-JSON/HTML error body
    UNPARSABLE = "unparsable"          # a 2xx body that is not JSON or not a usable page: retried once
    SEARCH_ID_RETRY = "search_id"      # "Search Id N is invalid or expired" / "Invalid count or cursor"
    TOKEN_EXPIRED = "token_expired"    # 401 access_token_invalid: renew the token once
    THROTTLE = "throttle"              # 429 rate_limit_exceeded / bare 429: pause, then retry
    QUOTA = "quota"                    # 429 daily_quota_limit_exceeded: the day's quota; the runner decides
    AUTH = "auth"                      # credentials or scope rejected
    NOT_FOUND = "not_found"            # user endpoints: unknown or refused user
    FATAL = "fatal"                    # any other 4xx or unexpected answer: fatal for the window


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced: a response (status, parsed body or text) or an exception."""

    path: str
    status: int | None = None
    body: Any = None                   # parsed JSON, or None when the body is not JSON
    text: str = ""                     # excerpt of a non-JSON body (for logs and errors)
    retry_after: str | None = None     # raw Retry-After header
    exception: BaseException | None = None
    malformed: str | None = None       # an `ok` page that cannot be stored faithfully (page_check)
    storable: bool = False             # every string of `body` is storable as it is (storable_text)

    @property
    def error(self) -> dict[str, Any]:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error if isinstance(error, dict) else {}

    @property
    def code(self) -> str | None:
        if self.malformed is not None:
            return MALFORMED_PAGE
        if self.path == TOKEN_PATH:
            err = self.body.get("error") if isinstance(self.body, dict) else None
            return err if isinstance(err, str) else None
        code = self.error.get("code")
        return str(code) if code is not None else None

    @property
    def message(self) -> str:
        if self.exception is not None:
            return f"{type(self.exception).__name__}: {self.exception}"
        if self.malformed is not None:
            return f"the API's answer cannot be stored faithfully: {self.malformed}"
        if self.path == TOKEN_PATH and isinstance(self.body, dict):
            return str(self.body.get("error_description") or "")
        if self.body is None:
            return f"non-JSON body: {self.text[:_TEXT_EXCERPT]!r}"
        return str(self.error.get("message") or "")

    @property
    def log_id(self) -> str | None:
        if isinstance(self.body, dict):
            log_id = self.error.get("log_id") or self.body.get("log_id")
            return str(log_id) if log_id else None
        return None


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    reason: str                        # short machine-friendly reason for logs ("http_500", "timeout", ...)
    retry_after_s: float | None = None


def classify(outcome: Outcome) -> Verdict:
    """Decide what to do with one attempt's outcome."""
    if outcome.exception is not None:
        return _classify_exception(outcome.exception)
    if outcome.path == TOKEN_PATH:
        return _classify_token(outcome)
    return _classify_research(outcome)


def _classify_exception(exc: BaseException) -> Verdict:
    if _never_connected(exc):   # the request never left: the API unreachable (network, DNS, server down)
        return Verdict(Kind.RETRY, "connect_failed")
    if isinstance(exc, requests.Timeout):
        return Verdict(Kind.RETRY, "timeout")
    if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError)):
        return Verdict(Kind.RETRY, "connection_error")
    return Verdict(Kind.FATAL, f"request_error_{type(exc).__name__}")


def _never_connected(exc: BaseException) -> bool:
    """No connection was made (refused, no route, name not resolved, connect timeout), as opposed to a
    connection lost or a body broken after the request was sent (which the API may have charged)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(
            exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return False
    cause = exc.args[0] if exc.args else None
    return isinstance(getattr(cause, "reason", cause), NewConnectionError)


def _classify_token(outcome: Outcome) -> Verdict:
    status, body = outcome.status or 0, outcome.body
    retry_after = parse_retry_after(outcome.retry_after)
    if not isinstance(body, dict):
        if status in (401, 403):
            return Verdict(Kind.AUTH, f"token_http_{status}")
        return Verdict(Kind.RETRY, f"token_non_json_http_{status}", retry_after)
    error = body.get("error")
    if isinstance(error, str) and error:
        if error in CREDENTIAL_ERRORS:
            return Verdict(Kind.AUTH, error)
        if error in TRANSIENT_TOKEN_ERRORS:
            return Verdict(Kind.RETRY, error, retry_after)
        return Verdict(Kind.FATAL, error)
    token = body.get("access_token")
    if isinstance(token, str) and token and status < 400:
        return Verdict(Kind.OK, "ok")
    if status == 429 or status >= 500:
        return Verdict(Kind.RETRY, f"token_http_{status}", retry_after)
    if status in (401, 403):
        return Verdict(Kind.AUTH, f"token_http_{status}")
    if status >= 400:
        return Verdict(Kind.FATAL, f"token_http_{status}")
    return Verdict(Kind.RETRY, "token_missing_access_token")


def _classify_research(outcome: Outcome) -> Verdict:
    status, code, message = outcome.status or 0, outcome.code, outcome.message
    retry_after = parse_retry_after(outcome.retry_after)
    if code == DAY_QUOTA_CODE:
        return Verdict(Kind.QUOTA, code, retry_after)
    if status == 429 or code == THROTTLE_CODE:
        return Verdict(Kind.THROTTLE, code or "http_429", retry_after)
    if status >= 500:
        if is_complete_ok(outcome):
            return Verdict(Kind.OK, f"ok_despite_http_{status}")
        return Verdict(Kind.RETRY, f"http_{status}" + (f"_{code}" if code else ""), retry_after)
    if not isinstance(outcome.body, dict):
        if 400 <= status < 500 and status != 408:
            return Verdict(Kind.FATAL, f"http_{status}")   # e.g. an HTML 404 from a wrong base URL
        if 200 <= status < 300:
            return Verdict(Kind.UNPARSABLE, f"non_json_http_{status}")
        return Verdict(Kind.RETRY, f"non_json_http_{status}", retry_after)
    if status == 401 or code in ("access_token_invalid", "scope_not_authorized"):
        if code == "access_token_invalid":
            return Verdict(Kind.TOKEN_EXPIRED, code)
        return Verdict(Kind.AUTH, code or f"http_{status}")
    if _SEARCH_ID_RE.search(message):
        return Verdict(Kind.SEARCH_ID_RETRY, "search_id_invalid")
    if _CURSOR_RE.search(message):
        return Verdict(Kind.SEARCH_ID_RETRY, "invalid_count_or_cursor")
    if outcome.path == USER_INFO_PATH and _USER_GONE_RE.search(message):
        return Verdict(Kind.NOT_FOUND, "user_not_found")
    if outcome.malformed is not None:   # set only on `ok` 2xx pages (http._malformed)
        return Verdict(Kind.UNPARSABLE, MALFORMED_PAGE)
    # 403 on a user's list: the user hides it (e.g. liked videos "not enabled"), whatever the wording
    hidden = status == 403 and outcome.path in _LIST_PATHS and outcome.path != PLAYLIST_INFO_PATH
    if hidden or (outcome.path in _LIST_PATHS and 400 <= status < 500 and _LIST_UNAVAILABLE_RE.search(message)):
        return Verdict(Kind.NOT_FOUND, "list_unavailable")
    if status >= 400 or (code not in (None, "ok")):
        return Verdict(Kind.FATAL, code or f"http_{status}")
    if not isinstance(outcome.body.get("data"), dict):
        return Verdict(Kind.UNPARSABLE, "missing_data")
    return Verdict(Kind.OK, "ok")


def is_complete_ok(outcome: Outcome) -> bool:
    """An `ok` envelope whose data is an object that passed the page check, whatever the HTTP status."""
    body = outcome.body
    return (isinstance(body, dict) and outcome.error.get("code") == "ok" and outcome.malformed is None
            and isinstance(body.get("data"), dict))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
