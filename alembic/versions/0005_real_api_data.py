"""real API data: quarantine of unstorable records, days re-fetched once matured, region codes upper case

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

- `quarantine`: records the API sent that cannot be stored faithfully (an id beyond 64 bits, ...),
  kept whole with their endpoint, log_id, reason, time and crawl, instead of failing their page.
- `matured_refetch`: days whose provisional metrics were re-fetched once (`run.refetch_provisional`).
- `video.region_code` is stored upper case: the API has answered whole pages with `"us"`. Rows stored
  before this revision are upper-cased here (both back ends).

Self-contained (no import of crawlspec models), like the earlier revisions.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)


def _crawl_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["crawl_id"], ["crawl.id"], name=f"{table}_crawl_id_crawl_fkey")


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column("id", ID_PK, autoincrement=True, nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Text(), nullable=True),
        sa.Column("raw_json", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("log_id", sa.Text(), nullable=True),
        sa.Column("crawl_id", sa.BigInteger(), nullable=True),
        sa.Column("quarantined_at", UTC, nullable=False),
        _crawl_fk("quarantine"),
        sa.PrimaryKeyConstraint("id", name="quarantine_pkey"),
    )
    op.create_table(
        "matured_refetch",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("refetched_at", UTC, nullable=False),
        sa.Column("crawl_id", sa.BigInteger(), nullable=True),
        _crawl_fk("matured_refetch"),
        sa.PrimaryKeyConstraint("fingerprint", "day", name="matured_refetch_pkey"),
    )
    op.execute("UPDATE video SET region_code = upper(region_code) "
               "WHERE region_code IS NOT NULL AND region_code <> upper(region_code)")


def downgrade() -> None:
    """Drops the two tables; upper-cased region codes stay upper case (the API's own form)."""
    op.drop_table("matured_refetch")
    op.drop_table("quarantine")
