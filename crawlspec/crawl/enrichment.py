"""Runs the enrichment stages a spec asks for after its video crawl (called by `crawlspec.crawl.session`).

Order: comments (and replies when asked for), then creator info, then playlists. A stage that stops (quota with
`on_quota_exhausted: exit`, `limits.max_api_requests`, a signal) stops the later ones too: the run
exits 75 and the next run continues where the committed checkpoints say. A stage whose endpoint answers
401 `scope_not_authorized` ends there (recorded, asked again the next UTC day); the later stages still run.
"""

from __future__ import annotations

from collections.abc import Callable

from crawlspec.api import fields as api_fields
from crawlspec.crawl.endpoint_access import guarded_stage
from crawlspec.crawl.stage import StageStats
from crawlspec.crawl.stages.comments import CommentCrawler, CommentScope
from crawlspec.crawl.stages.creators import DEFAULT_MAX_AGE_DAYS, CreatorInfoFetcher
from crawlspec.crawl.stages.playlists import PlaylistFetcher
from crawlspec.crawl.videos import RunContext
from crawlspec.spec.compile import CompiledSpec
from crawlspec.storage.spec_videos import spec_creators, spec_playlist_ids

Stage = tuple[str, str, Callable[[], StageStats]]
"""(name, endpoint path, run): one stage of the list `run_stages` works through."""


def run_stages(plan: CompiledSpec, ctx: RunContext, *, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> list[StageStats]:
    """The stages `plan.stages` asks for, in order; stops after the first stage that stopped.
    `max_age_days` (api.user_info_max_age_days): a stored creator younger than this is not asked again."""
    results: list[StageStats] = []
    for name, endpoint, stage in _stages(plan, ctx, max_age_days):
        stats = guarded_stage(ctx, name, endpoint, stage)
        results.append(stats)
        if stats.stopped:
            break
    return results


def _stages(plan: CompiledSpec, ctx: RunContext, max_age_days: int) -> list[Stage]:
    flags = plan.stages
    stages: list[Stage] = []
    if flags.comments:
        scope = CommentScope(plan.fingerprint, plan.start, plan.end)
        stages.append(("comments", api_fields.COMMENTS_PATH,
                       lambda: CommentCrawler(ctx, scope, replies=flags.comment_replies).run()))
    if flags.user_info:
        def creators() -> StageStats:
            with ctx.engine.connect() as conn:
                names = spec_creators(conn, plan.fingerprint, plan.start, plan.end)
            return CreatorInfoFetcher(ctx, names, max_age_days=max_age_days).run()
        stages.append(("user_info", api_fields.USER_INFO_PATH, creators))
    if flags.playlists:
        def playlists() -> StageStats:
            with ctx.engine.connect() as conn:
                ids = spec_playlist_ids(conn, plan.fingerprint, plan.start, plan.end)
            return PlaylistFetcher(ctx, ids).run()
        stages.append(("playlists", api_fields.PLAYLIST_INFO_PATH, playlists))
    return stages
