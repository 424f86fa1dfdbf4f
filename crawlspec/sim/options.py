"""Simulator options: everything that shapes the corpus, the quota, the tokens and the faults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date

from crawlspec.sim.day_ranges import DayRange, normalise_day_ranges
from crawlspec.sim.endpoint_names import unknown_endpoint_names

COMPLIANCE_FILE_STYLES = ("plain", "header_crlf")
TODAY_ENV = "CRAWLSPEC_TODAY"   # the rest of crawlspec pins "today" with it; the simulator follows


@dataclass(frozen=True)
class SimOptions:
    """Options of one simulator. Only `seed`, `videos`, `start`, `days` and `deleted_rate` shape the
    corpus (and so the dump); the others shape the server's behaviour."""

    seed: int = 42
    videos: int = 10_000
    start: date = date(2024, 3, 1)
    days: int = 31
    daily_quota: int = 1000
    token_ttl: int = 7200
    client_key: str = "sim-key"
    client_secret: str = "sim-secret"
    fail_rate: float = 0.0
    invalid_search_id_rate: float = 0.0
    deleted_rate: float = 0.0
    latency_ms: int = 0
    today: date | None = None          # the simulator's first "today"; None: $CRAWLSPEC_TODAY or the real date
    token_error_status: int = 200      # HTTP status of OAuth error bodies (undocumented; 200 likely)
    unavailable_rate: float = 0.0      # share of live videos/comments gone at each new simulated day
    failing_days: tuple[tuple[date, date], ...] | str = ()   # video queries touching these answer 500
    compliance_polls: int = 1          # status polls a validation task answers `Processing` before it ends
    lowercase_region_rate: float = 0.0  # share of video pages whose region codes are lower case ("us")
    oversize_id_rate: float = 0.0      # share of video/comment pages carrying one extra record with a 20-digit id
    compliance_file_style: str = "plain"   # download file: "plain" (one id a line) or "header_crlf"
    burst_limit: tuple[int, float] | str | None = None   # "N/SECONDS": short-term limit, then 429 + Retry-After
    playlist_500_ok: bool = False      # playlist info answers HTTP 500 with its complete ok body
    # endpoints (list names such as "followers", or API paths) the project is not approved for: 401 scope_not_authorized
    unauthorized_endpoints: tuple[str, ...] | str = ()
    hidden_likes_status: int = 400     # HTTP status refusing hidden liked lists (403: "... has not enabled ...")
    empty_outage: str = ""             # "keyword" or "all": those searches answer 0 videos, no error, during an outage
    empty_outage_requests: int = 0     # the outage lasts this many searches; 0: until the simulator's day advances
    dense_fail_videos: int = 0         # >0: a video search matching N videos answers 500 with chance N/(N+this)
    fault_seed: int | None = None      # seed of the fault draws (None: `seed`): other faults, the same corpus

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "failing_days", normalise_day_ranges(self.failing_days))
        except (TypeError, ValueError) as error:
            raise ValueError(f"failing_days: {error}") from None
        try:
            object.__setattr__(self, "burst_limit", parse_burst_limit(self.burst_limit))
        except ValueError as error:
            raise ValueError(f"burst_limit: {error}") from None
        object.__setattr__(self, "unauthorized_endpoints", _endpoint_names(self.unauthorized_endpoints))
        problems = option_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def failing_day_ranges(self) -> tuple[DayRange, ...]:
        """`failing_days` as ranges (what `__post_init__` made of it)."""
        return normalise_day_ranges(self.failing_days)

    @property
    def unauthorized_endpoint_names(self) -> tuple[str, ...]:
        """`unauthorized_endpoints` as a tuple of names (what `__post_init__` made of it)."""
        return _endpoint_names(self.unauthorized_endpoints)

    def start_today(self) -> date | None:
        if self.today is not None:
            return self.today
        pinned = os.environ.get(TODAY_ENV)
        return date.fromisoformat(pinned) if pinned else None


def option_problems(opts: SimOptions) -> list[str]:
    """Every invalid option, each as a message naming the option."""
    problems: list[str] = []
    if opts.videos < 0:
        problems.append(f"videos must be >= 0, got {opts.videos}")
    if opts.days < 1:
        problems.append(f"days must be >= 1, got {opts.days}")
    if opts.daily_quota < 0:
        problems.append(f"daily_quota must be >= 0, got {opts.daily_quota}")
    if opts.token_ttl < 1:
        problems.append(f"token_ttl must be >= 1 second, got {opts.token_ttl}")
    if opts.latency_ms < 0:
        problems.append(f"latency_ms must be >= 0, got {opts.latency_ms}")
    if opts.dense_fail_videos < 0:
        problems.append(f"dense_fail_videos must be >= 0, got {opts.dense_fail_videos}")
    if opts.compliance_polls < 0:
        problems.append(f"compliance_polls must be >= 0, got {opts.compliance_polls}")
    if opts.compliance_file_style not in COMPLIANCE_FILE_STYLES:
        problems.append(f"compliance_file_style must be one of {', '.join(COMPLIANCE_FILE_STYLES)}, "
                        f"got {opts.compliance_file_style!r}")
    for name in ("fail_rate", "invalid_search_id_rate", "deleted_rate", "unavailable_rate", "lowercase_region_rate",
                 "oversize_id_rate"):
        value = getattr(opts, name)
        if not 0.0 <= value <= 1.0:
            problems.append(f"{name} must be between 0 and 1, got {value}")
    if not opts.client_key or not opts.client_secret:
        problems.append("client_key and client_secret must not be empty")
    if opts.token_error_status not in (200, 400, 401):
        problems.append(f"token_error_status must be 200, 400 or 401, got {opts.token_error_status}")
    if opts.hidden_likes_status not in (400, 403):
        problems.append(f"hidden_likes_status must be 400 or 403, got {opts.hidden_likes_status}")
    if opts.empty_outage not in ("", "keyword", "all"):
        problems.append(f"empty_outage must be keyword or all, got {opts.empty_outage!r}")
    if opts.empty_outage_requests < 0:
        problems.append(f"empty_outage_requests must be >= 0, got {opts.empty_outage_requests}")
    problems.extend(f"unauthorized_endpoints: unknown endpoint {name!r}"
                    for name in unknown_endpoint_names(opts.unauthorized_endpoints))
    return problems


def _endpoint_names(names: tuple[str, ...] | str) -> tuple[str, ...]:
    if isinstance(names, str):
        return tuple(part.strip() for part in names.split(",") if part.strip())
    return tuple(names)


def parse_burst_limit(value: tuple[int, float] | str | None) -> tuple[int, float] | None:
    """`"20/60"` -> (20, 60.0): at most 20 requests in any 60 seconds. None or "" -> no limit."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        count_text, sep, seconds_text = value.partition("/")
        try:
            if not sep:
                raise ValueError
            value = (int(count_text.strip()), float(seconds_text.strip()))
        except ValueError:
            raise ValueError(f"expected N/SECONDS (e.g. 20/60), got {value!r}") from None
    count, seconds = int(value[0]), float(value[1])
    if count < 1 or seconds <= 0:
        raise ValueError(f"needs N >= 1 requests per SECONDS > 0, got {count}/{seconds:g}")
    return count, seconds
