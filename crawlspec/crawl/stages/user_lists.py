"""The user-centred crawl (a spec with `users:`): each user's info (through the creator-info cache of
`crawlspec.crawl.stages.creators`) and the lists the spec asks for, each paged to its end or `max_per_list`.

Checkpoints (`user_list_progress`, one row per user and list) commit with each page's rows, so a
killed run resumes at the stored cursor. Freshness, per list:
- `done`: not fetched again for `api.user_info_max_age_days` (default 30, the creator-info rule);
  after that the list is fetched again from its start (rows only ever gain a newer `last_seen_at`);
- `unavailable` (hidden likes, private following, unknown or refused user): recorded with the API's
  message, not an error, and asked again from the next UTC day;
- `in_progress`: continued from its cursor; `failed`: tried again by the next run.
Paging follows `crawlspec.crawl.paging`: liked videos, followers and following page down a unix-seconds
cursor ("on or before"), reposted videos up a start index; pinned videos are one answer.
An endpoint answering 401 `scope_not_authorized` (the project is not approved for it) leaves its lists
untouched, is recorded in `endpoint_access` and asked again from the next UTC day; the stage exits 77.
Followers/following draw from the separate "follow" quota pool (the client's `before_request`
charges the pool of each path); every other list draws from the research pool.
The statements (checkpoints, relation rows) are in `crawlspec.storage.user_lists`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from crawlspec.api import fields as api_fields
from crawlspec.api.fields import MAX_COUNT
from crawlspec.client import user_requests as r
from crawlspec.crawl.endpoint_access import EndpointGate, guarded_stage
from crawlspec.crawl.paging import Direction, Paginator
from crawlspec.crawl.stage import Stage, StageStats, utc_midnight
from crawlspec.crawl.stages.creators import DEFAULT_MAX_AGE_DAYS, CreatorInfoFetcher
from crawlspec.crawl.videos import RunContext
from crawlspec.errors import ApiError, EndpointNotAuthorized
from crawlspec.spec.compile import CompiledSpec
from crawlspec.spec.users import UsersPlan
from crawlspec.storage.endpoint_access import refused_endpoints
from crawlspec.storage.user_lists import LIST_PATHS, ListState, load_states, save_checkpoint, store_list_page

SECONDS_CURSOR_LISTS = ("liked_videos", "followers", "following")


def is_fresh(state: ListState | None, *, now: datetime, max_age_days: int) -> bool:
    """Whether a list needs no request this run (see the module doc)."""
    if state is None or state.updated_at is None:
        return False
    if state.status == "done":
        return state.updated_at >= now - timedelta(days=max_age_days)
    return state.status == "unavailable" and state.updated_at >= utc_midnight(now)


def list_request(state: ListState, max_count: int) -> Any:
    if state.list == "pinned_videos":
        return r.TikTokPinnedVideosRequest(state.username)
    kind = {"liked_videos": r.TikTokLikedVideosRequest, "reposted_videos": r.TikTokRepostedVideosRequest,
            "followers": r.TikTokFollowersRequest, "following": r.TikTokFollowingRequest}[state.list]
    return kind(state.username, max_count=max_count, cursor=state.cursor)


class UserListCrawler(Stage):
    """Fetches the lists of a users plan (see the module doc)."""

    name = "user_lists"

    def __init__(self, ctx: Any, plan: UsersPlan, *, tags: tuple[str, ...] = (), max_age_days: int = 30,
                 max_count: int = MAX_COUNT) -> None:
        super().__init__(ctx)
        self.plan, self.tags = plan, tags
        self.max_age_days, self.max_count = max_age_days, max_count

    def work(self) -> None:
        now = self.ctx.clock()
        with self.ctx.engine.connect() as conn:
            states = load_states(conn, self.plan.names, self.plan.lists)
            self.gate = EndpointGate(refused_endpoints(conn), since=utc_midnight(now))
        for username in self.plan.names:
            for name in self.plan.lists:
                state = states.get((username, name))
                if is_fresh(state, now=now, max_age_days=self.max_age_days):
                    self.stats.skipped += 1
                elif self.gate.is_closed(LIST_PATHS[name]):
                    self.stats.not_authorized(LIST_PATHS[name])
                else:
                    self._crawl_list(_restart(state) if state else ListState(username, name))

    def _crawl_list(self, state: ListState) -> None:
        while state.status == "in_progress":
            left = None if self.plan.max_per_list is None else self.plan.max_per_list - state.records
            request = list_request(state, min(self.max_count, left or self.max_count))
            try:
                response = self.call(partial(self.ctx.client.fetch_user_list, request))
                self._commit_page(state, response)
            except EndpointNotAuthorized as err:
                self._refused(err)
                return
            except ApiError as err:
                self._fail(state, err)
                return
        self.stats.done += 1

    def _refused(self, err: EndpointNotAuthorized) -> None:
        """The project is not approved for this endpoint: record it (not asked again today), go on."""
        with self.ctx.engine.begin() as conn:
            self.gate.refused(conn, err.endpoint, str(err), now=self.ctx.clock())
        self.stats.not_authorized(err.endpoint)
        self.log.warning("endpoint_not_authorized", endpoint=err.endpoint, error=str(err))

    def _commit_page(self, state: ListState, response: Any) -> None:
        more = _next_page(state, response, self.log)   # refuses a cursor that does not advance, first
        now = self.ctx.clock()
        records = response.records
        if self.plan.max_per_list is not None:
            records = records[: self.plan.max_per_list - state.records]
        state.pages += 1
        if response.unavailable:
            state.status, state.message = "unavailable", response.message
        with self.ctx.engine.begin() as conn:
            written = store_list_page(conn, state, records, crawl_id=self.ctx.crawl_id, tags=self.tags, now=now,
                                      log_id=response.log_id)
            state.records += written
            full = self.plan.max_per_list is not None and state.records >= self.plan.max_per_list
            if state.status == "in_progress" and (not more or full):
                state.status = "done"
            save_checkpoint(conn, state, crawl_id=self.ctx.crawl_id, now=now)
            self.gate.answered(conn, LIST_PATHS[state.list])
        self.stats.records += written
        self.log.info("user_list_page", username=state.username, list=state.list, records=written,
                      status=state.status, requests_used=self.ctx.budget.used)

    def _fail(self, state: ListState, err: ApiError) -> None:
        state.status, state.message = "failed", str(err)
        with self.ctx.engine.begin() as conn:
            save_checkpoint(conn, state, crawl_id=self.ctx.crawl_id, now=self.ctx.clock())
        self.failed(f"{state.list} of {state.username}", err, "user_list_failed", username=state.username,
                    list=state.list)


def _restart(state: ListState) -> ListState:
    """An unfinished (or failed) list continues at its cursor; any other starts again from the top."""
    if state.status in ("in_progress", "failed"):
        state.status, state.message = "in_progress", None
        return state
    return ListState(state.username, state.list)


def _next_page(state: ListState, response: Any, log: Any) -> bool:
    """Whether the list has another page, with `state.cursor` moved to it (see `crawlspec.crawl.paging`).
    Pinned videos are one answer; an unavailable list ends without moving its cursor."""
    if response.unavailable:
        return False
    if state.list == "pinned_videos":
        state.cursor = response.cursor if response.cursor is not None else state.cursor
        return False
    pages = Paginator(f"{state.list} of {state.username}", cursor=state.cursor, endpoint=LIST_PATHS[state.list],
                      direction=Direction.DOWN if state.list in SECONDS_CURSOR_LISTS else Direction.UP, log=log)
    more = pages.advance(response.cursor, response.has_more)
    state.cursor = pages.cursor
    return more


def run_user_stages(plan: CompiledSpec, ctx: RunContext, *, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> list[StageStats]:
    """A users spec's stages: the users' info (creator-info cache), then their lists; `max_age_days`
    (api.user_info_max_age_days): how long a stored profile or a finished list counts as fresh."""

    users = plan.users
    assert users is not None, "run_user_stages needs a users spec"
    results: list[StageStats] = []
    if users.info:
        results.append(guarded_stage(ctx, "user_info", api_fields.USER_INFO_PATH, CreatorInfoFetcher(
            ctx, users.names, max_age_days=max_age_days).run))
        if results[-1].stopped:
            return results
    if users.lists:
        crawler = UserListCrawler(ctx, users, tags=tuple(plan.tags), max_age_days=max_age_days,
                                  max_count=int(plan.max_count))
        results.append(crawler.run())
    return results
