"""initial schema: the older tool's tables plus the runner's checkpoints, coverage and quota ledger

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Self-contained on purpose (no import of crawlspec.storage.models): a migration describes the schema as it was
at this revision. tests/storage/test_migrations.py compares it with the models (autogenerate finds nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite auto-increments only an INTEGER PRIMARY KEY (64-bit there); PostgreSQL gets BIGSERIAL.
ID_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def _internal_id() -> sa.Column:
    return sa.Column("id", ID_PK, autoincrement=True, nullable=False)


def _link_table(name: str, left: tuple[str, str], right: tuple[str, str]) -> None:
    (lcol, ltable), (rcol, rtable) = left, right
    op.create_table(
        name,
        sa.Column(lcol, sa.BigInteger(), nullable=False),
        sa.Column(rcol, sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint([lcol], [f"{ltable}.id"], name=f"{name}_{lcol}_{ltable}_fkey"),
        sa.ForeignKeyConstraint([rcol], [f"{rtable}.id"], name=f"{name}_{rcol}_{rtable}_fkey"),
        sa.PrimaryKeyConstraint(lcol, rcol, name=f"{name}_pkey"),
        sqlite_with_rowid=False,
    )
    op.create_index(f"{name}_{rcol}_idx", name, [rcol], unique=False)


def _named_table(name: str, column: str) -> None:
    """hashtag / effect / crawl_tag: internal id + a unique string."""
    op.create_table(
        name,
        _internal_id(),
        sa.Column(column, sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"{name}_pkey"),
        sa.UniqueConstraint(column, name=f"{name}_{column}_uniq"),
    )


def upgrade() -> None:
    op.create_table(
        "crawl",
        _internal_id(),
        sa.Column("spec_name", sa.String(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("query", sa.JSON(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("overrides", sa.JSON(), nullable=True),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("requests", sa.Integer(), nullable=True),
        sa.Column("videos", sa.BigInteger(), nullable=True),
        sa.Column("extra_data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="crawl_pkey"),
    )
    op.create_index("crawl_fingerprint_idx", "crawl", ["fingerprint"], unique=False)

    _named_table("hashtag", "name")
    _named_table("effect", "effect_id")
    _named_table("crawl_tag", "name")

    op.create_table(
        "video",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("create_time", UTC, nullable=True),
        sa.Column("username", sa.String(), nullable=True),
        sa.Column("region_code", sa.String(length=8), nullable=True),
        sa.Column("video_description", sa.Text(), nullable=True),
        sa.Column("music_id", sa.BigInteger(), nullable=True),
        sa.Column("like_count", sa.BigInteger(), nullable=True),
        sa.Column("comment_count", sa.BigInteger(), nullable=True),
        sa.Column("share_count", sa.BigInteger(), nullable=True),
        sa.Column("view_count", sa.BigInteger(), nullable=True),
        sa.Column("playlist_id", sa.BigInteger(), nullable=True),
        sa.Column("voice_to_text", sa.Text(), nullable=True),
        sa.Column("crawled_at", UTC, nullable=True),
        sa.Column("crawled_updated_at", UTC, nullable=True),
        sa.Column("extra_data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="video_pkey"),
    )
    op.create_index("video_username_idx", "video", ["username"], unique=False)

    _link_table("videos_to_hashtags", ("video_id", "video"), ("hashtag_id", "hashtag"))
    _link_table("videos_to_effect_ids", ("video_id", "video"), ("effect_id", "effect"))
    _link_table("videos_to_crawls", ("video_id", "video"), ("crawl_id", "crawl"))
    _link_table("videos_to_crawl_tags", ("video_id", "video"), ("crawl_tag_id", "crawl_tag"))
    _link_table("crawls_to_crawl_tags", ("crawl_id", "crawl"), ("crawl_tag_id", "crawl_tag"))

    op.create_table(
        "user_info",
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("bio_description", sa.Text(), nullable=True),
        sa.Column("avatar_url", sa.Text(), nullable=True),
        sa.Column("is_verified", sa.Boolean(), nullable=True),
        sa.Column("follower_count", sa.BigInteger(), nullable=True),
        sa.Column("following_count", sa.BigInteger(), nullable=True),
        sa.Column("likes_count", sa.BigInteger(), nullable=True),
        sa.Column("video_count", sa.BigInteger(), nullable=True),
        sa.Column("bio_url", sa.Text(), nullable=True),
        sa.Column("crawled_at", UTC, nullable=True),
        sa.Column("crawled_updated_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("username", name="user_info_pkey"),
    )
    op.create_table(
        "comment",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("video_id", sa.BigInteger(), nullable=True),
        sa.Column("parent_comment_id", sa.BigInteger(), nullable=True),
        sa.Column("like_count", sa.BigInteger(), nullable=True),
        sa.Column("reply_count", sa.BigInteger(), nullable=True),
        sa.Column("create_time", UTC, nullable=True),
        sa.Column("crawled_at", UTC, nullable=True),
        sa.Column("crawled_updated_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name="comment_pkey"),
    )
    op.create_index("comment_video_id_idx", "comment", ["video_id"], unique=False)

    op.create_table(
        "crawl_spec",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("query", sa.JSON(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("fetch", sa.JSON(), nullable=True),
        sa.Column("created_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("fingerprint", name="crawl_spec_pkey"),
    )
    op.create_table(
        "crawl_window",
        _internal_id(),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("search_id", sa.String(), nullable=True),
        sa.Column("has_more", sa.Boolean(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("videos", sa.BigInteger(), nullable=False),
        sa.Column("crawl_id", sa.BigInteger(), nullable=True),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("updated_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_until", UTC, nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'in_progress', 'done', 'failed')",
                           name="crawl_window_status_check"),
        sa.ForeignKeyConstraint(["crawl_id"], ["crawl.id"], name="crawl_window_crawl_id_crawl_fkey"),
        sa.PrimaryKeyConstraint("id", name="crawl_window_pkey"),
        sa.UniqueConstraint("fingerprint", "start_date", "end_date", name="crawl_window_fingerprint_uniq"),
    )
    op.create_table(
        "covered_day",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("crawl_id", sa.BigInteger(), nullable=True),
        sa.Column("covered_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["crawl_id"], ["crawl.id"], name="covered_day_crawl_id_crawl_fkey"),
        sa.PrimaryKeyConstraint("fingerprint", "day", name="covered_day_pkey"),
    )
    op.create_table(
        "quota_ledger",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("pool", sa.String(length=16), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "pool", name="quota_ledger_pkey"),
    )


def downgrade() -> None:
    for table in ("quota_ledger", "covered_day", "crawl_window", "crawl_spec", "comment", "user_info",
                  "crawls_to_crawl_tags", "videos_to_crawl_tags", "videos_to_crawls",
                  "videos_to_effect_ids", "videos_to_hashtags", "video", "crawl_tag", "effect",
                  "hashtag", "crawl"):
        op.drop_table(table)
