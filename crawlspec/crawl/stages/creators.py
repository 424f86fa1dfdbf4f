"""The creator-info stage (`fetch.user_info: true`): one user-info request per creator not known yet.

The cache is the database, so it is shared by every run and process using it:
- a creator whose `user_info` row was fetched less than `max_age_days` ago (api.user_info_max_age_days,
  default 30) costs nothing; older rows are fetched again (follower counts move);
- "cannot find the user" / "cannot return this user's information" is recorded in `user_lookup` as
  `not_found` and not asked again the same UTC day; it is not an error.
Each answer commits on its own (user row + lookup row), so a killed run loses at most the request in flight.
The statements are in `crawlspec.storage.videos` (profiles) and `crawlspec.storage.user_lookups`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from crawlspec.client import TikTokUserInfoRequest
from crawlspec.crawl.stage import Stage, utc_midnight
from crawlspec.crawl.videos import RunContext
from crawlspec.errors import ApiError
from crawlspec.storage.user_lookups import recent_not_found, record_lookup
from crawlspec.storage.videos import store_user_info, stored_usernames

DEFAULT_MAX_AGE_DAYS = 30


def creators_to_ask(conn: Connection, usernames: Sequence[str], *, now: datetime,
                    max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> list[str]:
    """The usernames the API must be asked about: neither stored recently nor "not found" today."""
    fresh = stored_usernames(conn, usernames, seen_since=now - timedelta(days=max_age_days))
    gone = recent_not_found(conn, usernames, since=utc_midnight(now))
    return sorted(set(usernames) - fresh - gone)


class CreatorInfoFetcher(Stage):
    """Fetches and stores the info of `usernames` that the database does not know (see module doc)."""

    name = "user_info"

    def __init__(self, ctx: RunContext, usernames: Sequence[str], *, max_age_days: int = DEFAULT_MAX_AGE_DAYS):
        super().__init__(ctx)
        self.usernames = [name for name in dict.fromkeys(usernames) if name]
        self.max_age_days = max_age_days

    def work(self) -> None:
        with self.ctx.engine.connect() as conn:
            wanted = creators_to_ask(conn, self.usernames, now=self.ctx.clock(), max_age_days=self.max_age_days)
        self.stats.skipped = len(self.usernames) - len(wanted)
        if wanted:
            self.log.info("user_info_start", creators=len(wanted), already_known=self.stats.skipped)
        for username in wanted:
            self._fetch_one(username)

    def _fetch_one(self, username: str) -> None:
        try:
            response = self.call(lambda: self.ctx.client.fetch_user_info(TikTokUserInfoRequest(username)))
        except ApiError as err:
            self.failed(f"user info of {username}", err, "user_info_failed", username=username)
            return
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            if response.not_found:
                record_lookup(conn, username, status="not_found", message=response.message, now=now,
                              crawl_id=self.ctx.crawl_id)
            else:
                store_user_info(conn, response.user_info, now=now, log_id=response.log_id,
                                crawl_id=self.ctx.crawl_id)
                record_lookup(conn, username, status="found", message=None, now=now, crawl_id=self.ctx.crawl_id)
                self.stats.records += 1
        self.stats.done += 1
        self.log.info("user_info", username=username, not_found=response.not_found,
                      requests_used=self.ctx.budget.used)
