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


def execute_bulk(conn: Connection, stmt: Any, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Execute an INSERT for many rows (all with the same keys) in as few round trips as possible.

    PostgreSQL: SQLAlchemy batches `INSERT .. ON CONFLICT` into multi-row VALUES ("insertmanyvalues")
    only when it has a RETURNING clause; without one psycopg2 sends the rows one by one (~10x slower).
    SQLite: the driver's executemany is an in-process C loop; the rows are converted with the columns'
    own bind processors and handed over as tuples, skipping SQLAlchemy's per-row bookkeeping (which
    costs more than SQLite's insert itself)."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        sql, names, processors = _sqlite_plan(conn, stmt, table, tuple(rows[0]))
        conn.exec_driver_sql(sql, [tuple([row[name] if proc is None else proc(row[name])
                                          for name, proc in zip(names, processors, strict=True)]) for row in rows])
        return
    if conn.dialect.name == "postgresql":
        stmt = stmt.returning(*table.primary_key.columns)
    conn.execute(stmt, list(rows))


_SQLITE_PLANS: dict[tuple[int, tuple[str, ...]], tuple[str, tuple[str, ...], tuple[Any, ...]]] = {}


def _sqlite_plan(conn: Connection, stmt: Any, table: sa.Table,
                 keys: tuple[str, ...]) -> tuple[str, tuple[str, ...], tuple[Any, ...]]:
    """(SQL, parameter order, bind processors) of a cached statement compiled for these row keys."""
    plan_key = (id(stmt), keys)
    plan = _SQLITE_PLANS.get(plan_key)
    if plan is None:
        compiled = stmt.compile(dialect=conn.dialect, column_keys=list(keys))
        names = tuple(compiled.positiontup or ())
        if set(names) != set(keys):  # a literal bound inside the statement: not for this fast path
            raise ValueError(f"cannot bulk-execute {table.name} statement with parameters {names}")
        processors = tuple(table.c[name].type.bind_processor(conn.dialect) for name in names)
        plan = _SQLITE_PLANS[plan_key] = (str(compiled), names, processors)
    return plan


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


def _label(what: object) -> str:
    """`what` names the value in error messages: a string, or a tuple joined lazily (hot path)."""
    return " ".join(str(part) for part in what) if isinstance(what, tuple) else str(what)


def as_int(value: Any, what: object) -> int | None:
    """An exact integer from an API value (int, digit string, integral float), None stays None."""
    if value is None or type(value) is int:
        return value
    if isinstance(value, bool):
        raise MalformedRecord(f"{_label(what)} is a boolean, not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.replace("\x00", "").strip()
        if text.lstrip("-").isdigit():
            return int(text)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    raise MalformedRecord(f"{_label(what)} is not an integer: {value!r}")


def as_text(value: Any, what: object) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, str):
        return strip_nul(str(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise MalformedRecord(f"{_label(what)} is not a string: {value!r}")


def as_bool(value: Any, what: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise MalformedRecord(f"{_label(what)} is not a boolean: {value!r}")


def as_utc(value: Any, what: object) -> datetime | None:
    """API timestamps are unix seconds (UTC)."""
    seconds = as_int(value, what)
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=timezone.utc)


# Statements are built once per (back end, table, purpose) and reused: SQLAlchemy then finds the
# compiled form in its cache without recomputing the cache key of a large upsert for every page.
_STATEMENTS: dict[tuple[str, str, str], Any] = {}


def _statement(conn: Connection, table: sa.Table, purpose: str, build: Callable[[], Any]) -> Any:
    key = (conn.dialect.name, table.name, purpose)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build()
    return stmt


def ids_for_names(conn: Connection, table: sa.Table, column: str, names: Iterable[str]) -> dict[str, int]:
    """Internal ids of `names` in a (id, unique name) table, inserting the missing ones.

    Select first, insert only what is missing: re-seen pages (the common case) cost one SELECT, and
    PostgreSQL does not burn sequence values on conflicting inserts. A concurrent writer inserting the
    same name is absorbed by ON CONFLICT DO NOTHING; the second SELECT then sees its row."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    found = _select_ids(conn, table, column, wanted)
    missing = [name for name in wanted if name not in found]
    if missing:
        stmt = _statement(conn, table, "add-names", lambda: dialect_insert(conn, table).on_conflict_do_nothing(
            index_elements=[column]))
        execute_bulk(conn, stmt, table, [{column: name} for name in missing])
        found.update(_select_ids(conn, table, column, missing))
    return found


def _select_ids(conn: Connection, table: sa.Table, column: str, names: Sequence[str]) -> dict[str, int]:
    col = table.c[column]
    query = _statement(conn, table, "ids-by-name", lambda: sa.select(col, table.c.id).where(
        col.in_(sa.bindparam("names", expanding=True))))
    found: dict[str, int] = {}
    for part in chunked(names):
        found.update((name, id_) for name, id_ in conn.execute(query, {"names": list(part)}))
    return found


def union_links(conn: Connection, table: sa.Table, rows: Iterable[tuple[int, int]]) -> int:
    """Insert (left id, right id) pairs into a link table, keeping the ones already there."""
    left, right = (col.name for col in table.primary_key.columns)
    unique = sorted(set(rows))
    if not unique:
        return 0
    stmt = _statement(conn, table, "link", lambda: dialect_insert(conn, table).on_conflict_do_nothing())
    if conn.dialect.name == "sqlite":
        # Integer pairs need no type processing: hand them to the driver's executemany as tuples (the
        # SQL is compiled from the Core statement once). About halves the cost of a page on SQLite.
        sql = _statement(conn, table, "link-sql", lambda: str(stmt.compile(dialect=conn.dialect,
                                                                           column_keys=[left, right])))
        conn.exec_driver_sql(sql, unique)
    else:
        execute_bulk(conn, stmt, table, [{left: a, right: b} for a, b in unique])
    return len(unique)


def upsert_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], *,
                keys: Sequence[str], update: Callable[[Any], Mapping[str, Any]]) -> None:
    """One executemany `INSERT .. ON CONFLICT (keys) DO UPDATE SET update(excluded)`.

    Every row must carry the same keys (executemany); rows should be sorted by key so that concurrent
    writers on PostgreSQL lock them in the same order and cannot deadlock. `update` must depend on the
    table and back end only (the statement is built once and reused)."""
    if not rows:
        return

    def build() -> Any:
        stmt = dialect_insert(conn, table)
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=dict(update(stmt.excluded)))

    execute_bulk(conn, _statement(conn, table, "upsert", build), table, rows)


def keep_old_when_missing(table: sa.Table, excluded: Any, columns: Iterable[str]) -> dict[str, Any]:
    """SET col = COALESCE(excluded.col, table.col): the API omits keys it has no value for, and a
    spec asking for fewer fields must not erase what an earlier one stored."""
    return {name: sa.func.coalesce(excluded[name], table.c[name]) for name in columns}
