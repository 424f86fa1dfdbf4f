"""Benchmark `crawlspec export`: rows/s and peak memory for N synthetic videos (default 1,000,000) in
csv, jsonl and parquet, on SQLite (and PostgreSQL with --pg-url).

    python scripts/bench_export.py [--rows 1000000] [--pg-url postgresql://USER@HOST:PORT/DB]
                                   [--formats csv,jsonl,parquet] [--batch-size 10000] [--workdir DIR]

The database is generated in a temporary directory (or --workdir) with a fast bulk load: plain sqlite3
executemany / PostgreSQL COPY into the migrated schema. Each video has a ~120-character description,
three hashtags (from 1,000), one crawl tag and a small extra_data object. Each export runs in a fresh
subprocess, which reports its wall time and its peak RSS (VmHWM on Linux); "import" is the same
subprocess's peak after importing the export modules (and pyarrow + pandas for parquet), before any row.
--pg-url names an existing database: the benchmark creates (and drops) a scratch database next to it.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

HASHTAGS = 1_000
WORDS = ["shoes", "sneakers", "run", "street", "style", "new", "drop", "fit", "vintage", "haul", "review",
         "unboxing", "summer", "city", "day", "night", "tutorial", "dance", "music", "trend", "friends"]

EXPORT_ONE = """
import json, resource, sys, time
url, fmt, out, batch_size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
import crawlspec.export.table, crawlspec.export.query, crawlspec.export.formats
if fmt == "parquet":
    import pandas, pyarrow, pyarrow.parquet  # pyarrow imports pandas on its first conversion anyway
