"""Engine set-up: URL checks with actionable errors, SQLite pragmas, and Alembic `upgrade head` from the
migrations packaged as `crawlspec.migrations`.

SQLite is left in the driver's default transaction mode on purpose: `BEGIN` is issued right before the
first write of a transaction, so a write transaction takes SQLite's write lock with its first statement
and waits for it (busy timeout) instead of failing with `SQLITE_BUSY_SNAPSHOT`, and long reads (an
export streaming a table) never hold the write lock that a running crawl needs.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
import stat
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import NullPool

from crawlspec.errors import DatabaseLocationError, DatabaseUnavailable
from crawlspec.storage.connect_errors import (
    AUTHENTICATION,
    MALFORMED,
    MISSING_DATABASE,
    classify_connect_error,
)

if TYPE_CHECKING:
    from importlib.abc import Traversable

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_LOCKED_RETRY_S = 0.05   # pause between attempts to switch a new file to WAL while it is locked
# WAL pages (4 KiB each) before SQLite copies the WAL back into the database file. A crawl page rewrites
# the same index pages commit after commit; SQLite's default (1,000 pages) copies them back, with two
# fsyncs, every few pages of a crawl, which made a third of a SQLite crawl's wall time. At 10,000
# (40 MiB) each page is copied back far less often. After a copy the WAL file is cut to at most
# SQLITE_WAL_KEEP_BYTES (a long reader can make it grow past the threshold); the last connection to
# close removes it.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
SQLITE_WAL_KEEP_BYTES = 64 * 1024 * 1024
PG_CONNECT_TIMEOUT_S = 15
# Any constant: serialises concurrent `upgrade head` runs on one PostgreSQL database.
_PG_MIGRATION_LOCK_KEY = 0x63726177
# `revision = "0007"` / `down_revision: str | None = "0006"` (or None) at the start of a line of a migration.
_REVISION_LINE = re.compile(r"""^revision(?:\s*:[^=\n]+)?\s*=\s*["']([^"'\n]+)["']\s*$""", re.MULTILINE)
_DOWN_REVISION_LINE = re.compile(
    r"""^down_revision(?:\s*:[^=\n]+)?\s*=\s*(?:None|["']([^"'\n]+)["'])\s*$""", re.MULTILINE)


def _mask_credentials(url: str) -> str:
    """A URL that did not parse, with anything between `://` and the last `@` masked."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


def _parse_url(url: str) -> URL:
    try:
        return sa.engine.make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseLocationError(
            f"database URL {_mask_credentials(url)!r} is malformed; use e.g. db.url=sqlite:///crawlspec.db or "
            "db.url=postgresql://USER@HOST:5432/DBNAME"
        ) from None


def _is_memory_sqlite(parsed: URL) -> bool:
    return parsed.database in (None, "", ":memory:") or str(parsed.database).startswith("file::memory:")


def resolve_db_url(url: str, base_dir: Path | None = None) -> str:
    """A relative SQLite path becomes absolute against `base_dir` (default: the current directory).

    Other URLs are returned unchanged (passwords included: this is not for display)."""
    parsed = _parse_url(url)
    if parsed.get_backend_name() != "sqlite" or _is_memory_sqlite(parsed):
        return url
    path = Path(os.path.expanduser(str(parsed.database)))
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return parsed.set(database=str(path.resolve())).render_as_string(hide_password=False)


def sqlite_file_of(url: str, base_dir: Path | None = None) -> Path | None:
    """The file of a SQLite URL (absolute, symlinks resolved); None for another back end, an in-memory
    database or a URL that does not parse."""
    try:
        parsed = _parse_url(resolve_db_url(url, base_dir))
    except DatabaseLocationError:
        return None
    if parsed.get_backend_name() != "sqlite" or _is_memory_sqlite(parsed):
        return None
    return Path(str(parsed.database)).resolve()


def display_url(url: str | URL) -> str:
    """The URL as it may appear in messages and logs: password masked."""
    parsed = url if isinstance(url, URL) else _parse_url(url)
    return parsed.render_as_string(hide_password=True)


