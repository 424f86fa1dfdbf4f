"""what auto-sized windows learned per fingerprint (`window.days_per_query: auto`)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

One row per fingerprint: the day limit, the attempts and 5xx answers of its searches by size (from
which the planner fits how fast failures grow with the size of a search), the videos per day a first
window's pages showed (`page_rate`, used until a window finishes), and how many failures and splits it
saw. The density of finished windows is not stored here: it is read from the finished window checkpoints
(`crawl_window`), whose final cursor counts every result of the window. Self-contained (no import of crawlspec models);
tests/storage/test_migrations.py checks that the models and the migrations do not drift.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "window_learning",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("max_days", sa.Integer(), nullable=False),
        sa.Column("observations", sa.JSON(), nullable=False),
        sa.Column("page_rate", sa.Float(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("splits", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("fingerprint", name="window_learning_pkey"),
    )


def downgrade() -> None:
    op.drop_table("window_learning")
