"""Runs the enrichment stages a spec asks for after its video crawl (called by `run_command`).

Order: comments (and replies when asked for), then creator info, then playlists. A stage that stops (quota with
`on_quota_exhausted: exit`, `limits.max_api_requests`, a signal) stops the later ones too: the run
exits 75 and the next run continues where the committed checkpoints say. A stage whose endpoint answers
401 `scope_not_authorized` ends there (recorded, asked again the next UTC day); the later stages still run.
"""

from __future__ import annotations

from typing import Any

from crawlspec.api import fields as api_fields
from crawlspec.crawl.endpoint_access import guarded_stage
from crawlspec.crawl.stage import StageStats, spec_creators

DEFAULT_MAX_AGE_DAYS = 30


def max_age_days(config: dict[str, Any]) -> int:
    value = (config.get("api") or {}).get("user_info_max_age_days")
    return DEFAULT_MAX_AGE_DAYS if value is None else int(value)


def run_stages(plan: Any, ctx: Any, config: dict[str, Any]) -> list[StageStats]:
    """The stages of `config["spec"]` in order; stops after the first stage that stopped."""
    fetch = (config.get("spec") or {}).get("fetch") or {}
    results: list[StageStats] = []
    for name, endpoint, stage in _stages(plan, ctx, config, fetch):
        stats = guarded_stage(ctx, name, endpoint, stage)
        results.append(stats)
        if stats.stopped:
            break
    return results


def _stages(plan: Any, ctx: Any, config: dict[str, Any], fetch: dict[str, Any]) -> list:
    from crawlspec.crawl.stages.comments import CommentCrawler, CommentScope
    from crawlspec.crawl.stages.creators import CreatorInfoFetcher

    stages = []
    if fetch.get("comments"):
        scope = CommentScope(plan.fingerprint, plan.start, plan.end)
        stages.append(("comments", api_fields.COMMENTS_PATH,
                       lambda: CommentCrawler(ctx, scope, replies=bool(fetch.get("comment_replies"))).run()))
    if fetch.get("user_info"):
        def creators() -> StageStats:
            with ctx.engine.connect() as conn:
                names = spec_creators(conn, plan.fingerprint, plan.start, plan.end)
            return CreatorInfoFetcher(ctx, names, max_age_days=max_age_days(config)).run()
        stages.append(("user_info", api_fields.USER_INFO_PATH, creators))
    if fetch.get("playlists"):
        def playlists() -> StageStats:
            from crawlspec.crawl.stages.playlists import PlaylistFetcher, spec_playlist_ids

            with ctx.engine.connect() as conn:
                ids = spec_playlist_ids(conn, plan.fingerprint, plan.start, plan.end)
            return PlaylistFetcher(ctx, ids).run()
        stages.append(("playlists", api_fields.PLAYLIST_INFO_PATH, playlists))
    return stages
