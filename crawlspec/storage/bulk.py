"""Bulk write primitives on Core: dialect-specific `INSERT .. ON CONFLICT`, name -> internal id upserts,
link-table unions, and the value cleaning every API record goes through (NUL bytes, exact ints, UTC)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

T = TypeVar("T")

# Bound parameters per statement stay far below SQLite's limit (32,766) and PostgreSQL's (65,535).
IN_CHUNK = 500


class MalformedRecord(ValueError):
    """An API record that cannot be stored faithfully (no id, a non-integer id or count, ...).

    Raised before anything of the page is written; the caller's transaction rolls back as a whole."""


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """`INSERT` with `.on_conflict_do_update/do_nothing` for the connection's back end."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"crawlspec stores into SQLite or PostgreSQL, not {name}")


def chunked(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def strip_nul(value: Any) -> Any:
    """The value with every NUL character removed from its strings (PostgreSQL rejects them in text)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        return [strip_nul(item) for item in value]
    if isinstance(value, dict):
        return {strip_nul(key): strip_nul(item) for key, item in value.items()}
    return value


def as_int(value: Any, what: str) -> int | None:
    """An exact integer from an API value (int, digit string, integral float), None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise MalformedRecord(f"{what} is a boolean, not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.replace("\x00", "").strip()
        if text.lstrip("-").isdigit():
            return int(text)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    raise MalformedRecord(f"{what} is not an integer: {value!r}")


def as_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return strip_nul(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise MalformedRecord(f"{what} is not a string: {value!r}")


def as_bool(value: Any, what: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise MalformedRecord(f"{what} is not a boolean: {value!r}")


def as_utc(value: Any, what: str) -> datetime | None:
    """API timestamps are unix seconds (UTC)."""
    seconds = as_int(value, what)
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=timezone.utc)


def ids_for_names(conn: Connection, table: sa.Table, column: str, names: Iterable[str]) -> dict[str, int]:
    """Internal ids of `names` in a (id, unique name) table, inserting the missing ones.

    Select first, insert only what is missing: re-seen pages (the common case) cost one SELECT, and
    PostgreSQL does not burn sequence values on conflicting inserts. A concurrent writer inserting the
    same name is absorbed by ON CONFLICT DO NOTHING; the second SELECT then sees its row."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    col = table.c[column]
    found = _select_ids(conn, table, col, wanted)
    missing = [name for name in wanted if name not in found]
    if missing:
        stmt = dialect_insert(conn, table).on_conflict_do_nothing(index_elements=[column])
        conn.execute(stmt, [{column: name} for name in missing])
        found.update(_select_ids(conn, table, col, missing))
    return found


def _select_ids(conn: Connection, table: sa.Table, col: sa.Column, names: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunked(names):
        for row in conn.execute(sa.select(col, table.c.id).where(col.in_(part))):
            found[row[0]] = row[1]
    return found


def union_links(conn: Connection, table: sa.Table, rows: Iterable[tuple[int, int]]) -> int:
    """Insert (left id, right id) pairs into a link table, keeping the ones already there."""
    left, right = (col.name for col in table.primary_key.columns)
    unique = sorted(set(rows))
    if not unique:
        return 0
    stmt = dialect_insert(conn, table).on_conflict_do_nothing()
    conn.execute(stmt, [{left: a, right: b} for a, b in unique])
    return len(unique)


def upsert_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], *,
                keys: Sequence[str], update: Callable[[Any], Mapping[str, Any]]) -> None:
    """One executemany `INSERT .. ON CONFLICT (keys) DO UPDATE SET update(excluded)`.

    Every row must carry the same keys (executemany); rows should be sorted by key so that concurrent
    writers on PostgreSQL lock them in the same order and cannot deadlock."""
    if not rows:
        return
    stmt = dialect_insert(conn, table)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=dict(update(stmt.excluded)))
    conn.execute(stmt, list(rows))


def keep_old_when_missing(table: sa.Table, excluded: Any, columns: Iterable[str]) -> dict[str, Any]:
    """SET col = COALESCE(excluded.col, table.col): the API omits keys it has no value for, and a
    spec asking for fewer fields must not erase what an earlier one stored."""
    return {name: sa.func.coalesce(excluded[name], table.c[name]) for name in columns}