def _check_sqlite_location(parsed: URL) -> None:
    if _is_memory_sqlite(parsed):
        return
    path = Path(str(parsed.database))
    parent = path.parent
    if path.is_dir():
        raise DatabaseLocationError(
            f"the SQLite database path {path} is a directory; point db.url at a file, "
            f"e.g. db.url=sqlite:///{path / 'crawlspec.db'}"
        )
    if not parent.is_dir():
        raise DatabaseLocationError(
            f"cannot create the SQLite database {path}: directory {parent} does not exist; "
            f"create it (mkdir -p {parent}) or choose another db.url"
        )
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
        raise DatabaseLocationError(
            f"cannot write the SQLite database {path}: permission denied on "
            f"{path if path.exists() else parent}; fix the permissions or choose another db.url"
        )


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        # NORMAL under WAL: a killed process loses no committed page; only a power cut may lose the
        # last commits, and then rows and their checkpoint are lost together.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA journal_size_limit = {SQLITE_WAL_KEEP_BYTES}")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode = WAL`, retried while the file is locked: on a new file, several processes
    opening it at once (the jobs of a sweep) can be told `database is locked` at once, without the busy
    timeout being waited, while one of them converts the file to WAL."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(SQLITE_LOCKED_RETRY_S)


def create_engine_for(url: str, *, base_dir: Path | None = None) -> Engine:
    """An engine for `url` (checked and resolved), without connecting or migrating."""
    resolved = resolve_db_url(url, base_dir)
    parsed = _parse_url(resolved)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        _check_sqlite_location(parsed)
    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            # SQLAlchemy 2.1 defaults to psycopg 3; crawlspec depends on psycopg2 (psycopg2-binary).
            parsed = parsed.set(drivername="postgresql+psycopg2")
        kwargs["pool_pre_ping"] = True
        if parsed.get_driver_name() in ("psycopg2", "psycopg") and "connect_timeout" not in parsed.query:
            kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as err:
        raise DatabaseLocationError(
            f"unsupported database URL {display_url(parsed)} ({err}); crawlspec stores into "
            "sqlite:///PATH or postgresql://USER@HOST:PORT/DBNAME"
        ) from None
    if backend == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
    return engine


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", err)).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _connection_error(engine: Engine, err: DBAPIError) -> Exception:
    first_line = _first_line(err)
    shown = display_url(engine.url)
    if engine.dialect.name == "sqlite":
        return DatabaseLocationError(
            f"cannot open the SQLite database {engine.url.database}: {first_line}; "
            "check the file (is it a SQLite database?) or choose another db.url"
        )
    kind = classify_connect_error(err)
    where = f"{engine.url.host or 'the local socket'}:{engine.url.port or 5432}"
    if kind == MISSING_DATABASE:
        return DatabaseLocationError(
            f"the database {engine.url.database!r} does not exist on {where} ({shown}: {first_line}); "
            f"create it (createdb {engine.url.database}) or fix the database name in db.url / --db"
        )
    if kind == AUTHENTICATION:
        return DatabaseLocationError(
            f"the server {where} refused user {engine.url.username or '(none)'!r} ({shown}: {first_line}); "
            "fix the user or password in db.url / --db (or the server's pg_hba.conf)"
        )
    if kind == MALFORMED:
        return DatabaseLocationError(
            f"database URL {shown} is malformed: {first_line}; "
            "use e.g. postgresql://USER:PASSWORD@HOST:5432/DBNAME"
        )
    return DatabaseUnavailable(
        f"cannot connect to the database {shown}: {first_line}. Check that the server is running and "
        "reachable; work already committed is safe, run again to resume"
    )


