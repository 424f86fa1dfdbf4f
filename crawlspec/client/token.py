"""Client-credentials access token: fetched on demand, renewed before it expires.

The token endpoint may answer errors with HTTP 200, so its body decides, whatever the
status. Token requests are not research requests: they are not charged, not passed to `before_request`,
not archived, and counted separately.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from crawlspec.api.fields import TOKEN_PATH
from crawlspec.client.classify import Kind, Outcome, classify
from crawlspec.client.credentials import Credentials
from crawlspec.client.responses import parse_json
from crawlspec.client.retry import RetryPolicy, TransientFailure, with_retries
from crawlspec.errors import ApiError, ApiUnreachable, CredentialsRejected, RetriesExhausted
from crawlspec.logs import redact_text, register_secret

RENEW_MARGIN_S = 300.0        # renew when less than this remains ...
RENEW_MARGIN_FRACTION = 0.1   # ... or less than this share of the lifetime (short-lived simulator tokens)
DEFAULT_TTL_S = 7200


class TokenKeeper:
    """Holds the current token and its expiry (by the injectable monotonic clock)."""

    def __init__(self, credentials: Credentials, token_url: str, session: requests.Session, *,
                 timeout_s: float | tuple[float, float], policy: RetryPolicy, sleep: Callable[[float], None],
                 clock: Callable[[], float], log: Any):
        self._credentials = credentials
        self._url = token_url
        self._session = session
        self._timeout_s = timeout_s
        self._clock = clock
        self._log = log
        self._token: str | None = None
        self._renew_at = 0.0
        self.requests_sent = 0
        self._fetch = with_retries(self._attempt, policy=policy, sleep=sleep, log=log)

    def current(self) -> str:
        """A token valid for a while yet, fetching a new one when needed."""
        if self._token is None or self._clock() >= self._renew_at:
            self._token = None
            try:
                self._token = self._fetch()
            except RetriesExhausted as err:
                raise ApiUnreachable(f"no access token could be had: {err}") from None
        return self._token

    def renew(self) -> str:
        """Drop the current token (the API called it invalid) and fetch a fresh one."""
        self._token = None
        return self.current()

    def _attempt(self) -> str:
        outcome = self._post()
        verdict = classify(outcome)
        if verdict.kind is Kind.OK:
            return self._accept(outcome.body)
        if verdict.kind is Kind.RETRY:
            raise TransientFailure(outcome, verdict)
        if verdict.kind is Kind.AUTH:
            raise self._rejected(outcome)
        raise ApiError(redact_text(outcome.message or verdict.reason), status=outcome.status,
                       code=outcome.code or verdict.reason, log_id=outcome.log_id, endpoint=TOKEN_PATH)

    def _post(self) -> Outcome:
        form = {"client_key": self._credentials.client_key,
                "client_secret": self._credentials.client_secret,
                "grant_type": "client_credentials"}
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-cache"}
        self.requests_sent += 1
        try:
            resp = self._session.post(self._url, data=form, headers=headers, timeout=self._timeout_s)
        except requests.RequestException as exc:
            return Outcome(path=TOKEN_PATH, exception=exc)
        try:
            body = parse_json(resp.content)
        except ValueError:
            return Outcome(path=TOKEN_PATH, status=resp.status_code, text=resp.text[:200],
                           retry_after=resp.headers.get("Retry-After"))
        return Outcome(path=TOKEN_PATH, status=resp.status_code, body=body,
                       retry_after=resp.headers.get("Retry-After"))

    def _accept(self, body: dict[str, Any]) -> str:
        token = str(body["access_token"])
        register_secret(token)
        ttl = body.get("expires_in")
        ttl_s = float(ttl) if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0 \
            else float(DEFAULT_TTL_S)
        margin = min(RENEW_MARGIN_S, ttl_s * RENEW_MARGIN_FRACTION)
        self._renew_at = self._clock() + ttl_s - margin
        self._log.info("access_token_fetched", expires_in_s=ttl_s, source=self._credentials.source)
        return token

    def _rejected(self, outcome: Outcome) -> CredentialsRejected:
        detail = outcome.code or f"HTTP {outcome.status}"
        if outcome.message:
            detail += f": {outcome.message}"
        if outcome.log_id:
            detail += f" (log_id {outcome.log_id})"
        return CredentialsRejected(redact_text(
            f"The API rejected the client credentials from {self._credentials.describe_source()} "
            f"({detail}). Check client_key and client_secret (the project's credentials in the "
            "TikTok developer portal, not a user login)."))
