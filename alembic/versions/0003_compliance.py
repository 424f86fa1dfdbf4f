"""compliance refresh (runs, validation tasks, per-table refresh records), failing days, failure spend

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Self-contained (no import of crawlspec models), like 0001/0002; tests/storage/test_migrations.py checks that the
models and the migrations do not drift.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "refresh_run",
        sa.Column("id", ID_PK, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("videos_checked", sa.BigInteger(), nullable=False),
        sa.Column("videos_removed", sa.BigInteger(), nullable=False),
        sa.Column("comments_checked", sa.BigInteger(), nullable=False),
        sa.Column("comments_removed", sa.BigInteger(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('running', 'complete')", name="refresh_run_status_check"),
        sa.PrimaryKeyConstraint("id", name="refresh_run_pkey"),
    )
    op.create_table(
        "compliance_task",
        sa.Column("id", ID_PK, autoincrement=True, nullable=False),
        sa.Column("refresh_id", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("api_task_id", sa.String(length=40), nullable=True),
        sa.Column("ids_count", sa.Integer(), nullable=False),
        sa.Column("ids_text", sa.Text(), nullable=False),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("valid_count", sa.Integer(), nullable=True),
        sa.Column("removed", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", UTC, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'submitted', 'failed', 'done')", name="compliance_task_status_check"),
        sa.CheckConstraint("category IN ('video', 'comment')", name="compliance_task_category_check"),
        sa.ForeignKeyConstraint(["refresh_id"], ["refresh_run.id"], name="compliance_task_refresh_id_refresh_run_fkey"),
        sa.PrimaryKeyConstraint("id", name="compliance_task_pkey"),
        sa.UniqueConstraint("refresh_id", "category", "seq", name="compliance_task_refresh_id_uniq"),
    )
    op.create_table(
        "table_refresh",
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("refresh_id", sa.BigInteger(), nullable=True),
        sa.Column("refreshed_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("rows_checked", sa.BigInteger(), nullable=False),
        sa.Column("rows_removed", sa.BigInteger(), nullable=False),
        sa.Column("total_removed", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["refresh_id"], ["refresh_run.id"], name="table_refresh_refresh_id_refresh_run_fkey"),
        sa.PrimaryKeyConstraint("table_name", name="table_refresh_pkey"),
    )
    op.create_table(
        "failing_day",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("last_log_id", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("first_failed_at", UTC, nullable=False),
        sa.Column("last_failed_at", UTC, nullable=False),
        sa.Column("retry_after", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", "day", name="failing_day_pkey"),
    )
    op.create_table(
        "failure_spend",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "fingerprint", name="failure_spend_pkey"),
    )


def downgrade() -> None:
    for table in ("failure_spend", "failing_day", "table_refresh", "compliance_task", "refresh_run"):
        op.drop_table(table)
