"""`crawlspec export` as a user runs it: exit codes and messages for bad input (no traceback, no file
left behind), stdout/stderr discipline, atomic output, pyarrow missing, and no Hydra import."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support.export_data import VIDEO_IDS, populate

from crawlspec import exit_codes


def run_export(exe: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([exe, "export", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def _assert_clean_failure(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    for needle in needles:
        assert needle in proc.stderr


@pytest.fixture
def crawl_db(sqlite_url: str) -> str:
    populate(sqlite_url).dispose()
    return sqlite_url


@pytest.mark.slow
def test_file_export_keeps_stdout_clean_and_summarises_on_stderr(crawlspec_exe: str, crawl_db: str,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "videos.jsonl"
    proc = run_export(crawlspec_exe, "--db", crawl_db, "--table", "video", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "4 video rows" in lines[0] and str(out) in lines[0] and " s" in lines[0]
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == VIDEO_IDS
    assert not list(out.parent.glob(out.name + ".*tmp"))


@pytest.mark.slow
def test_stdout_export_is_only_the_data(crawlspec_exe: str, crawl_db: str) -> None:
    proc = run_export(crawlspec_exe, "--db", crawl_db, "--table", "video", "--out", "-")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [int(row["id"]) for row in rows] == VIDEO_IDS
    assert "stdout" in proc.stderr and len(proc.stderr.splitlines()) == 1


@pytest.mark.slow
def test_relative_sqlite_path_resolves_against_cwd(crawlspec_exe: str, tmp_path: Path) -> None:
    populate(f"sqlite:///{tmp_path / 'here.db'}").dispose()
    proc = run_export(crawlspec_exe, "--db", "sqlite:///here.db", "--out", "v.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "v.csv", newline="", encoding="utf-8") as fh:
        assert [int(row["id"]) for row in csv.DictReader(fh)] == VIDEO_IDS


@pytest.mark.slow
@pytest.mark.parametrize(("args", "needles"), [
    (["--table", "videos"], ["unknown table 'videos'", "video", "comment", "user_info", "crawl_tag"]),
    (["--format", "xlsx"], ["unknown format 'xlsx'", "csv, jsonl, parquet"]),
    (["--tag", "x", "--table", "hashtag"], ["--tag and --spec apply to"]),
    (["--format", "parquet", "--out", "-"], ["parquet cannot be written to stdout"]),
    (["--batch-size", "0"], ["--batch-size must be at least 1"]),
])
def test_bad_arguments_exit_2(crawlspec_exe: str, crawl_db: str, tmp_path: Path, args: list[str],
                              needles: list[str]) -> None:
    out_args = [] if "--out" in args else ["--out", str(tmp_path / "out.csv")]
    proc = run_export(crawlspec_exe, "--db", crawl_db, *out_args, *args)
    _assert_clean_failure(proc, exit_codes.INVALID_INPUT, *needles)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.slow
def test_output_directory_missing_exits_2(crawlspec_exe: str, crawl_db: str, tmp_path: Path) -> None:
    proc = run_export(crawlspec_exe, "--db", crawl_db, "--out", str(tmp_path / "nope" / "v.csv"))
    _assert_clean_failure(proc, exit_codes.INVALID_INPUT, "does not exist")


@pytest.mark.slow
@pytest.mark.parametrize("companion", ["", "-wal"])
def test_out_naming_the_database_is_refused_and_the_database_kept(crawlspec_exe: str, crawl_db: str,
                                                                  tmp_path: Path, companion: str) -> None:
    database = Path(crawl_db.removeprefix("sqlite:///"))
    before = database.read_bytes()
    link = tmp_path / "link.csv"
    link.symlink_to(database)
    hard = tmp_path / "hard.csv"   # the same file under another name (as on a case-insensitive filesystem)
    hard.hardlink_to(database)
    for out in (f"{database}{companion}", str(link), str(hard)) if not companion else (f"{database}{companion}",):
        proc = run_export(crawlspec_exe, "--db", crawl_db, "--format", "csv", "--out", out)
        _assert_clean_failure(proc, exit_codes.INVALID_INPUT, "is the database being read")
    assert database.read_bytes() == before and link.is_symlink()


@pytest.mark.slow
def test_a_symlink_is_followed_and_a_named_pipe_written_in_place(crawlspec_exe: str, crawl_db: str,
                                                                 tmp_path: Path) -> None:
    import os
    import threading

    target = tmp_path / "target.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert run_export(crawlspec_exe, "--db", crawl_db, "--out", str(link)).returncode == 0
    assert link.is_symlink() and target.read_text().startswith("id,")
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    proc = run_export(crawlspec_exe, "--db", crawl_db, "--format", "csv", "--out", str(pipe))
    reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(received[0].decode("utf-8"))))
    assert rows[0][0] == "id" and sorted(int(row[0]) for row in rows[1:]) == sorted(VIDEO_IDS)
    assert pipe.exists() and not pipe.is_file()   # still a pipe, not replaced by a file


@pytest.mark.slow
def test_dev_stdout_is_written_in_place_and_a_redirection_appended_to(crawlspec_exe: str, crawl_db: str,
                                                                      tmp_path: Path) -> None:
    piped = run_export(crawlspec_exe, "--db", crawl_db, "--format", "csv", "--out", "/dev/stdout")
    assert piped.returncode == 0, piped.stderr
    assert sorted(int(row[0]) for row in list(csv.reader(io.StringIO(piped.stdout)))[1:]) == sorted(VIDEO_IDS)
    log = tmp_path / "log.csv"
    log.write_text("kept line\n")
    with open(log, "a") as appended:   # the shell's `>> log.csv`
        proc = subprocess.run([crawlspec_exe, "export", "--db", crawl_db, "--format", "csv", "--out", "/dev/stdout"],
                              stdout=appended, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = log.read_text().splitlines()
    assert lines[0] == "kept line" and lines[1].startswith("id,")


@pytest.mark.slow
def test_missing_database_file_is_not_created(crawlspec_exe: str, tmp_path: Path) -> None:
    db = tmp_path / "missing.db"
    proc = run_export(crawlspec_exe, "--db", f"sqlite:///{db}", "--out", str(tmp_path / "v.csv"))
    _assert_clean_failure(proc, exit_codes.INVALID_INPUT, "no database at", str(db))
    assert not db.exists()
    assert not (tmp_path / "v.csv").exists()


@pytest.mark.slow
def test_foreign_sqlite_database_exits_2(crawlspec_exe: str, tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    proc = run_export(crawlspec_exe, "--db", f"sqlite:///{db}", "--out", str(tmp_path / "v.csv"))
    _assert_clean_failure(proc, exit_codes.INVALID_INPUT, "not a crawlspec database")


@pytest.mark.slow
def test_file_that_is_not_sqlite_exits_2(crawlspec_exe: str, tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_text("this is not a database\n" * 100)
    proc = run_export(crawlspec_exe, "--db", f"sqlite:///{db}", "--out", str(tmp_path / "v.csv"))
    _assert_clean_failure(proc, exit_codes.INVALID_INPUT, str(db))


@pytest.mark.slow
def test_postgresql_down_exits_75(crawlspec_exe: str, tmp_path: Path) -> None:
    # Port 1 on localhost: connection refused at once.
    proc = run_export(crawlspec_exe, "--db", "postgresql://nobody@127.0.0.1:1/none", "--out",
                      str(tmp_path / "v.csv"))
    _assert_clean_failure(proc, exit_codes.RESUMABLE, "cannot connect")
    assert not (tmp_path / "v.csv").exists()


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.slow
def test_parquet_without_pyarrow_names_the_extra(crawl_db: str, tmp_path: Path) -> None:
    code = ("import sys; sys.modules['pyarrow'] = None\n"
            "from crawlspec.cli.entry import main\n"
            f"raise SystemExit(main(['export', '--db', {crawl_db!r}, '--format', 'parquet', '--out', 'v.parquet']))")
    proc = _python(code, tmp_path)
    _assert_clean_failure(proc, exit_codes.INVALID_INPUT, "pip install 'crawlspec[parquet]'")
    assert list(tmp_path.glob("v.parquet*")) == []


@pytest.mark.slow
def test_csv_export_works_without_pyarrow(crawl_db: str, tmp_path: Path) -> None:
    code = ("import sys; sys.modules['pyarrow'] = None\n"
            "from crawlspec.cli.entry import main\n"
            f"raise SystemExit(main(['export', '--db', {crawl_db!r}, '--out', 'v.csv']))")
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "v.csv", newline="", encoding="utf-8") as fh:
        assert sorted(int(row["id"]) for row in csv.DictReader(fh)) == VIDEO_IDS


@pytest.mark.slow
@pytest.mark.parametrize(("formats", "heavy"), [
    (("csv", "jsonl"), ("hydra", "omegaconf", "pandas", "pyarrow")),
    # pyarrow itself imports pandas (when installed) to convert Python lists; Hydra never.
    (("parquet",), ("hydra", "omegaconf")),
])
def test_export_never_imports_hydra(crawl_db: str, tmp_path: Path, formats: tuple[str, ...],
                                    heavy: tuple[str, ...]) -> None:
    code = ("import sys\n"
            "from crawlspec.cli.entry import main\n"
            "try:\n    main(['export', '--help'])\nexcept SystemExit:\n    pass\n"
            f"for fmt in {formats!r}:\n"
            f"    assert main(['export', '--db', {crawl_db!r}, '--out', 'v.' + fmt]) == 0\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))")
    proc = _python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_failure_mid_export_leaves_no_file(crawl_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crawlspec.export import formats as export_formats
    from crawlspec.export.table import export_table

    out = tmp_path / "v.csv"
    out.write_text("previous export\n")
    calls = []
    original = export_formats.CsvWriter.write_batch

    def failing_write(self: export_formats.CsvWriter, rows: list[tuple[object, ...]]) -> None:
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        original(self, rows)

    monkeypatch.setattr(export_formats.CsvWriter, "write_batch", failing_write)
    with pytest.raises(RuntimeError, match="disk on fire"):
        export_table(crawl_db, "video", str(out), batch_size=1)
    assert out.read_text() == "previous export\n"
    assert calls == [1, 1]
    assert not list(out.parent.glob(out.name + ".*tmp"))


def test_interrupt_exits_75_and_leaves_no_file(crawl_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from crawlspec.cli import export
    from crawlspec.export import formats as export_formats

    def interrupted(self: export_formats.JsonlWriter, rows: list[tuple[object, ...]]) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(export_formats.JsonlWriter, "write_batch", interrupted)
    out = tmp_path / "v.jsonl"
    assert export.main(["--db", crawl_db, "--out", str(out)]) == exit_codes.RESUMABLE
    assert "interrupted" in capsys.readouterr().err
    assert not out.exists() and not list(out.parent.glob(out.name + ".*tmp"))
