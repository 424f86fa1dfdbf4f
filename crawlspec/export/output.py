"""Where `export` and `report` write: `--out` checked before anything is read, then written whole or not at all.

A regular file is written as `NAME.PID.RANDOM.tmp` and renamed over `NAME` only once complete, so an
interrupted export keeps the previous file and two exports to one `NAME` at once never write into the same
temporary file (the last to finish wins, whole). A symlink is followed (its target is replaced, the link stays). A device
or file descriptor (`/dev/stdout`, `/dev/null`, `/proc/self/fd/1`) or a named pipe another program reads is
written in place, appended to: renaming over it would replace the device or pipe with a plain file, and a
shell's `>> log.csv` behind `/dev/stdout` must keep what it holds. `--out` naming the
database being read (or its `-wal`/`-shm`/`-journal` file) is refused: the export would overwrite the data.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from crawlspec.errors import SpecError
from crawlspec.storage.database import sqlite_file_of

STDOUT = "-"
_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def check_out_path(out: str, *, db_url: str | None = None, option: str = "--out") -> Path | None:
    """The file to write (None for stdout), after checking that it can be written and is not the database."""
    if out == STDOUT:
        return None
    given = Path(out).expanduser()
    if _is_stream(given):
        return given
    if given.is_dir():
        raise SpecError(f"{option} {out} is a directory; give a file name, e.g. {given / 'video.csv'}")
    target = given.resolve()   # a symlink: its target is what gets written
    database = sqlite_file_of(db_url) if db_url is not None else None
    if database is not None and _is_database_file(target, database):
        raise SpecError(f"{option} {out} is the database being read ({database}); writing there would destroy "
                        "it: choose another file name")
    parent = target.parent
    if not parent.is_dir():
        raise SpecError(f"cannot write {out}: directory {parent} does not exist (mkdir -p {parent})")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SpecError(f"cannot write {out}: permission denied on {parent}")
    return target


def _is_database_file(target: Path, database: Path) -> bool:
    """`target` is the database file or one of its companions, by name or (on a case-insensitive
    filesystem, or through a hard link) by identity."""
    for companion in (Path(f"{database}{suffix}") for suffix in _SQLITE_COMPANIONS):
        if target == companion:
            return True
        with contextlib.suppress(OSError):
            if target.exists() and companion.exists() and os.path.samefile(target, companion):
                return True
    return False


def _is_stream(path: Path) -> bool:
    """Written in place, appended to: a device or a process's file descriptor (`/dev/stdout`, `/dev/null`,
    `/proc/self/fd/1`: a shell's `>> file.csv` redirection is appended to, not replaced), or any other
    existing file that is not a regular file (a named pipe, a socket), links followed."""
    if str(path).startswith(("/dev/", "/proc/")):
        return True
    try:
        return not stat.S_ISREG(path.stat().st_mode) and not stat.S_ISDIR(path.stat().st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def atomic_output(path: Path | None) -> Iterator[IO[bytes]]:
    """A binary stream to `path`: via a temporary file of this process beside it, renamed into place only
    if the block succeeds; a device or pipe is written in place; None is stdout."""
    if path is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    if _is_stream(path):
        with open(path, "ab") as stream:
            yield stream
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
