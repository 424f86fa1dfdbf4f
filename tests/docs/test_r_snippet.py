"""The documentation's R snippet (docs/pandas-r.md) (DBI + RSQLite + bit64), run for real with Rscript on a demo database: its ids
and playlist ids must equal `crawlspec.load`'s digit for digit. Skipped on a laptop without R; in CI
(where .ci/run installs R from Debian packages) a missing Rscript is a failure."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from support.frames_data import store
from support.paths import REPO_ROOT

import crawlspec

README = REPO_ROOT / "docs" / "pandas-r.md"
SECTION = "## Reading the database from R"


def readme_r_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    match = re.search(r"```r\n(.*?)```", section, re.S)
    assert match, f"no ```r block under {SECTION!r} in docs/pandas-r.md"
    return match.group(1)


def rscript() -> str:
    found = shutil.which("Rscript")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI is set but Rscript is missing: .ci/run installs r-base-core r-cran-rsqlite r-cran-bit64")
    pytest.skip("Rscript not installed (apt-get install r-base-core r-cran-rsqlite r-cran-bit64)")


CHECKS = """
stopifnot(inherits(videos$id, "integer64"), inherits(videos$playlist_id, "integer64"))
stopifnot(inherits(videos$create_time, "POSIXct"), nrow(hashtags) > 0)
writeLines(c(as.character(videos$id), "--", as.character(videos$playlist_id), "--",
             format(videos$create_time, "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")), "r-ids.txt")
"""


@pytest.mark.slow
def test_readme_r_snippet_reads_the_same_exact_ids_as_python(tmp_path: Path) -> None:
    executable = rscript()
    db_path = tmp_path / "crawlspec.db"
    store(f"sqlite:///{db_path}")
    script = tmp_path / "snippet.R"
    script.write_text(readme_r_snippet() + CHECKS, encoding="utf-8")
    done = subprocess.run([executable, "--vanilla", str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    r_ids, r_playlists, r_times = (part.split() for part in
                                   (tmp_path / "r-ids.txt").read_text().split("--"))

    frame = crawlspec.load(f"sqlite:///{db_path}").sort_values("id")
    by_r = sorted(zip(r_ids, r_playlists, r_times, strict=True), key=lambda row: int(row[0]))
    assert [int(row[0]) for row in by_r] == [int(v) for v in frame["id"]]
    assert [None if row[1] == "NA" else int(row[1]) for row in by_r] == \
        [None if pd.isna(v) else int(v) for v in frame["playlist_id"]]
    assert [row[2] for row in by_r] == [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in frame["create_time"]]
    assert max(int(v) for v in r_ids) == 2**63 - 1
