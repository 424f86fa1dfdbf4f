"""SQLite: timestamps stored as 'YYYY-MM-DD HH:MM:SS' get SQLAlchemy's '.ffffff' (no schema change)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

Why: until this revision the bulk writer handed SQLite datetimes to the sqlite3 driver, whose adapter
writes whole seconds without a fraction ('2024-03-01 00:00:00'), while SQLAlchemy binds query values
as '2024-03-01 00:00:00.000000'. SQLite compares the two as text, so a video created at a whole second
(every API `create_time`) was missed by `Video.create_time == t` and misplaced by `>=`/`<` at a day
boundary. Stored values with a fraction already had SQLAlchemy's form. PostgreSQL stores real
timestamps and is untouched. Self-contained: columns are found by reflection, not from the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHOLE_SECONDS_LENGTH = len("2024-03-01 00:00:00")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    inspector = sa.inspect(bind)
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            if isinstance(column["type"], sa.DateTime):
                name = bind.dialect.identifier_preparer.quote(column["name"])
                quoted_table = bind.dialect.identifier_preparer.quote(table)
                op.execute(f"UPDATE {quoted_table} SET {name} = {name} || '.000000' "
                           f"WHERE typeof({name}) = 'text' AND length({name}) = {WHOLE_SECONDS_LENGTH}")


def downgrade() -> None:
    """Nothing to undo: both forms read back as the same datetime."""
