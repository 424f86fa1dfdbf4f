"""Bulk write primitives on Core: dialect-specific `INSERT .. ON CONFLICT`, name -> internal id upserts,
link-table unions, and the value checks every API record goes through (storable text, exact ints, UTC)."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timezone
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from crawlspec.text import storable_text

T = TypeVar("T")

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Bound parameters per statement stay far below SQLite's limit (32,766) and PostgreSQL's (65,535).
IN_CHUNK = 500


class MalformedRecord(ValueError):
    """An API record that cannot be stored faithfully (no id, a non-integer id or count, ...).

    Raised before anything of the page is written; the caller's transaction rolls back as a whole."""


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """`INSERT` with `.on_conflict_do_update/do_nothing` for the connection's back end."""
    return dialect_insert_for(conn.dialect.name, table)


def dialect_insert_for(name: str, table: sa.Table) -> Any:
    """`dialect_insert` for a back end named by its dialect name ("sqlite", "postgresql")."""
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"crawlspec stores into SQLite or PostgreSQL, not {name}")


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], *, purpose: str,
                conflict: Callable[[Any], Any]) -> None:
    """`insert_values` for rows given as mappings (all with the same keys)."""
    if rows:
        keys = tuple(rows[0])
        insert_values(conn, table, keys, [_values_of(row, keys) for row in rows] if len(keys) == 1 else
                      list(map(operator.itemgetter(*keys), rows)), purpose=purpose, conflict=conflict)


