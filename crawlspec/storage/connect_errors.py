"""Why a PostgreSQL connection failed: a configuration the user must fix, or a server to wait for.

A wrong password, an unknown role, a missing database or a malformed URL fail the same way every
time; they are reported as invalid input (exit 2) naming what to fix. Only a server that cannot be
reached (refused, timed out, unknown host, shutting down, too many clients) is worth retrying later.

The SQLSTATE decides when the driver carries one (`28000` invalid_authorization_specification,
`28P01` invalid_password, `3D000` invalid_catalog_name). libpq reports a failed *connection* without
a SQLSTATE, so its message, in the server's and libpq's English wording, decides otherwise.
"""

from __future__ import annotations

import re

AUTHENTICATION = "authentication"
MISSING_DATABASE = "missing_database"
MALFORMED = "malformed"
UNREACHABLE = "unreachable"

_SQLSTATES = {"28000": AUTHENTICATION, "28P01": AUTHENTICATION, "3D000": MISSING_DATABASE}
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'database "[^"]*" does not exist'), MISSING_DATABASE),
    (re.compile(r'authentication failed|no password supplied|no pg_hba\.conf entry|role "[^"]*" does not '
                r'exist|is not permitted to log in|password is required'), AUTHENTICATION),
    (re.compile(r'invalid dsn|invalid connection option|invalid port number|invalid integer value|'
                r'invalid \w+ value|missing "=" after|unterminated quoted string|invalid URI'), MALFORMED),
)


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE of a driver error (psycopg2 `pgcode`, or its error class), if it has one."""
    code = getattr(error, "pgcode", None) or getattr(getattr(error, "diag", None), "sqlstate", None)
    if code:
        return str(code)
    try:
        from psycopg2 import errors  # lazy: the PostgreSQL driver, needed for its errors only
    except ImportError:
        return None
    for sqlstate in _SQLSTATES:
        if isinstance(error, errors.lookup(sqlstate)):
            return sqlstate
    return None


def classify_connect_error(error: BaseException) -> str:
    """AUTHENTICATION, MISSING_DATABASE, MALFORMED or UNREACHABLE for an error raised while connecting
    (a SQLAlchemy DBAPIError or the driver's own exception)."""
    driver_error = getattr(error, "orig", None) or error
    by_code = _SQLSTATES.get(sqlstate_of(driver_error) or "")
    if by_code:
        return by_code
    text = str(driver_error)
    for pattern, kind in _MESSAGES:
        if pattern.search(text):
            return kind
    if type(driver_error).__name__ == "ProgrammingError":  # psycopg2 rejects the DSN before connecting
        return MALFORMED
    return UNREACHABLE
