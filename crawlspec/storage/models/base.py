"""What every table shares: the declarative `Base` (with the constraint naming convention the migrations
rely on) and the column types (`UtcDateTime`, `BigIntPK`, `JsonValue`).

Every timestamp is UTC: `UtcDateTime` stores it naive-UTC on SQLite / `timestamptz` on PostgreSQL and
always hands back an aware UTC datetime, whatever the back end.
"""


import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    Table,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY (the rowid alias), which
# is a 64-bit integer there anyway; PostgreSQL gets a real BIGINT.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")

# Python None is stored as SQL NULL (not the JSON text 'null'), so `IS NULL` means "no value".
JsonValue = JSON(none_as_null=True)

WINDOW_STATUSES: tuple[str, ...] = ("pending", "in_progress", "done", "failed")
UNFINISHED_STATUSES: tuple[str, ...] = ("pending", "in_progress")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every back end (naive values are taken as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        value = value.astimezone(dt.timezone.utc)
        # SQLite keeps no offset: store the UTC wall time so that text comparisons order correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "%(column_0_label)s_idx",
            "uq": "%(table_name)s_%(column_0_name)s_uniq",
            "ck": "%(table_name)s_%(constraint_name)s_check",
            "fk": "%(table_name)s_%(column_0_name)s_%(referred_table_name)s_fkey",
            "pk": "%(table_name)s_pkey",
        }
    )


__all__ = ["BigIntPK", "Base", "JsonValue", "UNFINISHED_STATUSES", "UtcDateTime", "WINDOW_STATUSES"]


def table_of(model: type[Base]) -> Table:
    """The `Table` of a mapped class (SQLAlchemy types `__table__` as any FromClause)."""
    table = model.__table__
    assert isinstance(table, Table), f"{model.__name__} is not mapped to a Table"
    return table