def _values_of(row: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple([row[key] for key in keys])


def insert_values(conn: Connection, table: sa.Table, keys: tuple[str, ...], values: Sequence[tuple[Any, ...]], *,
                  purpose: str, conflict: Callable[[Any], Any]) -> None:
    """INSERT many rows (tuples of the `keys` columns) with `conflict(insert)` applied (an
    `.on_conflict_do_...` clause), in as few round trips and with as little Python per row as each back
    end allows. `conflict` must depend on the table and back end only: the statement is built once.

    PostgreSQL: one statement with one parameter, the rows as a JSON document, turned back into typed
    rows by the server: `INSERT .. SELECT .. FROM json_to_recordset(:rows) AS page_rows(id BIGINT, ..)`.
    psycopg2 interpolates parameters into the statement text, so SQLAlchemy's multi-row VALUES (or one
    array per column) make the server parse thousands of literals per page; one JSON string is parsed
    by the server's JSON reader instead, about twice as fast for a page of videos (see
    `scripts/bench_ingest.py`). JSON integers are exact (64-bit ids stay exact), timestamps travel as
    ISO 8601 with their offset.
    SQLite: the driver's executemany is an in-process C loop; values go to it as tuples, converted by
    the columns' own bind processors where they have one, skipping SQLAlchemy's per-row bookkeeping
    (which costs more than SQLite's insert itself)."""
    if not values:
        return
    if conn.dialect.name == "postgresql":
        stmt = _statement(conn, table, f"{purpose}:{','.join(keys)}", lambda: conflict(
            postgresql.insert(table).from_select(keys, _pg_json_rows(conn, table, keys))))
        conn.execute(stmt, {"page_rows": _pg_json_document(conn, table, keys, values)})
        return
    stmt = _statement(conn, table, purpose, lambda: conflict(dialect_insert(conn, table)))
    sql, order, processors, memoize = _sqlite_plan(conn, stmt, table, keys)
    if order != tuple(range(len(keys))) or any(processors):
        values = _processed(values, order, [(position, _page_memo(proc) if memo else proc)
                                            for position, (proc, memo) in enumerate(zip(processors, memoize, strict=True))
                                            if proc is not None])
    conn.exec_driver_sql(sql, values)


def _processed(values: Sequence[tuple[Any, ...]], order: tuple[int, ...],
               processors: list[tuple[int, Callable[[Any], Any]]]) -> list[tuple[Any, ...]]:
    """The rows with their values in parameter `order`, each processed column through its processor
    (the reordering in C, Python only for the few processed values)."""
    reorder = operator.itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
    if not processors:
        return list(map(reorder, values))
    rows = []
    for row in values:
        ordered = list(reorder(row))
        for position, process in processors:
            ordered[position] = process(ordered[position])
        rows.append(tuple(ordered))
    return rows


def _page_memo(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process` remembering its last result (timestamps: immutable): a page's `crawled_at` and
    `crawled_updated_at` are one object for every row, and formatting a timestamp as SQLite text costs
    more than inserting it. An identity test, not a lookup: distinct values (`create_time`) pay nothing."""
    last: list[Any] = [object(), None]   # [value, its result]

    def memoized(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return memoized


def _pg_json_rows(conn: Connection, table: sa.Table, keys: Sequence[str]) -> Any:
    """`SELECT a, b, .. FROM json_to_recordset(CAST(:page_rows AS JSON)) AS page_rows(a TYPE, b TYPE, ..)`.

    Strings are read as TEXT: an explicit varchar(n) would truncate silently, whereas the INSERT's
    assignment to a varchar(n) column rejects a value that is too long, as a plain INSERT does."""
    columns = []
    for key in keys:
        column_type = table.c[key].type
        columns.append(sa.column(key, sa.Text() if isinstance(column_type, sa.String) else column_type))
    document = sa.cast(sa.bindparam("page_rows", type_=sa.Text()), postgresql.JSON())
    source = sa.func.json_to_recordset(document).table_valued(*columns, name="page_rows").render_derived(
        with_types=True)
    return sa.select(*(source.c[key] for key in keys))


def _pg_json_document(conn: Connection, table: sa.Table, keys: Sequence[str],
                      values: Sequence[tuple[Any, ...]]) -> str:
    """The rows as a JSON array of objects; timestamps and dates as ISO 8601 (after the column type's
    own processing, e.g. UTC for `UtcDateTime`), JSON columns as nested JSON (null: SQL NULL)."""
    converters = [_pg_json_converter(conn, table.c[key]) for key in keys]
    if any(converters):
        values = [tuple([value if convert is None or value is None else convert(value)
                         for value, convert in zip(row, converters, strict=True)]) for row in values]
    return json.dumps([dict(zip(keys, row, strict=True)) for row in values], separators=(",", ":"))


def _pg_json_converter(conn: Connection, column: sa.Column[Any]) -> Callable[[Any], Any] | None:
    """ISO 8601 for timestamp and date columns (after a TypeDecorator's own processing), else None."""
    if not _is_timestamp(column):
        return None
    column_type = column.type
    process = column_type.bind_processor(conn.dialect) if isinstance(column_type, sa.TypeDecorator) else None
    if process is None:
        return _isoformat
    return lambda value: _isoformat(process(value))


def _is_timestamp(column: sa.Column[Any]) -> bool:
    """A DATE or TIMESTAMP column, directly or under a TypeDecorator such as `UtcDateTime`."""
    column_type = column.type
    impl = column_type.impl_instance if isinstance(column_type, sa.TypeDecorator) else column_type
    return isinstance(impl, (sa.DateTime, sa.Date))


def _isoformat(value: datetime | date) -> str:
    return value.isoformat()


_SqlitePlan = tuple[str, tuple[int, ...], tuple[Any, ...], tuple[bool, ...]]
_SQLITE_PLANS: dict[tuple[int, tuple[str, ...]], _SqlitePlan] = {}


def _sqlite_plan(conn: Connection, stmt: Any, table: sa.Table,
                 keys: tuple[str, ...]) -> _SqlitePlan:
    """(SQL, position in `keys` of each parameter, bind processors, which processors to memoize per
    batch: the timestamp ones) of a statement compiled for `keys`."""
    plan_key = (id(stmt), keys)
    plan = _SQLITE_PLANS.get(plan_key)
    if plan is None:
        compiled = stmt.compile(dialect=conn.dialect, column_keys=list(keys))
        names = tuple(compiled.positiontup or ())
        if sorted(names) != sorted(keys):  # a literal bound inside the statement: not for this fast path
            raise ValueError(f"cannot bulk-execute {table.name} statement with parameters {names}")
        # The dialect's own processors, as SQLAlchemy itself uses: on SQLite a datetime becomes the text
        # SQLAlchemy compares against ('2024-03-01 00:00:00.000000'), not the driver's shorter form.
        processors = tuple(table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
                           for name in names)
        memoize = tuple(proc is not None and _is_timestamp(table.c[name])
                        for proc, name in zip(processors, names, strict=True))
        plan = _SQLITE_PLANS[plan_key] = (str(compiled), tuple(keys.index(name) for name in names), processors,
                                          memoize)
    return plan


def chunked(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _label(what: object) -> str:
    """`what` names the value in error messages: a string, or a tuple joined lazily (hot path)."""
    return " ".join(str(part) for part in what) if isinstance(what, tuple) else str(what)


def as_int(value: Any, what: object) -> int | None:
    """An exact 64-bit integer from an API value (int, digit string, integral float), None stays None."""
    if value is None or (type(value) is int and INT64_MIN <= value <= INT64_MAX):
        return value
    if isinstance(value, bool):
        raise MalformedRecord(f"{_label(what)} is a boolean, not an integer: {value!r}")
    number: int | None = None
    if isinstance(value, int):
        number = int(value)
    elif isinstance(value, str):
        text = value.replace("\x00", "").strip()
        if text.lstrip("-").isdigit():
            number = int(text)
    elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        number = int(value)
    if number is None:
        raise MalformedRecord(f"{_label(what)} is not an integer: {value!r}")
    if not INT64_MIN <= number <= INT64_MAX:
        raise MalformedRecord(f"{_label(what)} {number} does not fit in 64 bits")
    return number


def as_text(value: Any, what: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return storable_text(str(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise MalformedRecord(f"{_label(what)} is not a string: {value!r}")


def as_bool(value: Any, what: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise MalformedRecord(f"{_label(what)} is not a boolean: {value!r}")


def as_utc(value: Any, what: object) -> datetime | None:
    """API timestamps are unix seconds (UTC), from 1970 to the year 9999."""
    seconds = as_int(value, what)
    if seconds is None:
        return None
    if seconds < 0:
        raise MalformedRecord(f"{_label(what)} {seconds} is not a plausible unix time")
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise MalformedRecord(f"{_label(what)} {seconds} is not a plausible unix time") from None


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
        insert_values(conn, table, (column,), [(name,) for name in missing], purpose="add-names",
                      conflict=lambda insert: insert.on_conflict_do_nothing(index_elements=[column]))
        found.update(_select_ids(conn, table, column, missing))
    return found


def _select_ids(conn: Connection, table: sa.Table, column: str, names: Sequence[str]) -> dict[str, int]:
    col = table.c[column]
    if conn.dialect.name == "sqlite":   # plain `IN (?, ?, ..)`: no expanding-parameter rewrite per page
        preparer = conn.dialect.identifier_preparer
        select = (f"SELECT {preparer.quote(col.name)}, {preparer.quote(table.c.id.name)} "
                  f"FROM {preparer.format_table(table)} WHERE {preparer.quote(col.name)} IN ")
        rows: dict[str, int] = {}
        for part in chunked(names):
            rows.update(conn.exec_driver_sql(select + "(" + ",".join("?" * len(part)) + ")", tuple(part)).all())
        return rows
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
    insert_values(conn, table, (left, right), unique, purpose="link",
                  conflict=lambda insert: insert.on_conflict_do_nothing())
    return len(unique)


def upsert_rows(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], *,
                keys: Sequence[str], update: Callable[[Any], Mapping[str, Any]]) -> None:
    """`INSERT .. ON CONFLICT (keys) DO UPDATE SET update(excluded)` of many rows (see `insert_values`).

    Every row must carry the same keys; rows should be sorted by key so that concurrent
    writers on PostgreSQL lock them in the same order and cannot deadlock. `update` must depend on the
    table and back end only (the statement is built once per update function and reused)."""
    # one cached statement per update function (its code location), so two callers upserting the same
    # table with different SET clauses never share a statement
    purpose = f"upsert:{getattr(update, '__module__', '')}.{getattr(update, '__qualname__', id(update))}"
    insert_rows(conn, table, rows, purpose=purpose, conflict=lambda insert: insert.on_conflict_do_update(
        index_elements=list(keys), set_=dict(update(insert.excluded))))


def keep_old_when_missing(table: sa.Table, excluded: Any, columns: Iterable[str]) -> dict[str, Any]:
    """SET col = COALESCE(excluded.col, table.col): the API omits keys it has no value for, and a
    spec asking for fewer fields must not erase what an earlier one stored."""
    return {name: sa.func.coalesce(excluded[name], table.c[name]) for name in columns}
