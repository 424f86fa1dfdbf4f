"""enrichment: comment checkpoints, creator lookups, user-centred crawl tables, playlists

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Self-contained (no import of crawlspec models), like 0001; tests/storage/test_migrations.py checks that the
models and the migrations do not drift.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)


def _crawl_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["crawl_id"], ["crawl.id"], name=f"{table}_crawl_id_crawl_fkey")


def _status_check(table: str, statuses: tuple[str, ...]) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"status IN {statuses!r}", name=f"{table}_status_check")


def _sighting_columns() -> list[sa.Column]:
    return [sa.Column("first_seen_at", UTC, nullable=True), sa.Column("last_seen_at", UTC, nullable=True),
            sa.Column("crawl_id", sa.BigInteger(), nullable=True)]


def _relation_table(name: str, other: sa.Column) -> None:
    """A user's liked/pinned/reposted video or follower/following, with provenance."""
    extra = [sa.Column("display_name", sa.String(), nullable=True)] if isinstance(other.type, sa.String) else []
    op.create_table(
        name,
        sa.Column("username", sa.String(), nullable=False),
        other,
        *extra,
        *_sighting_columns(),
        _crawl_fk(name),
        sa.PrimaryKeyConstraint("username", other.name, name=f"{name}_pkey"),
    )


def upgrade() -> None:
    op.create_table(
        "comment_progress",
        sa.Column("target", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("video_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("has_more", sa.Boolean(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("comments", sa.BigInteger(), nullable=False),
        sa.Column("crawl_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UTC, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _status_check("comment_progress", ("in_progress", "done", "failed")),
        _crawl_fk("comment_progress"),
        sa.PrimaryKeyConstraint("target", "target_id", name="comment_progress_pkey"),
    )
    op.create_index("comment_progress_video_id_idx", "comment_progress", ["video_id"], unique=False)
    op.create_table(
        "user_lookup",
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("checked_at", UTC, nullable=False),
        sa.Column("crawl_id", sa.BigInteger(), nullable=True),
        _status_check("user_lookup", ("found", "not_found")),
        _crawl_fk("user_lookup"),
        sa.PrimaryKeyConstraint("username", name="user_lookup_pkey"),
    )
    op.create_table(
        "user_list_progress",
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("list", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("crawl_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UTC, nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        _status_check("user_list_progress", ("in_progress", "done", "unavailable", "failed")),
        _crawl_fk("user_list_progress"),
        sa.PrimaryKeyConstraint("username", "list", name="user_list_progress_pkey"),
    )
    for name in ("user_liked_video", "user_pinned_video", "user_reposted_video"):
        _relation_table(name, sa.Column("video_id", sa.BigInteger(), nullable=False))
    _relation_table("user_follower", sa.Column("follower_username", sa.String(), nullable=False))
    _relation_table("user_following", sa.Column("following_username", sa.String(), nullable=False))
    op.create_table(
        "playlist",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("playlist_name", sa.Text(), nullable=True),
        sa.Column("playlist_item_total", sa.BigInteger(), nullable=True),
        sa.Column("playlist_last_updated", sa.BigInteger(), nullable=True),
        sa.Column("playlist_video_ids", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("next_cursor", sa.BigInteger(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("crawl_id", sa.BigInteger(), nullable=True),
        sa.Column("crawled_at", UTC, nullable=True),
        sa.Column("crawled_updated_at", UTC, nullable=True),
        _crawl_fk("playlist"),
        sa.PrimaryKeyConstraint("id", name="playlist_pkey"),
    )


def downgrade() -> None:
    for table in ("playlist", "user_following", "user_follower", "user_reposted_video", "user_pinned_video",
                  "user_liked_video", "user_list_progress", "user_lookup", "comment_progress"):
        op.drop_table(table)
