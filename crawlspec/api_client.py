"""The older tool's high-level Python API, on crawlspec's client, runner and storage.

    from crawlspec.api_client import ApiClientConfig, TikTokApiClient, VideoQueryConfig

Differences from the older tool, on purpose (README, "Python library"):
- `ApiClientConfig(api_base_url=...)` points the client at any Research API (or the simulator);
- `VideoQueryConfig.end_date` is **inclusive** (the older tool treated it as exclusive), as in specs and
  the API's own examples; any span is split into windows of at most `days_per_query` (<= 30) days;
- `fetch_and_store_all` runs the checkpointed runner: killed, it resumes where it stopped, and days it
  already stored are not fetched again.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawlspec.api.fields import (
    COMMENTS_PATH,
    MAX_COMMENTS_PER_VIDEO,
    VIDEO_FIELDS_DEFAULT,
    VIDEO_QUERY_PATH,
    quota_pool_limits,
)
from crawlspec.client import (
    RawArchive,
    TikTokApiRequestClient,
    TikTokCommentsRequest,
    TikTokUserInfoRequest,
    TikTokVideoRequest,
    default_api_base_url,
    load_credentials,
)
from crawlspec.clock import utc_now
from crawlspec.crawl.paging import Paginator
from crawlspec.crawl.quota import QuotaWaiter, RequestBudget
from crawlspec.errors import QuotaExhausted, SpecError
from crawlspec.logs import get_logger
from crawlspec.spec.query import Cond, Fields, Op, VideoQuery
from crawlspec.spec.windows import split_window

if TYPE_CHECKING:   # the compiler (and its YAML/JSON Schema libraries) is imported when a crawl is planned
    from crawlspec.spec.compile import CompiledSpec

__all__ = [
    "ApiClientConfig", "ApiRateLimitWaitStrategy", "TikTokApiClient", "TikTokApiClientFetchResult",
    "TikTokApiRequestClient", "TikTokCommentsRequest", "TikTokUserInfoRequest", "TikTokVideoRequest",
    "VideoQueryConfig", "VideoQuery", "Cond", "Fields", "Op", "library_plan",
]


class ApiRateLimitWaitStrategy(str, Enum):
    WAIT_FOUR_HOURS = "wait_four_hours"
    WAIT_NEXT_UTC_MIDNIGHT = "wait_next_utc_midnight"
    EXIT = "exit"


@dataclass
class ApiClientConfig:
    engine: Any = None  # a SQLAlchemy Engine, or None (then results can't be stored)
    api_credentials_file: Path | str | None = None
    api_base_url: str = field(default_factory=default_api_base_url)
    max_api_requests: int | None = None
    raw_responses_output_dir: Path | str | None = None
    api_rate_limit_wait_strategy: ApiRateLimitWaitStrategy | str = ApiRateLimitWaitStrategy.WAIT_NEXT_UTC_MIDNIGHT
    daily_quota: int = 1000


@dataclass
class VideoQueryConfig:
    query: VideoQuery | dict[str, Any]
    start_date: datetime | date
    end_date: datetime | date  # inclusive
    max_count: int = 100
    fetch_comments: bool = False
    fetch_user_info: bool = False
    crawl_tags: Sequence[str] | None = None
    fields: Sequence[str] = VIDEO_FIELDS_DEFAULT
    days_per_query: int | str = 7   # the older tool's default; "auto": sized by the crawl (as a spec's default)
    name: str = "library"

    def query_dict(self) -> dict[str, Any]:
        return self.query.as_dict() if isinstance(self.query, VideoQuery) else dict(self.query)

    def dates(self) -> tuple[date, date]:
        return _as_date(self.start_date), _as_date(self.end_date)


@dataclass
class TikTokApiClientFetchResult:
    videos: list[dict[str, Any]] = field(default_factory=list)
    user_info: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] | None = None  # the last page's raw `data` (has_more, cursor, search_id)
    complete: bool = True   # False: a quota, `max_api_requests` or a failure stopped the collection early

    def extend(self, other: TikTokApiClientFetchResult) -> None:
        self.videos.extend(other.videos)
        self.user_info.extend(other.user_info)
        self.comments.extend(other.comments)
        self.data = other.data


class _MemoryLedger:
    """Per-process request counting when no database is configured (same interface as QuotaLedger): per
    UTC day and pool, so a collection that waits for the quota to reset goes on after midnight UTC."""

    def __init__(self, limits: dict[str, int], clock: Callable[[], datetime] = utc_now):
        self.limits = limits
        self.clock = clock
        self.counts: dict[tuple[date, str], int] = {}
        self._lock = threading.Lock()

    def today(self) -> date:
        return self.clock().astimezone(timezone.utc).date()

    def reserve(self, pool: str = "research", *, day: date | None = None) -> bool:
        key = (day or self.today(), pool)
        with self._lock:
            if self.counts.get(key, 0) >= self.limits.get(pool, 0):
                return False
            self.counts[key] = self.counts.get(key, 0) + 1
            return True

    def release(self, pool: str, day: date) -> None:
        """Give back a reservation of `day` never sent."""
        with self._lock:
            self.counts[(day, pool)] = max(0, self.counts.get((day, pool), 0) - 1)

    def used(self, pool: str = "research", day: date | None = None) -> int:
        return self.counts.get((day or self.today(), pool), 0)

    def remaining(self, pool: str = "research") -> int:
        return self.limits.get(pool, 0) - self.used(pool)

    def remaining_known(self, pool: str = "research") -> int:
        return self.remaining(pool)


class TikTokApiClient:
    """Pagination, token management, retries, quota and (optionally) storage, for library users."""

    def __init__(self, config: ApiClientConfig, request_client: TikTokApiRequestClient | None = None):
        self.config = config
        limits = quota_pool_limits(config.daily_quota)
        if config.engine is not None:
            from crawlspec.storage.database import upgrade_database  # lazy: pulls in SQLAlchemy
            from crawlspec.storage.ledger import QuotaLedger  # lazy: pulls in SQLAlchemy

            upgrade_database(config.engine)
            self.ledger: Any = QuotaLedger(config.engine, limits=limits)
        else:
            self.ledger = _MemoryLedger(limits)
        self.budget = RequestBudget(self.ledger, max_api_requests=config.max_api_requests)
        self.stop_event = threading.Event()
        self.stopped: str | None = None   # why the last api_results_iter/fetch_all stopped early (None: it did not)
        self.waiter = QuotaWaiter(str(getattr(config.api_rate_limit_wait_strategy, "value",
                                              config.api_rate_limit_wait_strategy)),
                                  stop_event=self.stop_event)
        if request_client is None:
            archive = RawArchive(Path(config.raw_responses_output_dir)) if config.raw_responses_output_dir else None
            request_client = TikTokApiRequestClient(
                load_credentials(config.api_credentials_file), config.api_base_url,
                before_request=self.budget, raw_archive=archive)
        else:  # the user's own request client: the budget goes first, a hook they installed still runs
            request_client.before_request = _chain_hooks(self.budget, request_client.before_request)
        self.request_client = request_client

    @classmethod
    def from_config(cls, config: ApiClientConfig, raw_responses_output_dir: Path | None = None) -> TikTokApiClient:
        if raw_responses_output_dir is not None:
            config.raw_responses_output_dir = raw_responses_output_dir
        return cls(config)

    # -- iteration -------------------------------------------------------------------------------
    def api_results_iter(self, query_config: VideoQueryConfig) -> Iterator[TikTokApiClientFetchResult]:
        """One parsed result per API page, window after window, until every window is delivered or no
        request may be sent (`max_api_requests` reached, the daily quota used up under `EXIT`): then
        iteration stops early, as in the older tool, with an `api_results_iter_stopped` warning and the
        reason in `self.stopped` (None after a complete iteration). `query_config` is checked at once:
        a `SpecError` names each wrong field before any request."""
        plan = self.plan(query_config)
        self.stopped = None
        return self._pages(plan, query_config)

    def _pages(self, plan: CompiledSpec, query_config: VideoQueryConfig) -> Iterator[TikTokApiClientFetchResult]:
        asked: set[str] = set()  # creators already asked about in this iteration: one request each
        for window in plan.windows:
            start_date, end_date = window.api_dates()
            pages = Paginator(f"videos {start_date}-{end_date}", endpoint=VIDEO_QUERY_PATH)  # the one paging rule
            search_id: str | None = None
            while True:
                request = TikTokVideoRequest(query=plan.query, start_date=start_date,
                                             end_date=end_date, max_count=plan.max_count,
                                             cursor=pages.cursor, search_id=search_id, fields=plan.fields)
                response = self._call(self.request_client.fetch_videos, request)
                if response is None:
                    self._stopped_early(f"videos {start_date}-{end_date} at cursor {pages.cursor or 0}")
                    return
                more = pages.advance(response.cursor, response.has_more)
                result = TikTokApiClientFetchResult(videos=list(response.videos), data=response.data)
                self._add_extras(result, query_config, asked)
                yield result
                if not more:
                    break
                search_id = response.search_id or search_id

    def fetch_all(self, query_config: VideoQueryConfig,
                  store_results_after_each_response: bool = False) -> TikTokApiClientFetchResult:
        """Every page in one result object (held in memory: prefer `fetch_and_store_all` for big crawls);
        `complete` is False when the collection stopped early (`self.stopped` says why).
        `store_results_after_each_response=True` runs `fetch_and_store_all` (each page stored with its
        checkpoint) and also returns the videos it stored in this call; the comments and creator info
        it fetched are in the database."""
        if store_results_after_each_response:
            from crawlspec.storage.videos import video_record_id  # lazy: pulls in SQLAlchemy

            by_id: dict[int | None, dict[str, Any]] = {}   # a window planned again fetches its stored pages again

            def keep(videos: list[dict[str, Any]]) -> None:   # the stored videos of a page: their ids are usable
                by_id.update((video_record_id(video), video) for video in videos)

            stored = self.fetch_and_store_all(query_config, on_page=keep)
            stored.videos = list(by_id.values())
            return stored
        total = TikTokApiClientFetchResult()
        for result in self.api_results_iter(query_config):
            total.extend(result)
        total.complete = self.stopped is None
        return total

    def fetch_and_store_all(self, query_config: VideoQueryConfig, *,
                            on_page: Callable[[list[dict[str, Any]]], None] | None = None,
                            ) -> TikTokApiClientFetchResult:
        """Run the checkpointed crawl session of `crawlspec run` into `config.engine`; returns counts, not
        the rows (they are in the database), so memory stays flat whatever the crawl's size. `complete`
        is False unless the run's outcome (`data["outcome"]`, as `crawlspec status` shows it) is
        "complete": then `self.stopped` holds the outcome and a `fetch_and_store_all_incomplete` warning
        is logged; a later call goes on where this one stopped. `on_page`: called with the videos of each
        page that were stored, once the page is committed (a page fetched again calls it again)."""
        from crawlspec.crawl.session import CrawlSession  # lazy: pulls in OmegaConf, SQLAlchemy, jsonschema
        from crawlspec.crawl.videos import RunnerSettings  # lazy: pulls in OmegaConf, SQLAlchemy, jsonschema

        if self.config.engine is None:
            raise ValueError("fetch_and_store_all needs ApiClientConfig(engine=...)")
        plan = self.plan(query_config)
        result = CrawlSession(plan, engine=self.config.engine, client=self.request_client, budget=self.budget,
                              waiter=self.waiter, stop_event=self.stop_event,
                              runner=RunnerSettings(on_quota_exhausted=self.waiter.strategy), on_page=on_page).run()
        complete = result.outcome == "complete"
        self.stopped = None if complete else result.outcome
        if not complete:
            get_logger("crawlspec.library").warning(
                "fetch_and_store_all_incomplete", outcome=result.outcome, exit_code=result.exit_code,
                videos_stored=result.videos.videos, errors=result.errors[:5],
                note="what was fetched is stored; call fetch_and_store_all again to go on")
        return TikTokApiClientFetchResult(data={"videos_stored": result.videos.videos, "pages": result.videos.pages,
                                                "requests": result.requests, "outcome": result.outcome},
                                          complete=complete)

    def plan(self, query_config: VideoQueryConfig) -> CompiledSpec:
        """The crawl plan of `query_config`; raises `SpecError` naming each wrong field before any request."""
        return library_plan(query_config, max_api_requests=self.config.max_api_requests)

    # -- helpers ---------------------------------------------------------------------------------
    def _call(self, fetch: Any, request: Any) -> Any:
        """`fetch(request)`, waiting out an exhausted quota per the wait strategy; None when no request may
        be sent (`self.stopped` then says why)."""
        while True:
            try:
                return fetch(request)
            except QuotaExhausted as err:
                if not self.waiter.wait_or_stop(err):
                    self.stopped = str(err)
                    return None

    def _stopped_early(self, where: str) -> None:
        get_logger("crawlspec.library").warning(
            "api_results_iter_stopped", reason=self.stopped, stopped_at=where,
            note="the results so far are incomplete; TikTokApiClient.stopped holds the reason")

    def _add_extras(self, result: TikTokApiClientFetchResult, query_config: VideoQueryConfig,
                    asked: set[str]) -> None:
        """In-memory comments and creator info for one page (no database: the stored path,
        `fetch_and_store_all`, runs the checkpointed stages instead)."""
        if query_config.fetch_user_info:
            for username in sorted({v["username"] for v in result.videos if v.get("username")} - asked):
                asked.add(username)
                response = self._call(self.request_client.fetch_user_info, TikTokUserInfoRequest(username))
                if response is not None:
                    result.user_info.extend(response.user_info.values())
        if query_config.fetch_comments:

            for video in result.videos:
                if video.get("comment_count", 1) == 0:
                    continue  # the API has nothing to give: spend no request
                pages = Paginator(f"comments of video {video['id']}", cursor=0, ceiling=MAX_COMMENTS_PER_VIDEO,
                                  endpoint=COMMENTS_PATH)
                while True:
                    response = self._call(self.request_client.fetch_comments,
                                          TikTokCommentsRequest(video_id=video["id"], cursor=pages.cursor or 0))
                    if response is None:
                        return
                    more = pages.advance(response.cursor, response.has_more)   # the one paging rule
                    result.comments.extend(response.comments)
                    if not more:
                        break


LIBRARY_NAMES: tuple[tuple[str, str], ...] = (   # spec keys -> the library's names, longest first
    ("spec.query.raw", "VideoQueryConfig.query"),
    ("spec.query", "VideoQueryConfig.query"),
    ("spec.window.start", "VideoQueryConfig.start_date"),
    ("spec.window.end", "VideoQueryConfig.end_date"),
    ("spec.window.days_per_query", "VideoQueryConfig.days_per_query"),
    ("spec.window", "VideoQueryConfig"),
    ("spec.fields", "VideoQueryConfig.fields"),
    ("spec.tags", "VideoQueryConfig.crawl_tags"),
    ("spec.name", "VideoQueryConfig.name"),
    ("spec.limits.max_count", "VideoQueryConfig.max_count"),
    ("spec.limits.max_api_requests", "ApiClientConfig.max_api_requests"),
    ("spec.fetch.comments", "VideoQueryConfig.fetch_comments"),
    ("spec.fetch.user_info", "VideoQueryConfig.fetch_user_info"),
    ("spec", "VideoQueryConfig"),
)
_SPEC_PATH = re.compile(r"\bspec(?:\.[A-Za-z_]+)*")


def library_plan(query_config: VideoQueryConfig, *, max_api_requests: int | None = None) -> CompiledSpec:
    """The plan of a library crawl, checked by the spec validator: every problem at once, as `SpecError`,
    each naming the `VideoQueryConfig` field (`end_date` before `start_date`, `days_per_query` outside
    1..30, an unknown region code in the query, ...). The query and fields are sent as given, and the
    fingerprint is that of the query and fields as given (earlier library crawls resume)."""
    from crawlspec.spec.compile import (  # lazy: pulls in OmegaConf, jsonschema
        CompiledSpec,
        StageFlags,
        fingerprint,
        window_size,
    )
    from crawlspec.spec.validate import validate_spec  # lazy: pulls in jsonschema

    query = query_config.query_dict()
    spec = {"name": query_config.name, "query": {"raw": query},
            "window": {"start": query_config.start_date, "end": query_config.end_date,
                       "days_per_query": query_config.days_per_query},
            "fields": list(query_config.fields), "tags": list(query_config.crawl_tags or ()),
            "fetch": {"comments": query_config.fetch_comments, "user_info": query_config.fetch_user_info},
            "limits": {"max_api_requests": max_api_requests, "max_count": query_config.max_count}}
    problems = validate_spec(spec)
    if problems:
        raise SpecError([_library_names(problem) for problem in problems])
    start, end = query_config.dates()
    fields = tuple(query_config.fields)
    auto_windows, days_per_query = window_size(query_config.days_per_query)
    return CompiledSpec(
        name=query_config.name, fingerprint=fingerprint(query, fields), query=query, start=start, end=end,
        days_per_query=days_per_query, auto_windows=auto_windows,
        windows=tuple(split_window(start, end, days_per_query)), fields=fields,
        fetch={"comments": query_config.fetch_comments, "user_info": query_config.fetch_user_info},
        tags=tuple(query_config.crawl_tags or ()), max_api_requests=max_api_requests,
        max_count=query_config.max_count,
        stages=StageFlags(comments=query_config.fetch_comments, user_info=query_config.fetch_user_info))


def _library_names(problem: str) -> str:
    """A validator message with each spec key replaced by the library field it came from."""
    def rename(match: re.Match[str]) -> str:
        path = match.group(0)
        for key, name in LIBRARY_NAMES:
            if path == key or path.startswith(key + "."):
                return name + path[len(key):]
        return path
    return _SPEC_PATH.sub(rename, problem)


def _chain_hooks(first: Callable[[str], None],
                 then: Callable[[str], None] | None) -> Callable[[str], None]:
    if then is None:
        return first

    def both(path: str) -> None:
        first(path)
        then(path)
    release = getattr(first, "release", None)
    if release is not None:   # a reservation never sent is given back (see TikTokApiRequestClient._admit)
        both.release = release  # type: ignore[attr-defined]
    return both


def _as_date(value: datetime | date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
