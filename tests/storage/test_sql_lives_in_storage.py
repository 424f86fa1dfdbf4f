"""The stages, the compliance status and the status overview decide policy and call `crawlspec.storage`
for every statement: they build no SQL (no `sqlalchemy` core constructs, no `text()`, no bulk upsert) and
execute nothing, except the crawl core's `spec_videos_query` (the spec's stored videos), which moves
with the crawl core. Measured from the source with `ast` (nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent.parent / "crawlspec"
POLICY_MODULES = sorted([*PACKAGE_DIR.glob("crawl/stages/*.py"), PACKAGE_DIR / "compliance" / "status.py",
                         PACKAGE_DIR / "export" / "overview.py"])
ENGINE_TYPES = ("Connection", "Engine", "make_url")
SQL_WRITERS = {"upsert_rows", "insert_rows", "insert_values", "dialect_insert"}


def sql_in(path: Path) -> list[str]:
    """What in `path` builds or runs SQL itself: `file:line what`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(alias.name == "sqlalchemy" for alias in node.names):
            found.append(f"{node.lineno} import sqlalchemy")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy") and (
                node.module != "sqlalchemy.engine" or any(alias.name not in ENGINE_TYPES for alias in node.names)):
            found.append(f"{node.lineno} from {node.module} import ...")
        if isinstance(node, ast.Name) and node.id in SQL_WRITERS:
            found.append(f"{node.lineno} {node.id}")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            source = ast.unparse(node)
            if ".execute(" in source and "spec_videos_query(" not in source:
                found.append(f"{node.lineno} execute in {node.name}()")
    return [f"{path.relative_to(PACKAGE_DIR)}:{item}" for item in found]


@pytest.mark.parametrize("path", POLICY_MODULES, ids=lambda path: str(path.relative_to(PACKAGE_DIR)))
def test_policy_modules_leave_every_statement_to_storage(path: Path) -> None:
    assert sql_in(path) == []


def test_the_check_sees_sql_where_there_is_some() -> None:
    assert sql_in(PACKAGE_DIR / "storage" / "comments.py")
