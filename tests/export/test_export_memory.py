"""Memory stays flat: exporting 200,000 fat video rows (about 130 MB of text, two hashtags each) needs
no more memory than exporting a tenth of them, in every format, on SQLite and on PostgreSQL (where
only a server-side cursor avoids fetching the whole result at once).

Measured in a fresh subprocess: RSS after a warm-up export of 20,000 of the rows (`--tag tenth`:
imports, engine, writer, allocator arenas, one parquet row group), then the peak RSS (VmHWM, reset after
the warm-up) of the full export; the growth must stay under a generous bound, far below what holding the rows would take
(measured once with --batch-size 200000, i.e. everything in one batch: 480 MB csv, 1.1 GB jsonl,
860 MB parquet; streamed in batches of 10,000: 5-25 MB csv/jsonl, about 30 MB parquet). Not timed."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import pg_database, pg_server_url
from support.export_data import fill_synthetic_videos

from crawlspec.storage.database import open_database

pytestmark = pytest.mark.slow  # every test here starts processes

ROWS = 200_000
DESCRIPTION_CHARS = 600
# Holding the other 180,000 rows at once would take several times their ~110 MB of text; streaming
# needs what the warm-up needed, plus at most one bigger parquet row group (16 MB of Arrow data).
GROWTH_BOUND_MB = 60

MEASURE = """
import json, os, resource, sys
url, fmt, out, batch_size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def status_kb(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(key + ":"))

# Linux: VmHWM is this process's own peak (ru_maxrss starts from the parent's RSS at fork), and
# writing 5 to clear_refs resets it. Elsewhere: ru_maxrss, which can only hide growth, never invent it.
linux = os.path.exists("/proc/self/clear_refs")
from crawlspec.export.table import export_table
warm = export_table(url, "video", out + ".warm", fmt=fmt, tag="tenth", batch_size=batch_size)
if linux:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before = status_kb("VmRSS")
else:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = export_table(url, "video", out, fmt=fmt, batch_size=batch_size)
after = status_kb("VmHWM") if linux else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"warm_rows": warm.rows, "rows": result.rows, "growth_mb": (after - before) / 1024,
                  "baseline_mb": before / 1024}))
"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def big_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database of ROWS synthetic videos per back end, shared by the formats."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('export-mem') / 'big.db'}"
        else:
            url = stack.enter_context(pg_database(pg_server_url(), prefix="t_export_mem"))
        engine = open_database(url)
        fill_synthetic_videos(engine, ROWS, description_chars=DESCRIPTION_CHARS)
        engine.dispose()
        yield url


def measure(url: str, fmt: str, out: Path, batch_size: int = 10_000) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", MEASURE, url, fmt, str(out), str(batch_size)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_memory_stays_flat(big_db: str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"videos.{fmt}"
    figures = measure(big_db, fmt, out)
    print(f"\n{fmt}: peak RSS growth {figures['growth_mb']:.1f} MB over {figures['baseline_mb']:.1f} MB")
    assert (figures["warm_rows"], figures["rows"]) == (ROWS // 10, ROWS)
    assert figures["growth_mb"] < GROWTH_BOUND_MB
    assert out.stat().st_size > ROWS * DESCRIPTION_CHARS * 0.5 or fmt == "parquet"
