"""Opening a database already at the newest schema needs no Alembic: the head is read from the migration
files, the database's revision with one query; anything else still goes through Alembic."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from crawlspec.errors import DatabaseLocationError
from crawlspec.storage import database
from crawlspec.storage.database import (
    head_from_migration_files,
    head_revision,
    open_database,
    upgrade_database,
)

MIGRATION = '''"""{doc}"""
revision: str = "{rev}"
down_revision: str | None = {down}
'''


def _write(folder: Path, name: str, rev: str, down: str) -> None:
    (folder / f"{name}.py").write_text(MIGRATION.format(doc=name, rev=rev, down=down))


def test_the_files_name_the_same_head_as_alembic() -> None:
    assert head_from_migration_files() == head_revision()


def test_unsure_files_leave_the_decision_to_alembic(tmp_path: Path) -> None:
    _write(tmp_path, "0001_a", "0001", "None")
    _write(tmp_path, "0002_b", "0002", '"0001"')
    (tmp_path / "__init__.py").write_text("")
    assert head_from_migration_files(tmp_path) == "0002"
    _write(tmp_path, "0003_c", "0003", '"0001"')            # two heads
    assert head_from_migration_files(tmp_path) is None
    (tmp_path / "0003_c.py").write_text('revision = "0003"\ndown_revision = ("0001", "0002")\n')   # a merge
    assert head_from_migration_files(tmp_path) is None
    (tmp_path / "0003_c.py").write_text('revision = "0003"\ndown_revision = "0009"\n')   # unknown parent
    assert head_from_migration_files(tmp_path) is None


def test_a_database_at_head_is_opened_without_alembic(engine: Engine, db_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def no_alembic(*_args: object) -> None:
        raise AssertionError("Alembic was asked although the database is at head")

    monkeypatch.setattr(database, "head_revision", no_alembic)
    monkeypatch.setattr(database, "_alembic_config", no_alembic)
    assert upgrade_database(engine) == head_from_migration_files()
    open_database(db_url).dispose()


def test_a_database_at_another_revision_goes_through_alembic(db_url: str) -> None:
    engine = open_database(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(DatabaseLocationError, match="schema revision f00d, unknown"):
        upgrade_database(engine)
    engine.dispose()


def test_a_new_database_is_created_by_alembic(db_url: str) -> None:
    engine = open_database(db_url)
    assert sa.inspect(engine).has_table("video")
    assert database._stored_revisions(engine) == [head_revision()]
    engine.dispose()
