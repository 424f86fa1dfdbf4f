"""Where `export` and `report` write: `--out` checked before anything is read, then written whole or not at all.

A regular file is written as `NAME.tmp` and renamed over `NAME` only once complete, so an interrupted
export keeps the previous file. A symlink is followed (its target is replaced, the link stays). A file
that is not a regular file (`/dev/stdout`, `/dev/null`, a named pipe another program reads) is written
in place: renaming over it would replace the device or pipe with a plain file. `--out` naming the
database being read (or its `-wal`/`-shm`/`-journal` file) is refused: the export would overwrite the data.
"""

from __future__ import annotations

import contextlib
import os
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
    if given.is_dir():
        raise SpecError(f"{option} {out} is a directory; give a file name, e.g. {given / 'video.csv'}")
    target = given.resolve()   # a symlink: its target is what gets written
    database = sqlite_file_of(db_url) if db_url is not None else None
    if database is not None and target in {Path(f"{database}{suffix}") for suffix in _SQLITE_COMPANIONS}:
        raise SpecError(f"{option} {out} is the database being read ({database}); writing there would destroy "
                        "it: choose another file name")
    if _is_special(target):
        return target
    parent = target.parent
    if not parent.is_dir():
        raise SpecError(f"cannot write {out}: directory {parent} does not exist (mkdir -p {parent})")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SpecError(f"cannot write {out}: permission denied on {parent}")
    return target


def _is_special(path: Path) -> bool:
    """An existing file that is not a regular file (a device, a named pipe, a socket)."""
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def atomic_output(path: Path | None) -> Iterator[IO[bytes]]:
    """A binary stream to `path`: via `path.tmp` renamed into place only if the block succeeds; a
    device or pipe is written in place; None is stdout."""
    if path is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    if _is_special(path):
        with open(path, "wb") as stream:
            yield stream
        return
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
