"""The Parquet writer of `crawlspec export` (imported only when Parquet is asked for: pyarrow is optional).

Every column has an explicit Arrow type: int64 for integers (a nullable int never passes through float),
timestamp[us, UTC], date32, strings; JSON columns are strings marked `crawlspec.kind: json` in the
field metadata, list columns lists of strings. Rows are buffered into row groups, written with zstd.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from crawlspec.export.query import BOOL, DATE, INT, JSON, LIST, TEXT, TIMESTAMP, ExportColumn

# Batches are buffered as Arrow data into row groups of up to this many rows or bytes (whichever comes
# first): big enough for readers, small enough to keep the writer's memory flat and bounded.
PARQUET_ROW_GROUP_ROWS = 128_000
PARQUET_ROW_GROUP_BYTES = 16 * 2**20
Row = Sequence[Any]


def _arrow_type(kind: str) -> Any:
    return {
        INT: pa.int64(), BOOL: pa.bool_(), TEXT: pa.string(), TIMESTAMP: pa.timestamp("us", tz="UTC"),
        DATE: pa.date32(), JSON: pa.string(), LIST: pa.list_(pa.string()),
    }[kind]


def parquet_schema(columns: Sequence[ExportColumn]) -> Any:
    """Explicit Arrow schema; JSON columns are strings marked `crawlspec.kind: json` in field metadata."""
    fields = [pa.field(col.name, _arrow_type(col.kind), nullable=True,
                       metadata={"crawlspec.kind": col.kind} if col.kind == JSON else None)
              for col in columns]
    return pa.schema(fields)


class ParquetWriter:
    """Parquet (zstd) with the explicit schema of `parquet_schema`, written in row groups."""

    def __init__(self, binary: IO[bytes], columns: Sequence[ExportColumn]):
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
        values = [list(column) for column in zip(*rows, strict=True)]
        for index in self._json_columns:
            values[index] = [None if value == "null" else value for value in values[index]]
        arrays = [pa.array(column, type=field.type) for column, field in zip(values, self._schema, strict=True)]
        return pa.RecordBatch.from_arrays(arrays, schema=self._schema)

    def _flush(self) -> None:
        if self._pending:
            table = pa.Table.from_batches(self._pending, schema=self._schema)
            self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0

    def close(self) -> None:
        self._flush()
        self._writer.close()
