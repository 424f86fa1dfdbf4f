"""A PostgreSQL configuration mistake is invalid input (exit 2, naming what to fix, password masked);
only a server that cannot be reached is "resume later" (75). Real server, installed CLI.

The test server trusts every local connection, so a wrong password cannot be produced for real: the
classifier is checked with the real error of a missing database and of an unknown role, and with an
authentication error built the way libpq and psycopg2 report one."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import psycopg2
import pytest
import sqlalchemy as sa
from conftest import pg_server_url
from psycopg2 import errors as pg_errors

from crawlspec import exit_codes
from crawlspec.storage.connect_errors import (
    AUTHENTICATION,
    MALFORMED,
    MISSING_DATABASE,
    UNREACHABLE,
    classify_connect_error,
)

PASSWORD = "pw-Zq81-never-shown"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_url(**parts: object) -> str:
    return sa.engine.make_url(pg_server_url()).set(**parts).render_as_string(hide_password=False)


def _connect_error(url: str) -> Exception:
    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with pytest.raises(psycopg2.Error) as caught:
        psycopg2.connect(dsn, connect_timeout=5)
    return caught.value


def test_classifier_on_the_servers_real_errors() -> None:
    assert classify_connect_error(_connect_error(_server_url(database="no_such_db_x1"))) == MISSING_DATABASE
    assert classify_connect_error(_connect_error(_server_url(username="no_such_role_x1"))) == AUTHENTICATION
    assert classify_connect_error(_connect_error(_server_url(port=_closed_port()))) == UNREACHABLE
    assert classify_connect_error(_connect_error(_server_url(port=99999))) == MALFORMED


def test_classifier_on_constructed_authentication_errors() -> None:
    libpq_wording = psycopg2.OperationalError(
        'connection to server at "db.example.org" (10.0.0.5), port 5432 failed: FATAL:  password '
        'authentication failed for user "crawler"\n')
    assert classify_connect_error(libpq_wording) == AUTHENTICATION
    assert classify_connect_error(pg_errors.lookup("28P01")("wrong")) == AUTHENTICATION
    assert classify_connect_error(pg_errors.lookup("28000")("no entry")) == AUTHENTICATION
    assert classify_connect_error(pg_errors.lookup("3D000")("gone")) == MISSING_DATABASE
    wrapped = sa.exc.OperationalError("connect", {}, libpq_wording)
    assert classify_connect_error(wrapped) == AUTHENTICATION
    assert classify_connect_error(psycopg2.OperationalError(
        "server closed the connection unexpectedly")) == UNREACHABLE


def _run(exe: str, tmp_path: Path, db_url: str) -> subprocess.CompletedProcess:
    return subprocess.run([exe, "run", "+spec=demo", "api=sim", f"db.url='{db_url}'"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_missing_database_exits_2_naming_it(crawlspec_exe: str, tmp_path: Path) -> None:
    result = _run(crawlspec_exe, tmp_path, _server_url(database="no_such_db_x2", password=PASSWORD))
    assert result.returncode == exit_codes.INVALID_INPUT, result.stderr
    assert "'no_such_db_x2' does not exist" in result.stderr and "createdb no_such_db_x2" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout and "Traceback" not in result.stderr


@pytest.mark.slow
def test_unknown_role_exits_2_naming_the_user(crawlspec_exe: str, tmp_path: Path) -> None:
    result = _run(crawlspec_exe, tmp_path, _server_url(username="no_such_role_x2", password=PASSWORD))
    assert result.returncode == exit_codes.INVALID_INPUT, result.stderr
    assert "refused user 'no_such_role_x2'" in result.stderr and "fix the user or password" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("query", ["?sslmode=bogus", "?no_such_option=1"])
def test_malformed_url_exits_2(crawlspec_exe: str, tmp_path: Path, query: str) -> None:
    result = _run(crawlspec_exe, tmp_path, _server_url(password=PASSWORD) + query)
    assert result.returncode == exit_codes.INVALID_INPUT, result.stderr
    assert "is malformed" in result.stderr and "Traceback" not in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


@pytest.mark.slow
def test_unreachable_server_exits_75(crawlspec_exe: str, tmp_path: Path) -> None:
    result = _run(crawlspec_exe, tmp_path, _server_url(port=_closed_port(), password=PASSWORD))
    assert result.returncode == exit_codes.RESUMABLE, result.stderr
    assert "cannot connect to the database" in result.stderr and "run again to resume" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


@pytest.mark.slow
def test_an_unparsable_override_does_not_show_the_password(crawlspec_exe: str, tmp_path: Path) -> None:
    unquoted = f"db.url={_server_url(password=PASSWORD)}?sslmode=bogus"   # `=` inside needs quotes
    result = subprocess.run([crawlspec_exe, "run", "+spec=demo", "api=sim", unquoted], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == exit_codes.INVALID_INPUT, result.stderr
    assert "cannot parse the override" in result.stderr and PASSWORD not in result.stderr
