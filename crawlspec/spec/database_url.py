"""Which database a command uses when none is named: one rule for every command.

`db.url=URL` (run, test, compile) or `--db URL` (status, export, report, refresh, db) name it;
otherwise `$CRAWLSPEC_DB_URL`; otherwise `sqlite:///crawlspec.db` in the current directory. Kept free of
heavy imports: the argument parsers of the fast commands read it at start-up.
"""

from __future__ import annotations

import os

DB_URL_VARIABLE = "CRAWLSPEC_DB_URL"
DEFAULT_DB_URL = "sqlite:///crawlspec.db"
DB_OPTION_HELP = f"database URL (default ${DB_URL_VARIABLE}, else {DEFAULT_DB_URL} in the current directory)"


def default_db_url() -> str:
    return os.environ.get(DB_URL_VARIABLE) or DEFAULT_DB_URL
