"""Stored rows -> files: the streaming query (`query`), the csv / JSON lines / Parquet writers (`formats`),
one table to a file (`table`), a table as a pandas DataFrame (`dataframes`) and the HTML report (`report`)."""

# rows fetched per round trip by `crawlspec export` (a server-side cursor on PostgreSQL)
DEFAULT_BATCH_SIZE = 10_000
