"""Row writers of `crawlspec export`: csv, JSON lines and Parquet.

Every writer takes batches of rows (tuples in `ExportColumn` order; JSON columns as their JSON text, list
columns as lists of str) and keeps integers exact: csv and jsonl print Python ints, parquet declares
int64 columns explicitly (a nullable int never passes through float). Timestamps are ISO-8601 UTC
strings (`2024-03-01T12:00:00Z`) in csv/jsonl and timestamp[us, UTC] in parquet.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from typing import IO, Any, Protocol

from crawlspec.errors import SpecError
from crawlspec.export.query import BOOL, DATE, INT, JSON, LIST, TEXT, TIMESTAMP, ExportColumn

FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet")
PARQUET_INSTALL_HINT = "pip install 'crawlspec[parquet]'"
# Batches are buffered as Arrow data into row groups of up to this many rows or bytes (whichever comes
# first): big enough for readers, small enough to keep the writer's memory flat and bounded.
PARQUET_ROW_GROUP_ROWS = 128_000
PARQUET_ROW_GROUP_BYTES = 16 * 2**20
CSV_LIST_SEPARATOR = ";"

Row = Sequence[Any]
Converter = Callable[[Any], Any]


class RowWriter(Protocol):
    def write_batch(self, rows: Sequence[Row]) -> None: ...

    def close(self) -> None:
        """Flush everything; the underlying binary stream stays open."""


def iso_utc(value: datetime) -> str:
    """`2024-03-01T12:00:00Z` (with `.ffffff` when there are microseconds); naive values are UTC."""
    text = value.isoformat()
    if text.endswith("+00:00"):
        return text[:-6] + "Z"
    if value.tzinfo is None:
        return text + "Z"
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"


def json_text(value: str) -> str | None:
    """Stored JSON text, with JSON `null` (what SQLAlchemy stores for None) as a missing value."""
    return None if value == "null" else value


def _strip_nul(value: str) -> str:
    return value.replace("\x00", "") if "\x00" in value else value


def _date_text(value: date) -> str:
    return value.isoformat()


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _csv_list(value: list[str]) -> str:
    return CSV_LIST_SEPARATOR.join(value)


def _json_object(value: str) -> Any:
    return json.loads(value)


_CSV_CONVERTERS: dict[str, Converter] = {
    TEXT: _strip_nul, BOOL: _bool_text, TIMESTAMP: iso_utc, DATE: _date_text, JSON: json_text, LIST: _csv_list,
}
_JSONL_CONVERTERS: dict[str, Converter] = {
    TIMESTAMP: iso_utc, DATE: _date_text, JSON: _json_object,
}


def _converters(columns: Sequence[ExportColumn], table: dict[str, Converter]) -> list[tuple[int, Converter]]:
    return [(index, table[col.kind]) for index, col in enumerate(columns) if col.kind in table]


def _convert(row: Row, converters: list[tuple[int, Converter]]) -> list[Any]:
    values = list(row)
    for index, convert in converters:
        value = values[index]
        if value is not None:
            values[index] = convert(value)
    return values


def _text_stream(binary: IO[bytes]) -> io.TextIOWrapper:
    return io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=False)


class CsvWriter:
    """RFC 4180 csv, header first; NULL is an empty field, lists are `;`-joined, JSON is its text."""

    def __init__(self, binary: IO[bytes], columns: Sequence[ExportColumn]):
        self._stream = _text_stream(binary)
        self._csv = csv.writer(self._stream, lineterminator="\n")
        self._converters = _converters(columns, _CSV_CONVERTERS)
        self._csv.writerow([col.name for col in columns])

    def write_batch(self, rows: Sequence[Row]) -> None:
        converters = self._converters
        self._csv.writerows(_convert(row, converters) for row in rows)

    def close(self) -> None:
        self._stream.flush()
        self._stream.detach()


class JsonlWriter:
    """One JSON object per line (UTF-8); NULL is null, lists are arrays, JSON columns are objects."""

    def __init__(self, binary: IO[bytes], columns: Sequence[ExportColumn]):
        self._stream = _text_stream(binary)
        self._names = [col.name for col in columns]
        self._converters = _converters(columns, _JSONL_CONVERTERS)
        self._json_columns = [index for index, col in enumerate(columns) if col.kind == JSON]
        self._encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

    def write_batch(self, rows: Sequence[Row]) -> None:
        names, encode, converters = self._names, self._encoder.encode, self._converters
        lines = []
        for row in rows:
            values = list(row)
            for index in self._json_columns:
                if values[index] == "null":
                    values[index] = None
            values = _convert(values, converters)
            lines.append(encode(dict(zip(names, values, strict=True))))
        if lines:
            self._stream.write("\n".join(lines))
            self._stream.write("\n")

    def close(self) -> None:
        self._stream.flush()
        self._stream.detach()


def require_pyarrow() -> None:
    """Raise a SpecError naming the install command when pyarrow is missing."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise SpecError(f"--format parquet needs pyarrow, which is not installed: {PARQUET_INSTALL_HINT} "
                        "(or choose --format csv / jsonl)") from None


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    return {
        INT: pa.int64(), BOOL: pa.bool_(), TEXT: pa.string(), TIMESTAMP: pa.timestamp("us", tz="UTC"),
        DATE: pa.date32(), JSON: pa.string(), LIST: pa.list_(pa.string()),
    }[kind]


def parquet_schema(columns: Sequence[ExportColumn]) -> Any:
    """Explicit Arrow schema; JSON columns are strings marked `crawlspec.kind: json` in field metadata."""
    import pyarrow as pa

    fields = [pa.field(col.name, _arrow_type(col.kind), nullable=True,
                       metadata={"crawlspec.kind": col.kind} if col.kind == JSON else None)
              for col in columns]
    return pa.schema(fields)


class ParquetWriter:
    """Parquet (zstd) with the explicit schema of `parquet_schema`, written in row groups."""

    def __init__(self, binary: IO[bytes], columns: Sequence[ExportColumn]):
        import pyarrow.parquet as pq

        self._schema = parquet_schema(columns)
        self._json_columns = [index for index, col in enumerate(columns) if col.kind == JSON]
        self._writer = pq.ParquetWriter(binary, self._schema, compression="zstd")
        self._pending: list[Any] = []
        self._pending_rows = 0
        self._pending_bytes = 0

    def write_batch(self, rows: Sequence[Row]) -> None:
        if not rows:
            return
        batch = self._record_batch(rows)
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self._pending_bytes += batch.nbytes
        if self._pending_rows >= PARQUET_ROW_GROUP_ROWS or self._pending_bytes >= PARQUET_ROW_GROUP_BYTES:
            self._flush()

    def _record_batch(self, rows: Sequence[Row]) -> Any:
        import pyarrow as pa

        values = [list(column) for column in zip(*rows, strict=True)]
        for index in self._json_columns:
            values[index] = [None if value == "null" else value for value in values[index]]
        arrays = [pa.array(column, type=field.type) for column, field in zip(values, self._schema, strict=True)]
        return pa.RecordBatch.from_arrays(arrays, schema=self._schema)

    def _flush(self) -> None:
        import pyarrow as pa

        if self._pending:
            table = pa.Table.from_batches(self._pending, schema=self._schema)
            self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


def make_writer(fmt: str, binary: IO[bytes], columns: Sequence[ExportColumn]) -> RowWriter:
    if fmt == "csv":
        return CsvWriter(binary, columns)
    if fmt == "jsonl":
        return JsonlWriter(binary, columns)
    if fmt == "parquet":
        require_pyarrow()
        return ParquetWriter(binary, columns)
    raise SpecError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
