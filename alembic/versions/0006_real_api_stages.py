"""endpoints the project is not approved for; days answered empty once, awaiting confirmation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Self-contained (no import of crawlspec models); tests/storage/test_migrations.py checks that the models and the
migrations do not drift.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "endpoint_access",
        sa.Column("endpoint", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("checked_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("endpoint", name="endpoint_access_pkey"),
    )
    op.create_table(
        "empty_day",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("first_empty_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", "day", name="empty_day_pkey"),
    )


def downgrade() -> None:
    for table in ("empty_day", "endpoint_access"):
        op.drop_table(table)