def _prove_connection(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except DBAPIError as err:
        raise _connection_error(engine, err) from None


def open_database(url: str, *, upgrade: bool = True, base_dir: Path | None = None) -> Engine:
    """Create the engine, prove that it connects, and (by default) migrate it to the newest schema."""
    engine = create_engine_for(url, base_dir=base_dir)
    try:
        _prove_connection(engine)
        if upgrade:
            upgrade_database(engine)
    except OperationalError as err:
        engine.dispose()
        raise _connection_error(engine, err) from None
    except DatabaseError as err:
        engine.dispose()
        if engine.dialect.name == "sqlite":  # "file is not a database", "database disk image is malformed"
            raise _connection_error(engine, err) from None
        raise
    except BaseException:
        engine.dispose()
        raise
    return engine


def not_crawlspec(where: str, tables: list[str]) -> DatabaseLocationError:
    """The refusal of a database without crawlspec's migration record: `tables` (its tables) tell an
    empty database, which `crawlspec db upgrade` can prepare, from another tool's, which it refuses."""
    if not tables:
        return DatabaseLocationError(
            f"{where} is not a crawlspec database (it is empty); point --db / db.url at the database "
            "`crawlspec run` writes to, or prepare this one with `crawlspec db upgrade`")
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    return DatabaseLocationError(
        f"{where} is not a crawlspec database: it holds tables of another tool ({shown}) and no crawlspec "
        "migration record; point --db / db.url at the database `crawlspec run` writes to, or at a new file")


def _read_only_uri(path: Path) -> str:
    """The SQLite URI opening `path` read-only. When the file cannot change at all (a read-only
    filesystem, or no write permission for anyone on the file and its directory, and no `-wal` file),
    SQLite is told so (`immutable=1`): it then needs no `-shm` file, which it could not create there. A
    file someone else may still write is opened with locking (`mode=ro`), so a reader never sees a half
    change."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return uri + "&immutable=1" if _cannot_change(path) else uri


def _cannot_change(path: Path) -> bool:
    if path.with_name(path.name + "-wal").exists():
        return False
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        return True
    anyone_writes = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    return not (path.stat().st_mode & anyone_writes or path.parent.stat().st_mode & anyone_writes)


def sqlite_tables(path: Path) -> list[str]:
    """The tables of a SQLite file, read without changing it (opened read-only)."""
    try:
        with contextlib.closing(sqlite3.connect(_read_only_uri(path), uri=True)) as conn:
            return [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    except sqlite3.DatabaseError as err:
        raise DatabaseLocationError(
            f"cannot open the SQLite database {path}: {err}; check the file (is it a SQLite database?) or "
            "choose another db.url / --db") from None


def open_existing_database(url: str, *, upgrade: bool = False, base_dir: Path | None = None) -> Engine:
    """For every command but `run` and `db upgrade`: open a crawlspec database, never create one.

    A missing SQLite file, an in-memory database, or a database without crawlspec's schema is refused
    (exit 2, naming the path) instead of being created or migrated from nothing."""
    parsed = _parse_url(resolve_db_url(url, base_dir))
    if parsed.get_backend_name() == "sqlite":
        if _is_memory_sqlite(parsed):
            raise DatabaseLocationError(f"{url} is an in-memory database, which holds no crawl; "
                                        "point --db / db.url at the database `crawlspec run` writes to")
        path = Path(str(parsed.database))
        if path.is_dir():
            _check_sqlite_location(parsed)   # names the directory and suggests a file in it
        if not path.is_file():
            raise DatabaseLocationError(
                f"no database at {path}: check --db / db.url (relative paths start from the current "
                f"directory); `crawlspec run` or `crawlspec db upgrade --db sqlite:///{path}` creates one")
        tables = sqlite_tables(path)  # read-only: another tool's file is left as it is
        if "alembic_version" not in tables:
            raise not_crawlspec(str(path), tables)
        if not upgrade and not _writable(path):
            return _read_only_sqlite(path)
    engine = open_database(parsed.render_as_string(hide_password=False), upgrade=False)
    try:
        if current_revision(engine) is None:
            raise not_crawlspec(display_url(engine.url), sa.inspect(engine).get_table_names())
        if upgrade:
            upgrade_database(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _writable(path: Path) -> bool:
    """Whether this process may write the SQLite file and create its `-wal`/`-shm` files beside it."""
    return os.access(path, os.R_OK | os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _read_only_sqlite(path: Path) -> Engine:
    """A crawlspec database this process may only read (an archived copy, a colleague's file): opened
    with SQLite's read-only mode, for the commands that only read (`status`, `export`, `report`,
    `crawlspec.load`); nothing is migrated or switched to WAL."""
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool,   # the URL names the file in messages
                              creator=lambda: sqlite3.connect(_read_only_uri(path), uri=True, check_same_thread=False))
    event.listen(engine, "connect", _on_read_only_sqlite_connect)
    try:
        _prove_connection(engine)
        if current_revision(engine) is None:
            raise not_crawlspec(str(path), sqlite_tables(path))
    except BaseException:
        engine.dispose()
        raise
    return engine


def _on_read_only_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config  # lazy: Alembic is slow to import; only migrations need it

    location = resources.files("crawlspec.migrations")
    config = Config(str(location / "alembic.ini"))
    config.set_main_option("script_location", str(location))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory  # lazy: Alembic is slow to import; only migrations need it

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "crawlspec.migrations has no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None: never migrated)."""
    # lazy: Alembic is slow to import; only migrations need it
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _check_known_revision(engine: Engine) -> None:
    from alembic.script import ScriptDirectory  # lazy: Alembic is slow to import; only migrations need it

    current = current_revision(engine)
    if current is None:
        if sa.inspect(engine).has_table("video"):
            raise DatabaseLocationError(
                f"the database {display_url(engine.url)} has crawl tables but no crawlspec migration "
                "record (was it created by another tool?); point db.url at a new database"
            )
        return
    script = ScriptDirectory.from_config(_alembic_config())
    if current not in {rev.revision for rev in script.walk_revisions()}:
        raise DatabaseLocationError(
            f"the database {display_url(engine.url)} is at schema revision {current}, unknown to this "
            "crawlspec (created by a newer version or another tool?); upgrade crawlspec or use another db.url"
        )


def head_from_migration_files(versions: Traversable | None = None) -> str | None:
    """The head revision read from the migration files' `revision` / `down_revision` lines, without
    importing Alembic (slow to import); None when unsure (a line not in the plain one-revision form, a
    merge, several heads, no file), and then Alembic decides."""
    folder = versions if versions is not None else resources.files("crawlspec.migrations") / "versions"
    revisions: set[str] = set()
    parents: set[str] = set()
    for entry in folder.iterdir():
        if not entry.name.endswith(".py") or entry.name.startswith("__"):
            continue
        text = entry.read_text(encoding="utf-8")
        revision, down = _REVISION_LINE.findall(text), _DOWN_REVISION_LINE.findall(text)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0])
        if down[0]:
            parents.add(down[0])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


