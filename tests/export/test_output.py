"""`crawlspec.export.output.atomic_output`: a regular file is replaced whole, never half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawlspec.export.output import atomic_output


def test_two_writers_of_one_path_at_once_each_leave_it_whole(tmp_path: Path) -> None:
    """Two exports to one `--out` (two shell jobs): each writes a temporary file of its own, and the path
    holds the whole output of the one that finished last."""
    out = tmp_path / "videos.csv"
    with atomic_output(out) as first:
        first.write(b"first\n" * 1000)
        with atomic_output(out) as second:
            second.write(b"second\n")
        assert out.read_bytes() == b"second\n"
        first.write(b"end\n")
    assert out.read_bytes() == b"first\n" * 1000 + b"end\n"
    assert [p.name for p in tmp_path.iterdir()] == ["videos.csv"]


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    out = tmp_path / "videos.csv"
    out.write_bytes(b"previous\n")
    with pytest.raises(RuntimeError), atomic_output(out) as stream:
        stream.write(b"partial")
        raise RuntimeError("the export failed")
    assert out.read_bytes() == b"previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["videos.csv"]