def peak_kb():
    # VmHWM: this process's own peak (ru_maxrss starts from the parent's RSS at fork on Linux).
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
imported = peak_kb()
started = time.perf_counter()
result = crawlspec.export.table.export_table(url, "video", out, fmt=fmt, batch_size=batch_size)
seconds = time.perf_counter() - started
peak = peak_kb()
print(json.dumps({"rows": result.rows, "seconds": seconds, "import_kb": imported, "peak_kb": peak}))
"""


def video_rows(count: int, seed: int = 1) -> Iterator[tuple[int, int, str, str, str, int, str, list[int]]]:
    """(id, create_time unix s, username, region, description, like_count, extra_data json, hashtag ids)."""
    rng = random.Random(seed)
    for n in range(count):
        video_id = 7_300_000_000_000_000_000 + n * 104_729
        description = " ".join(rng.choice(WORDS) for _ in range(18))[:120] + " ✨"
        extra = json.dumps({"is_stem_verified": n % 3 == 0, "video_duration": 5 + n % 170})
        tags = sorted({rng.randrange(HASHTAGS) + 1 for _ in range(3)})
        yield (video_id, 1_709_251_200 + n % (31 * 86_400), f"user{n % 50_000}", "US" if n % 4 else "DE",
               description, n % 10_000, extra, tags)


def _sqlite_time(unix: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime(unix))


def load_sqlite(path: Path, count: int) -> None:
    from crawlspec.storage.database import open_database

    open_database(f"sqlite:///{path}").dispose()  # migrated schema
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.executemany("INSERT INTO hashtag (id, name) VALUES (?, ?)", [(i, f"tag{i}") for i in range(1, HASHTAGS + 1)])
    conn.execute("INSERT INTO crawl_tag (id, name) VALUES (1, 'bench')")
    chunk: list[tuple[int, int, str, str, str, int, str, list[int]]] = []
    for row in video_rows(count):
        chunk.append(row)
        if len(chunk) == 50_000:
            _sqlite_chunk(conn, chunk)
            chunk = []
    _sqlite_chunk(conn, chunk)
    conn.commit()
    conn.close()


def _sqlite_chunk(conn: sqlite3.Connection, chunk: list[tuple[int, int, str, str, str, int, str, list[int]]]) -> None:
    now = _sqlite_time(1_712_000_000)
    conn.executemany(
        "INSERT INTO video (id, create_time, username, region_code, video_description, music_id, like_count, "
        "comment_count, share_count, view_count, crawled_at, crawled_updated_at, extra_data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1, ?, ?, ?, ?)",
        [(vid, _sqlite_time(ts), user, region, text, vid + 1, likes, likes * 10, now, now, extra)
         for vid, ts, user, region, text, likes, extra, _ in chunk])
    conn.executemany("INSERT INTO videos_to_hashtags (video_id, hashtag_id) VALUES (?, ?)",
                     [(row[0], tag) for row in chunk for tag in row[7]])
    conn.executemany("INSERT INTO videos_to_crawl_tags (video_id, crawl_tag_id) VALUES (?, 1)",
                     [(row[0],) for row in chunk])


def load_postgres(url: str, count: int) -> None:
    import sqlalchemy as sa

    from crawlspec.storage.database import open_database

    engine = open_database(url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        _copy(cursor, "hashtag (id, name)", (f"{i},tag{i}\n" for i in range(1, HASHTAGS + 1)))
        _copy(cursor, "crawl_tag (id, name)", iter(["1,bench\n"]))
        videos, links, tagged = io.StringIO(), io.StringIO(), io.StringIO()
        for vid, ts, user, region, text, likes, extra, tags in video_rows(count):
            stamp = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(ts))
            extra_csv = extra.replace('"', '""')
            videos.write(f'{vid},{stamp},{user},{region},"{text}",{vid + 1},{likes},0,1,{likes * 10},'
                         f'2024-04-01 19:33:20+00,2024-04-01 19:33:20+00,"{extra_csv}"\n')
            links.writelines(f"{vid},{tag}\n" for tag in tags)
            tagged.write(f"{vid},1\n")
        for table, buffer in (("video (id, create_time, username, region_code, video_description, music_id, "
                               "like_count, comment_count, share_count, view_count, crawled_at, "
                               "crawled_updated_at, extra_data)", videos),
                              ("videos_to_hashtags (video_id, hashtag_id)", links),
                              ("videos_to_crawl_tags (video_id, crawl_tag_id)", tagged)):
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", buffer)
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def _copy(cursor: object, table: str, lines: Iterator[str]) -> None:
    cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", io.StringIO("".join(lines)))  # type: ignore[attr-defined]


def run_export(url: str, fmt: str, out: Path, batch_size: int) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", EXPORT_ONE, url, fmt, str(out), str(batch_size)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"export {fmt} failed:\n{proc.stderr}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["size_mb"] = out.stat().st_size / 2**20
    out.unlink()
    return figures


def scratch_pg_database(server_url: str) -> tuple[str, object]:
    import sqlalchemy as sa

    name = f"bench_export_{uuid.uuid4().hex[:8]}"
    if sa.engine.make_url(server_url).drivername == "postgresql":
        server_url = sa.engine.make_url(server_url).set(drivername="postgresql+psycopg2").render_as_string(
            hide_password=False)
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False), drop


def bench(label: str, url: str, formats: list[str], workdir: Path, batch_size: int) -> None:
    for fmt in formats:
        f = run_export(url, fmt, workdir / f"videos.{fmt}", batch_size)
        print(f"{label:<10} {fmt:<8} {f['rows']:>10,} rows {f['seconds']:>7.1f} s {f['rows'] / f['seconds']:>10,.0f} rows/s"
              f"   peak RSS {f['peak_kb'] / 1024:>6.0f} MB (import {f['import_kb'] / 1024:.0f} MB)"
              f"   file {f['size_mb']:>6.0f} MB", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", help="PostgreSQL server URL (an existing database on it)")
    parser.add_argument("--formats", default="csv,jsonl,parquet")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, help="keep the generated files here (default: a temp dir)")
    args = parser.parse_args()
    formats = [fmt.strip() for fmt in args.formats.split(",") if fmt.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"python {sys.version.split()[0]}, {args.rows:,} videos (3 hashtags + 1 crawl tag each), "
              f"batch size {args.batch_size:,}", flush=True)
        db = workdir / "bench.db"
        db.unlink(missing_ok=True)
        started = time.perf_counter()
        load_sqlite(db, args.rows)
        print(f"sqlite     generated in {time.perf_counter() - started:.1f} s "
              f"({db.stat().st_size / 2**20:.0f} MB)", flush=True)
        bench("sqlite", f"sqlite:///{db}", formats, workdir, args.batch_size)
        if args.pg_url:
            url, drop = scratch_pg_database(args.pg_url)
            try:
                started = time.perf_counter()
                load_postgres(url, args.rows)
                print(f"postgresql generated in {time.perf_counter() - started:.1f} s", flush=True)
                bench("postgresql", url, formats, workdir, args.batch_size)
            finally:
                drop()  # type: ignore[operator]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
