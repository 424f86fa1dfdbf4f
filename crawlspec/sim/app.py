"""The simulated API, independent of the HTTP server: one `handle()` per request.

Order for research endpoints: count the request, apply the short-term burst limit if set (429
`rate_limit_exceeded` with Retry-After, not charged), charge the daily quota (429 with Retry-After to
00:00 UTC when exhausted; every other outcome, 401s and injected faults included, is charged), check
the token (401), inject faults, then validate and answer.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from crawlspec.api import fields as api_fields
from crawlspec.sim import compliance, endpoints, user_endpoints
from crawlspec.sim.corpus import Corpus
from crawlspec.sim.faults import FaultInjector
from crawlspec.sim.gate import admit_research_request
from crawlspec.sim.options import SimOptions
from crawlspec.sim.real_shapes import RealShapes
from crawlspec.sim.responses import (
    ApiError,
    Handler,
    Response,
    data_response,
    error_response,
    invalid_params,
    json_response,
    oauth_error,
)
from crawlspec.sim.search import SearchCache
from crawlspec.sim.state import BurstLimit, Quota, SimClock, Stats, TokenStore

ADMIN_PREFIX = "/_sim/"
RESEARCH_FIELDS: dict[str, tuple[str, ...]] = {
    api_fields.VIDEO_QUERY_PATH: api_fields.VIDEO_FIELDS_ALL,
    api_fields.USER_INFO_PATH: api_fields.USER_INFO_FIELDS,
    api_fields.COMMENTS_PATH: api_fields.COMMENT_FIELDS,
    **user_endpoints.FIELDS,   # liked/pinned/reposted, followers/following, playlist (() = no `fields`)
}


class SimulatorApp:
    def __init__(self, opts: SimOptions, corpus: Corpus, clock: SimClock) -> None:
        corpus = compliance.own_copy(corpus) if opts.unavailable_rate > 0 else corpus
        self.opts, self.corpus, self.clock = opts, corpus, clock
        self.tokens = TokenStore(clock, opts.token_ttl)
        self.quota = Quota({"research": opts.daily_quota, "follow": api_fields.DAILY_QUOTA_FOLLOW})
        self.stats_counter = Stats()
        self.availability = compliance.Availability(corpus, opts.unavailable_rate, opts.seed, clock)
        self.compliance = compliance.ComplianceService(
            self.availability, polls=opts.compliance_polls, seed=opts.seed, quota=self.quota, tokens=self.tokens,
            clock=clock, stats=self.stats_counter, file_style=opts.compliance_file_style)
        self.faults = FaultInjector(opts)
        self.burst = BurstLimit(clock, *opts.burst_limit) if opts.burst_limit else None
        self.searches = SearchCache(opts.seed)
        self.shapes = RealShapes(opts.seed, lowercase_region_rate=opts.lowercase_region_rate,
                                 oversize_id_rate=opts.oversize_id_rate)
        self.handlers: dict[str, Handler] = {
            api_fields.VIDEO_QUERY_PATH: endpoints.VideoQuery(
                corpus, self.searches, self.faults, self.stats_counter,
                endpoints.EmptyOutage(opts.empty_outage, opts.empty_outage_requests, clock.today)),
            api_fields.USER_INFO_PATH: endpoints.UserInfo(corpus),
            api_fields.COMMENTS_PATH: endpoints.Comments(corpus, gone=self.availability.comment_gone),
            **user_endpoints.handlers(corpus),
        }
        self.handlers = user_endpoints.refuse_unauthorized(self.handlers, opts.unauthorized_endpoint_names)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        path, _, query_string = target.partition("?")
        if path.startswith(compliance.ADMIN_PREFIX):
            return self.compliance.admin(method, path, query_string)
        if path.startswith(ADMIN_PREFIX):
            return self._admin(method, path, body)
        self.stats_counter.count_request(path)
        if self.opts.latency_ms:
            time.sleep(self.opts.latency_ms / 1000)
        if path == api_fields.TOKEN_PATH:
            return self._token(method, headers, body)
        if self.burst is not None and (path in compliance.PATHS or path in RESEARCH_FIELDS):
            wait = self.burst.retry_after()
            if wait is not None:
                self.stats_counter.count_fault("burst_limited")
                return error_response(ApiError(429, "rate_limit_exceeded", "Too many requests in a short time; "
                                               "slow down and retry later.", retry_after_s=wait), self.clock.now())
        if path in compliance.PATHS:
            return self.compliance.handle(method, path, headers, body)
        if path in RESEARCH_FIELDS:
            self.availability.sync()
            try:
                response = data_response(self._research(method, path, query_string, headers, body),
                                         self.clock.now())
                if self.opts.playlist_500_ok and path == api_fields.PLAYLIST_INFO_PATH:
                    self.stats_counter.count_fault("playlist_500_ok")
                    response.status = 500   # the observed quirk: a complete answer under HTTP 500
                return response
            except ApiError as error:
                return error_response(error, self.clock.now())
            except _RawFault as fault:
                return fault.response
        return error_response(ApiError(404, "not_found", f"no endpoint at {path}"), self.clock.now())

    # --- research endpoints -----------------------------------------------------------------------

    def _research(self, method: str, path: str, query_string: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        admit_research_request(method, path, headers, quota=self.quota, tokens=self.tokens,
                               stats=self.stats_counter, today=self.clock.today(), now=self.clock.now())
        if path == api_fields.VIDEO_QUERY_PATH and self.opts.failing_days:
            failing = compliance.failing_day_error(self.opts.failing_day_ranges, parse_body(body))
            if failing is not None:
                self.stats_counter.count_fault("failing_day")
                raise failing
        fault = self.faults.server_fault()
        if fault is not None:
            self.stats_counter.count_fault("server_error")
            if isinstance(fault, ApiError):
                raise fault
            raise _RawFault(fault)
        allowed = RESEARCH_FIELDS[path]
        fields = parse_fields(query_string, allowed) if allowed else ()
        request = parse_body(body)
        return self.shapes.apply(path, request, self.handlers[path](fields, request))

    # --- token -------------------------------------------------------------------------------------

    def _token(self, method: str, headers: dict[str, str], body: bytes) -> Response:
        now, status = self.clock.now(), self.opts.token_error_status
        if method != "POST":
            return oauth_error(status, "invalid_request", "The token endpoint takes POST.", now)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        for name, label in (("client_key", "Client key"), ("client_secret", "Client secret"),
                            ("grant_type", "Grant type")):
            if not form.get(name):
                return oauth_error(status, "invalid_request", f"{label} is missed in request.", now)
        if form["grant_type"] != "client_credentials":
            return oauth_error(status, "unsupported_grant_type", "Grant type is not supported.", now)
        if form["client_key"] != self.opts.client_key or form["client_secret"] != self.opts.client_secret:
            return oauth_error(status, "invalid_client", "Client key or secret is invalid.", now)
        return json_response(200, {"access_token": self.tokens.issue(), "expires_in": self.opts.token_ttl,
                                   "token_type": "Bearer"})

    # --- admin -------------------------------------------------------------------------------------

    def _admin(self, method: str, path: str, body: bytes) -> Response:
        if path == "/_sim/stats" and method == "GET":
            return json_response(200, self.stats())
        if path == "/_sim/advance-day" and method == "POST":
            self.clock.advance_day()
            return json_response(200, self.stats())
        if path == "/_sim/faults" and method == "POST":
            return self._fault_burst(body)
        return json_response(404, {"error": {"code": "not_found", "message": f"no admin endpoint {method} {path}"}})

    def _fault_burst(self, body: bytes) -> Response:
        """`{"server_errors": N}`: the next N research requests answer 500 (charged like any other)."""
        try:
            count = json.loads(body.decode("utf-8") or "{}").get("server_errors")
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            count = None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            return json_response(400, {"error": {"code": "invalid_params",
                                                 "message": 'expected {"server_errors": N} with N >= 0'}})
        self.faults.start_burst(count)
        return json_response(200, self.stats())

    def stats(self) -> dict[str, Any]:
        requests, faults = self.stats_counter.snapshot()
        today = self.clock.today()
        return {"requests": requests, "quota_used": self.quota.used("research", today),
                "quota_limit": self.quota.limits["research"], "follow_quota_used": self.quota.used("follow", today),
                "follow_quota_limit": self.quota.limits["follow"], "day": today.isoformat(), "now": self.clock.now(),
                "tokens_issued": self.tokens.issued, "searches_cached": len(self.searches), "faults": faults,
                "fault_burst_left": self.faults.burst_left, "videos": len(self.corpus)}


class _RawFault(Exception):
    """An injected fault whose body is not the JSON envelope (HTML 504, plain-text 500)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def parse_fields(query_string: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The `fields` query parameter: comma-separated, spaces tolerated, every name known, required."""
    raw = ",".join(parse_qs(query_string, keep_blank_values=True).get("fields", []))
    names = tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    if not names:
        raise invalid_params("fields is required: a comma-separated list of " + ",".join(allowed))
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise invalid_params(f"Invalid fields: {','.join(unknown)}")
    return names


def parse_body(body: bytes) -> object:
    """JSON whatever the Content-Type says (application/json or text/plain)."""
    try:
        return json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise invalid_params("request body is not valid JSON") from None