@functools.cache
def _packaged_head() -> str | None:
    return head_from_migration_files()


def _stored_revisions(engine: Engine) -> list[str] | None:
    """The rows of `alembic_version` (None: no such table, or it cannot be read)."""
    try:
        with engine.connect() as conn:
            return [str(row[0]) for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]
    except DBAPIError:
        return None


def upgrade_database(engine: Engine) -> str:
    """Run Alembic `upgrade head` (a no-op when already there) and return the revision now at head.

    A database already at the head the migration files name is recognised by one query, without
    Alembic (every `crawlspec run` opens its database this way). Concurrent callers (parallel sweep jobs
    on a new database) are serialised: on PostgreSQL by an advisory lock in the migration's transaction,
    on SQLite by `BEGIN IMMEDIATE` (DDL is transactional on both, so a failed migration leaves the
    previous schema intact)."""
    known_head = _packaged_head()
    if known_head is not None and _stored_revisions(engine) == [known_head]:
        return known_head
    head = head_revision()
    if current_revision(engine) == head:
        return head
    from alembic import command  # lazy: Alembic is slow to import; only migrations need it

    with engine.connect() as conn:
        driver_conn: Any = conn.connection.driver_connection   # the DBAPI connection (untyped)
        saved_isolation = getattr(driver_conn, "isolation_level", None)
        if engine.dialect.name == "sqlite":
            driver_conn.isolation_level = None  # let our explicit BEGIN IMMEDIATE govern
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY})
        try:
            # under the lock: another process migrating the same new database has committed by now, so
            # its tables are never mistaken for another tool's
            _check_known_revision(engine)
            command.upgrade(_alembic_config(conn), "head")
            conn.commit()
        finally:
            if engine.dialect.name == "sqlite":
                driver_conn.isolation_level = saved_isolation
    return current_revision(engine) or head
