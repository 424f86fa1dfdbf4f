"""`TikTokApiRequestClient`: one request (page) at a time, with token handling, retries and quota hooks.

Each research attempt: `before_request(path)` (may raise QuotaExhausted: nothing is sent; given back
through the hook's `release(path)`, when it has one, if no access token can be had or the API answers 429,
which it does not charge), POST with
JSON body and `?fields=a,b,c`, archive the raw answer, `classify` it, then act. What is retried and how
is described in `crawlspec.client.retry`; the decision itself is `crawlspec.client.classify.classify`.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from crawlspec import __version__
from crawlspec.api.fields import TOKEN_PATH
from crawlspec.client.api_requests import (
    TikTokCommentsRequest,
    TikTokUserInfoRequest,
    TikTokVideoRequest,
    fields_param,
)
from crawlspec.client.classify import Kind, Outcome, Verdict, classify, parse_retry_after
from crawlspec.client.credentials import Credentials, load_credentials
from crawlspec.client.page_check import page_problem
from crawlspec.client.raw_archive import RawArchive
from crawlspec.client.responses import (
    TikTokCommentsResponse,
    TikTokUserInfoResponse,
    TikTokVideoResponse,
    parse_json,
)
from crawlspec.client.retry import (
    AttemptFailed,
    Pacer,
    RetryPolicy,
    SearchIdFailure,
    ThrottleFailure,
    TransientFailure,
    UnparsableFailure,
    Wait,
    with_retries,
    with_throttle,
)
from crawlspec.client.token import TokenKeeper
from crawlspec.client.user_endpoints import UserEndpointsMixin
from crawlspec.errors import ApiError, CredentialsRejected, EndpointNotAuthorized, QuotaExhausted, SpecError
from crawlspec.logs import get_logger, redact_text
from crawlspec.text import json_is_storable, storable, without_nul_escapes

DEFAULT_API_BASE_URL = "https://open.tiktokapis.com"
API_BASE_URL_VARIABLE = "CRAWLSPEC_API_BASE_URL"


def default_api_base_url() -> str:
    """`$CRAWLSPEC_API_BASE_URL` when set (a proxy, or a local `crawlspec sim`), else the real API."""
    return os.environ.get(API_BASE_URL_VARIABLE) or DEFAULT_API_BASE_URL

DEFAULT_RETRY = RetryPolicy()
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_READ_TIMEOUT_S = 330.0   # a slow answer (a 504 was seen after 4 min 11 s) still arrives
_REMEMBERED_SEARCHES = 1024   # search_id -> dates, for next-page requests built without dates
_TEXT_EXCERPT = 2000


def session_for(base_url: str) -> requests.Session:
    """A `requests` session with the environment's proxy and CA-bundle settings for `base_url` read once.

    A session left to trust the environment reads them again for every request (a scan of every
    environment variable, and of `~/.netrc`, per page). `~/.netrc` is not consulted at all: its
    credentials would replace the API's bearer token."""
    session = requests.Session()
    settings = session.merge_environment_settings(base_url, {}, None, None, None)
    session.proxies.update(settings["proxies"])
    session.verify = settings["verify"]
    session.trust_env = False
    return session


