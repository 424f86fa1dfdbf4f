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
from crawlspec.export.query import BOOL, DATE, JSON, LIST, TEXT, TIMESTAMP, ExportColumn

FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet")
PARQUET_INSTALL_HINT = "pip install 'crawlspec[parquet]'"
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
        import pyarrow  # noqa: F401  # lazy: pyarrow is an optional extra, slow to import
        import pyarrow.parquet  # noqa: F401  # lazy: pyarrow is an optional extra, slow to import
    except ImportError:
        raise SpecError(f"--format parquet needs pyarrow, which is not installed: {PARQUET_INSTALL_HINT} "
                        "(or choose --format csv / jsonl)") from None


def make_writer(fmt: str, binary: IO[bytes], columns: Sequence[ExportColumn]) -> RowWriter:
    if fmt == "csv":
        return CsvWriter(binary, columns)
    if fmt == "jsonl":
        return JsonlWriter(binary, columns)
    if fmt == "parquet":
        require_pyarrow()
        # lazy: pyarrow is an optional extra, slow to import
        from crawlspec.export.parquet import ParquetWriter

        return ParquetWriter(binary, columns)
    raise SpecError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
