"""`crawlspec db upgrade|current [--db URL]`: apply or show the schema migrations (no Hydra here)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sqlalchemy as sa

from crawlspec import exit_codes
from crawlspec.errors import CrawlspecError, DatabaseLocationError
from crawlspec.spec.database_url import DB_OPTION_HELP, default_db_url
from crawlspec.storage.database import (
    create_engine_for,
    current_revision,
    display_url,
    head_revision,
    not_crawlspec,
    open_database,
    sqlite_tables,
    upgrade_database,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crawlspec db", description="Database maintenance: Alembic migrations shipped with crawlspec.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (("upgrade", "create the tables or migrate the database to the newest schema"),
                       ("current", "show the schema revision of the database and the newest one")):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--db", default=default_db_url(), metavar="URL", help=DB_OPTION_HELP)
    return parser


def _upgrade(url: str) -> int:
    engine = open_database(url, upgrade=False)
    try:
        before = current_revision(engine)
        head = upgrade_database(engine)
    finally:
        engine.dispose()
    shown = display_url(engine.url)
    if before == head:
        print(f"{shown}: already at the newest schema ({head}); nothing to do")
    else:
        print(f"{shown}: upgraded from {before or 'an empty database'} to {head}")
    return exit_codes.OK


def _current(url: str) -> int:
    engine = create_engine_for(url)
    engine.dispose()
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        path = Path(str(engine.url.database))
        if not path.exists():
            raise DatabaseLocationError(f"no database at {path}; create it with "
                                        f"`crawlspec db upgrade --db {url}` (or any `crawlspec run`)")
        tables = sqlite_tables(path)   # read-only: another tool's file stays as it is
        if tables and "alembic_version" not in tables:
            raise not_crawlspec(display_url(engine.url), tables)
    engine = open_database(url, upgrade=False)
    try:
        current, head = current_revision(engine), head_revision()
        tables = sa.inspect(engine).get_table_names() if current is None else []
    finally:
        engine.dispose()
    if tables:
        raise not_crawlspec(display_url(engine.url), tables)
    state = "up to date" if current == head else "run `crawlspec db upgrade` to migrate"
    print(f"{display_url(engine.url)}: revision {current or 'none (empty database)'}, newest {head} ({state})")
    return exit_codes.OK


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as stop:  # argparse: --help exits 0, usage errors 2
        return int(stop.code or 0)
    try:
        return _upgrade(args.db) if args.command == "upgrade" else _current(args.db)
    except CrawlspecError as err:
        print(f"crawlspec db {args.command}: {err}", file=sys.stderr)
        return err.exit_code
