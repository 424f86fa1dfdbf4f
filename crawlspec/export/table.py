"""One stored table to a file: csv, JSON lines or Parquet (`crawlspec export`'s work; its command line
is `crawlspec.cli.export`).

Rows are streamed in batches (a server-side cursor on PostgreSQL), so memory stays flat whatever the
table size; the file is written to a temporary file beside `OUT` and renamed into place at the end, so a failure never leaves
a half-written file. `--out -` writes csv / jsonl to stdout. A one-line summary goes to stderr.
Never imports Hydra (or pandas): it starts fast.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from crawlspec.errors import DatabaseUnavailable, SpecError
from crawlspec.export import DEFAULT_BATCH_SIZE
from crawlspec.export.formats import make_writer, require_pyarrow
from crawlspec.export.output import STDOUT, atomic_output, check_out_path
from crawlspec.export.query import (
    ExportPlan,
    check_filters,
    check_table_name,
    load_lists,
    plan_export,
    refuse_unknown_filters,
)
from crawlspec.storage.database import display_url, open_existing_database, resolve_db_url

FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet")
_SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class ExportResult:
    table: str
    format: str
    rows: int
    out: str
    seconds: float

    def summary(self) -> str:
        where = "stdout" if self.out == STDOUT else self.out
        return (f"crawlspec export: {self.rows} {self.table} rows -> {where} ({self.format}) "
                f"in {self.seconds:.2f} s")


def resolve_format(fmt: str | None, out: str) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise SpecError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        chosen = fmt
    elif out == STDOUT:
        chosen = "csv"
    else:
        suffix = Path(out).suffix.lower()
        if suffix not in _SUFFIX_FORMATS:
            raise SpecError(f"cannot tell the format from --out {out!r}; add --format csv, jsonl or parquet")
        chosen = _SUFFIX_FORMATS[suffix]
    if chosen == "parquet" and out == STDOUT:
        raise SpecError("parquet cannot be written to stdout; give --out a file name")
    return chosen


def export_table(db_url: str, table: str, out: str, *, fmt: str | None = None, tag: str | None = None,
                 spec: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> ExportResult:
    """Export one table; raises CrawlspecError subclasses for everything a user can get wrong."""
    started = time.perf_counter()
    chosen = resolve_format(fmt, out)
    check_table_name(table)
    check_filters(table, tag=tag, spec=spec)
    if batch_size < 1:
        raise SpecError(f"--batch-size must be at least 1, not {batch_size}")
    if chosen == "parquet":
        require_pyarrow()
    path = check_out_path(out, db_url=db_url)
    rows = _stream_export(db_url, table, chosen, path, tag=tag, spec=spec, batch_size=batch_size)
    return ExportResult(table, chosen, rows, str(path) if path else STDOUT, time.perf_counter() - started)


def _stream_export(db_url: str, table: str, fmt: str, path: Path | None, *, tag: str | None,
                   spec: str | None, batch_size: int) -> int:
    url = resolve_db_url(db_url)
    engine = open_existing_database(url)
    try:
        with engine.connect() as conn:
            return _export_rows(conn, table, fmt, path, tag=tag, spec=spec, batch_size=batch_size)
    except OperationalError as err:
        first_line = str(getattr(err, "orig", err)).strip().splitlines()[0]
        raise DatabaseUnavailable(f"reading {display_url(url)} failed: {first_line}; nothing was written, "
                                  "run the export again") from None
    finally:
        engine.dispose()


def _export_rows(conn: Connection, table: str, fmt: str, path: Path | None, *, tag: str | None,
                 spec: str | None, batch_size: int) -> int:
    if conn.dialect.name == "postgresql":
        # One consistent snapshot for the rows and their list columns.
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    plan = plan_export(conn, table, tag=tag, spec=spec)
    refuse_unknown_filters(conn, tag=tag, spec=spec)
    total = 0
    with atomic_output(path) as stream:
        writer = make_writer(fmt, stream, plan.columns)
        result = conn.execution_options(yield_per=batch_size).execute(plan.statement)
        for batch in result.partitions():
            rows = [tuple(row) for row in batch]
            if plan.list_statements:
                rows = _with_lists(conn, plan, rows)
            writer.write_batch(rows)
            total += len(rows)
        writer.close()
    return total


def _with_lists(conn: Connection, plan: ExportPlan, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows with their list columns appended; rows come in id order, so the batch is one id range."""
    index = plan.owner_index
    lo, hi = rows[0][index], rows[-1][index]
    found = [load_lists(conn, statement, lo, hi) for statement in plan.list_statements]
    return [row + tuple(names.get(row[index], []) for names in found) for row in rows]