class TikTokApiRequestClient(UserEndpointsMixin):
    """Low-level Research API client (the older tool's interface, plus `api_base_url`); the user,
    reply and playlist endpoints come from `UserEndpointsMixin`."""

    def __init__(self, credentials: Credentials, api_base_url: str | None = None, *,
                 session: requests.Session | None = None, timeout_s: float | None = None,
                 connect_timeout_s: float | None = None, read_timeout_s: float | None = None,
                 retry: RetryPolicy = DEFAULT_RETRY, before_request: Callable[[str], None] | None = None,
                 raw_archive: RawArchive | None = None, sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, stop_event: threading.Event | None = None,
                 max_requests_per_minute: float | None = None):
        """`stop_event` (set by SIGINT/SIGTERM) ends every wait at once and stops further requests
        (`Interrupted`); `sleep` replaces the pause itself in tests. Timeouts: see `request_timeout`."""
        self.credentials = credentials
        self.api_base_url = (api_base_url or default_api_base_url()).rstrip("/")
        self._owns_session = session is None
        self._session = session or session_for(self.api_base_url)
        self._session.headers.setdefault("User-Agent", f"crawlspec/{__version__}")
        self._timeout = request_timeout(timeout_s, connect_timeout_s, read_timeout_s)
        self._before_request = before_request
        self._raw_archive = raw_archive
        self._log = get_logger("crawlspec.client")
        self._wait = Wait(stop_event, sleep)
        self.stop_event = self._wait.stop_event
        self._pacer = Pacer(max_requests_per_minute, self._wait, clock)
        self._tokens = TokenKeeper(credentials, self.api_base_url + TOKEN_PATH, self._session,
                                   timeout_s=self._timeout, policy=retry, sleep=self._wait, clock=clock,
                                   log=self._log)
        throttled = with_throttle(self._attempt_with_token, policy=retry, wait=self._wait, log=self._log,
                                  quota_error=self._throttle_quota)
        self.retry_policy = retry
        # (retry server errors?, retry a rejected search_id?) -> the wrapped call with those retries
        self._posts = {(server, search): with_retries(throttled, policy=dataclasses.replace(
                           retry, max_tries=retry.max_tries if server else 1,
                           search_id_tries=retry.search_id_tries if search else 1), sleep=self._wait, log=self._log)
                       for server in (True, False) for search in (True, False)}
        self._post = self._posts[True, True]
        self._search_dates: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self.requests_sent: collections.Counter[str] = collections.Counter()

    @property
    def before_request(self) -> Callable[[str], None] | None:
        """Called with the endpoint path before every research attempt (retries included); may raise
        `QuotaExhausted`, then nothing is sent. Settable after construction (the library client installs
        its quota budget here on a request client the user built)."""
        return self._before_request

    @before_request.setter
    def before_request(self, hook: Callable[[str], None] | None) -> None:
        if hook is not None and not callable(hook):
            raise TypeError(f"before_request must be callable or None, got {type(hook).__name__}")
        self._before_request = hook

    @classmethod
    def from_credentials_file(cls, credentials_file: Path | str,
                              api_base_url: str | None = None, **kwargs: Any) -> TikTokApiRequestClient:
        """Credentials from the YAML file (CRAWLSPEC_CLIENT_KEY/SECRET, when both set, take precedence)."""
        return cls(load_credentials(credentials_file), api_base_url, **kwargs)

    @property
    def token_requests(self) -> int:
        """Token requests sent (free: not research requests, not in `requests_sent`)."""
        return self._tokens.requests_sent

    def ensure_token(self) -> None:
        """Fetch a token now if none is held or it is about to expire (`crawlspec test`)."""
        self._tokens.current()

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> TikTokApiRequestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- endpoints ---------------------------------------------------------------------------------

    def fetch_videos(self, req: TikTokVideoRequest, *, retry_server_errors: bool = True,
                     retry_search_id: bool = True) -> TikTokVideoResponse:
        """One page of Query Videos. A next-page request without dates gets the dates of the request
        that obtained its search_id (the API requires the same dates on every page).
        `retry_server_errors=False`: a 5xx, timeout or connection error is raised at once
        (`RetriesExhausted`) instead of retried, for a caller that would rather ask a smaller window
        (every failed attempt is charged). `retry_search_id=False`: a rejected search_id is raised at once
        (`SearchIdRejected`), for a caller that would rather start the search again."""
        start_date, end_date = self._dates_for(req)
        body = req.as_json(start_date, end_date)
        post = self._posts[retry_server_errors, retry_search_id]
        envelope, _ = post(req.path, body, fields_param(req.fields))
        page = TikTokVideoResponse.from_envelope(envelope)
        if page.search_id is not None:
            self._remember_search(page.search_id, start_date, end_date)
        return page

    def fetch_comments(self, req: TikTokCommentsRequest) -> TikTokCommentsResponse:
        envelope, _ = self._post(req.path, req.as_json(), fields_param(req.fields))
        return TikTokCommentsResponse.from_envelope(envelope)

    def fetch_user_info(self, req: TikTokUserInfoRequest) -> TikTokUserInfoResponse:
        """A creator's profile; an unknown or refused user gives `not_found=True` (no exception)."""
        envelope, verdict = self._post(req.path, req.as_json(), fields_param(req.fields))
        if verdict.kind is Kind.NOT_FOUND:
            message = envelope.get("error", {}).get("message", "") if isinstance(envelope, dict) else ""
            return TikTokUserInfoResponse.not_found_for(envelope, str(message))
        return TikTokUserInfoResponse.from_envelope(envelope, req.username)

    # -- dates of follow-up pages --------------------------------------------------------------------

    def _dates_for(self, req: TikTokVideoRequest) -> tuple[str, str]:
        if req.start_date and req.end_date:
            return req.start_date, req.end_date
        remembered = self._search_dates.get(str(req.search_id)) if req.search_id is not None else None
        if remembered is None:
            raise SpecError("TikTokVideoRequest needs start_date and end_date (YYYYMMDD); they may be left "
                            "out only for a next page whose search_id this client obtained itself.")
        return req.start_date or remembered[0], req.end_date or remembered[1]

    def _remember_search(self, search_id: str, start_date: str, end_date: str) -> None:
        self._search_dates[search_id] = (start_date, end_date)
        self._search_dates.move_to_end(search_id)
        while len(self._search_dates) > _REMEMBERED_SEARCHES:
            self._search_dates.popitem(last=False)

    # -- one attempt -------------------------------------------------------------------------------

    def _attempt_with_token(self, path: str, body: dict[str, Any], fields: str) -> tuple[dict[str, Any], Verdict]:
        """One attempt, plus one immediate re-send with a fresh token if the API calls ours invalid.
        Raises the retry layers' internal failures or the public errors; returns the NUL-free envelope."""
        outcome = self._send(path, body, fields, self._tokens.current)
        verdict = classify(outcome)
        if verdict.kind is Kind.TOKEN_EXPIRED:
            self._log.info("access_token_renewed_after_401", endpoint=path, log_id=outcome.log_id)
            outcome = self._send(path, body, fields, self._tokens.renew)
            verdict = classify(outcome)
            if verdict.kind is Kind.TOKEN_EXPIRED:
                raise self._rejected(outcome, "a freshly issued access token was refused")
        return self._act_on(outcome, verdict), verdict

    def _act_on(self, outcome: Outcome, verdict: Verdict) -> dict[str, Any]:
        kind = verdict.kind
        if kind in (Kind.OK, Kind.NOT_FOUND):
            if outcome.status is not None and outcome.status >= 500:
                self._log.warning("api_5xx_with_usable_body", endpoint=outcome.path, status=outcome.status,
                                  log_id=outcome.log_id, note="a complete ok answer: taken, not retried")
            body: dict[str, Any] = outcome.body if outcome.storable else storable(outcome.body)
            return body
        if kind is Kind.RETRY:
            raise TransientFailure(outcome, verdict)
        if kind is Kind.UNPARSABLE:
            raise UnparsableFailure(outcome, verdict)
        if kind is Kind.THROTTLE:   # a 429 is not charged: its reservation is given back
            self._give_back(outcome.path)
            raise ThrottleFailure(outcome, verdict)
        if kind is Kind.SEARCH_ID_RETRY:
            raise SearchIdFailure(outcome, verdict)
        if kind is Kind.QUOTA:
            self._give_back(outcome.path)
            raise self._quota(outcome)
        if kind is Kind.AUTH:
            raise self._rejected(outcome, "the project is not authorised for this endpoint"
                                 if outcome.code == "scope_not_authorized" else "access refused")
        self._log.error("api_error", endpoint=outcome.path, status=outcome.status, code=outcome.code,
                        message=outcome.message, log_id=outcome.log_id)
        raise ApiError(redact_text(outcome.message or verdict.reason), status=outcome.status,
                       code=outcome.code or verdict.reason, log_id=outcome.log_id, endpoint=outcome.path)

    def _send(self, path: str, body: dict[str, Any], fields: str, token_of: Callable[[], str]) -> Outcome:
        """Reserve (before_request), then get the token: a run the ledger stops does no network at all."""
        token = self._admit(path, token_of)
        url = f"{self.api_base_url}{path}?fields={fields}" if fields else f"{self.api_base_url}{path}"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            resp = self._session.post(url, data=json.dumps(body).encode("utf-8"), headers=headers,
                                      timeout=self._timeout)
        except requests.RequestException as exc:
            return Outcome(path=path, exception=exc)
        outcome = _outcome_of(path, resp, keep_nul=self._raw_archive is not None)
        if self._raw_archive is not None:
            self._raw_archive.record(path, body, outcome.status,
                                     outcome.body if outcome.body is not None else outcome.text)
        return outcome

    def _admit(self, path: str, token_of: Callable[[], str]) -> str:
        """Everything before a research request leaves: no signal yet (else `Interrupted`), client-side
        pacing, the ledger's reservation, a token. Returns the token; counts the request."""
        self._wait.check()
        self._pacer.pace()
        if self._before_request is not None:
            self._before_request(path)
        try:
            token = token_of()
        except BaseException:
            self._give_back(path)   # nothing was sent
            raise
        self.requests_sent[path] += 1
        return token

    def _give_back(self, path: str) -> None:
        """The last reservation made for `path` by this thread was not charged by the API (never sent, or
        answered 429): a hook that can give it back (`RequestBudget.release`) does."""
        release = getattr(self._before_request, "release", None)
        if release is not None:
            release(path)

    # -- errors ------------------------------------------------------------------------------------

    def _throttle_quota(self, failure: AttemptFailed, why: str) -> QuotaExhausted:
        """A throttle that does not end: treated as the day's quota being spent."""
        return self._quota(failure.outcome, f"the API kept refusing requests with 429 ({why}), so the "
                                            "daily quota is taken as used up")

    def _quota(self, outcome: Outcome, why: str = "the daily quota (1,000 requests, reset at 00:00 UTC) "
                                                  "is used up") -> QuotaExhausted:
        log_suffix = f", log_id {outcome.log_id}" if outcome.log_id else ""
        err = QuotaExhausted(
            f"The API refused the request with HTTP {outcome.status} {outcome.code or ''}".rstrip()
            + f"{log_suffix}: {why}. Committed work is safe; run again later.", source="api")
        err.code = outcome.code  # type: ignore[attr-defined]
        err.log_id = outcome.log_id  # type: ignore[attr-defined]
        err.status = outcome.status  # type: ignore[attr-defined]
        err.retry_after_s = parse_retry_after(outcome.retry_after)  # type: ignore[attr-defined]
        return err

    def _rejected(self, outcome: Outcome, why: str) -> CredentialsRejected:
        detail = f"HTTP {outcome.status} {outcome.code or ''}".rstrip()
        if outcome.message:
            detail += f": {outcome.message}"
        if outcome.log_id:
            detail += f" (log_id {outcome.log_id})"
        message = redact_text(
            f"{outcome.path}: {why} ({detail}); credentials from {self.credentials.describe_source()}. "
            "Check that the project is approved for the Research API and its scopes.")
        if outcome.code == "scope_not_authorized":
            return EndpointNotAuthorized(message, endpoint=outcome.path)
        return CredentialsRejected(message)


