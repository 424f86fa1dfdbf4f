"""The older tool's own query tests, run against `crawlspec.spec.query`.

The published sdist of `tiktok-research-api-helper` 0.1.3 is downloaded with pip at test time (its
test file is not part of this repository), its `tests/test_query.py` is run with only the import renamed
to `crawlspec.spec.query`, and every one of its tests must pass. Without access to the package index the test
is skipped on a laptop and fails in CI.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

OLDER_PACKAGE = "tiktok-research-api-helper==0.1.3"
SDIST_NAME = "tiktok_research_api_helper-0.1.3.tar.gz"
SDIST_SHA256 = "a9d6beb00246261e9a0a0bf95ddb156859f27fbeefb9ea41f7779e8420dff90b"
MEMBER = "tiktok_research_api_helper-0.1.3/tests/test_query.py"
OLD_IMPORT = "from tiktok_research_api_helper.query import"
NEW_IMPORT = "from crawlspec.spec.query import"
EXPECTED_TESTS = 63


def _download_sdist(dest: Path) -> Path:
    """The sdist from the package index; skips (laptop) or fails (CI) when pip cannot get it."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
               OLDER_PACKAGE, "-d", str(dest)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    sdist = dest / SDIST_NAME
    if done.returncode != 0 or not sdist.exists():
        reason = f"pip could not download {OLDER_PACKAGE}: {done.stderr.strip()[-500:]}"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set: {reason}")
        pytest.skip(reason)
    return sdist


def _renamed_test_file(sdist: Path, dest: Path) -> Path:
    with tarfile.open(sdist) as archive:
        extracted = archive.extractfile(MEMBER)
        assert extracted is not None, f"{MEMBER} missing from {sdist.name}"
        source = extracted.read().decode("utf-8")
    assert source.count(OLD_IMPORT) == 1, "the older test file's import line changed"
    renamed = source.replace(OLD_IMPORT, NEW_IMPORT)
    assert "tiktok_research_api_helper" not in renamed, "the older test file imports more than its query module"
    target = dest / "test_older_query.py"
    target.write_text(renamed, encoding="utf-8")
    return target


@pytest.mark.slow
def test_the_older_tools_query_suite_passes_with_the_import_renamed(tmp_path: Path) -> None:
    sdist = _download_sdist(tmp_path / "sdist")
    assert hashlib.sha256(sdist.read_bytes()).hexdigest() == SDIST_SHA256, "not the published 0.1.3 sdist"
    suite_dir = tmp_path / "suite"
    suite_dir.mkdir()
    test_file = _renamed_test_file(sdist, suite_dir)
    (suite_dir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # keeps our pyproject's options out
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider", "-c",
         str(suite_dir / "pytest.ini"), "--rootdir", str(suite_dir)],
        capture_output=True, text=True, timeout=300, cwd=suite_dir,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{EXPECTED_TESTS} passed" in summary, summary