def request_timeout(timeout_s: float | None = None, connect_timeout_s: float | None = None,
                    read_timeout_s: float | None = None) -> tuple[float, float]:
    """(connect, read) seconds for `requests`. `timeout_s`, when given, is both (the older single
    setting); otherwise each of the two, defaulting to 10 s to connect and 330 s to read."""
    if timeout_s is not None:
        return float(timeout_s), float(timeout_s)
    connect = DEFAULT_CONNECT_TIMEOUT_S if connect_timeout_s is None else float(connect_timeout_s)
    read = DEFAULT_READ_TIMEOUT_S if read_timeout_s is None else float(read_timeout_s)
    return connect, read


def _outcome_of(path: str, resp: requests.Response, *, keep_nul: bool = False) -> Outcome:
    """Parse a response into an Outcome; a non-JSON or non-object body keeps a text excerpt instead.

    NUL escapes are removed from the JSON text before it is decoded (one pass over the bytes instead of
    a call per decoded string), unless `keep_nul` (the raw archive keeps the answer as it came)."""
    retry_after = resp.headers.get("Retry-After")
    raw = resp.content if keep_nul else without_nul_escapes(resp.content)
    try:
        body = parse_json(raw)
    except ValueError:
        return Outcome(path=path, status=resp.status_code, text=resp.text[:_TEXT_EXCERPT],
                       retry_after=retry_after)
    if not isinstance(body, dict):
        return Outcome(path=path, status=resp.status_code, text=resp.text[:_TEXT_EXCERPT],
                       retry_after=retry_after)
    return Outcome(path=path, status=resp.status_code, body=body, retry_after=retry_after,
                   malformed=_malformed(path, resp.status_code, body), storable=json_is_storable(raw))


def _malformed(path: str, status: int, body: dict[str, Any]) -> str | None:
    """The page_check problem of a successful page: `ok` (or no code) with HTTP 2xx, or an explicit
    `ok` envelope with HTTP 5xx (a 5xx carrying a usable page); error answers are not pages."""
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    page_like = (200 <= status < 300 and code in (None, "ok")) or (status >= 500 and code == "ok")
    if not page_like:
        return None
    return page_problem(path, body.get("data"))
