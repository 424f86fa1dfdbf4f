"""The shape of the package's imports: no import circles, the layering the package promises, and no
import inside a function unless it keeps start-up fast and says so (`# lazy: <reason>` on the line of
the import or the line above it).

Measured from the source with `ast` (nothing is imported). Every import counts, also those inside
functions (they are circles all the same, merely deferred); imports under `if TYPE_CHECKING:` count for
the layering but not for circles, except in a package's `__init__`, where they name the lazily exported
submodules (`crawlspec.client`, `crawlspec.sim`). Every SQL statement lives in `crawlspec/storage/` (the
simulator and the export's streaming query in `export/query.py` aside): a module elsewhere that builds or
executes one fails here. There is no allow-list: a new circle, layering break, SQL statement outside
storage or unexplained in-function import fails this file.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "crawlspec"
LAZY_MARKER = re.compile(r"#\s*lazy:\s*\S")
# Top-level modules every stage may import.
HELPERS = frozenset({"crawlspec", "crawlspec.clock", "crawlspec.text", "crawlspec.redaction",
                     "crawlspec.exit_codes", "crawlspec.errors", "crawlspec.logs"})


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    path: str       # relative to the package directory
    line: int
    in_function: bool
    type_checking: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, known: set[str]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            parts = importer.split(".") if is_package else importer.split(".")[:-1]
            parts = parts[:len(parts) - node.level + 1]
            base = ".".join(parts + ([node.module] if node.module else []))
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    for name in names:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in known:
            yield name


def _walk(node: ast.AST, in_function: bool = False, type_checking: bool = False
          ) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, in_function, type_checking
        guarded = type_checking or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
        yield from _walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)),
                         guarded)


def imports_of(source: str, importer: str, path: str, is_package: bool, known: set[str]) -> list[Import]:
    found = []
    for node, in_function, type_checking in _walk(ast.parse(source)):
        for target in _targets(node, importer, is_package, known):
            if target != importer:
                found.append(Import(importer, target, path, node.lineno, in_function, type_checking))
    return found


def all_imports() -> list[Import]:
    modules = package_modules()
    known = set(modules) | {name for name in modules if name}
    found = []
    for name, path in modules.items():
        found += imports_of(path.read_text(encoding="utf-8"), name, str(path.relative_to(PACKAGE_DIR)),
                            path.name == "__init__.py", known)
    return found


def runtime_edges(imports: list[Import]) -> set[tuple[str, str]]:
    return {(i.importer, i.imported) for i in imports
            if not i.type_checking or i.path.endswith("__init__.py")}


def circles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    graph: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(graph[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layering_breaks(imports: list[Import]) -> set[tuple[str, str]]:
    """(importer, imported) pairs that break a promise of the package layout."""
    breaks = set()
    for i in imports:
        a, b = i.importer, i.imported
        if _in(a, "crawlspec.api") and not (_in(b, "crawlspec.api") or b in HELPERS):
            breaks.add((a, b))   # api/: the API's vocabulary, standing alone
        if _in(a, "crawlspec.spec") and any(_in(b, f"crawlspec.{p}") for p in ("storage", "client", "crawl", "cli")):
            breaks.add((a, b))   # spec/: pure functions of the spec
        if _in(a, "crawlspec.storage") and any(_in(b, f"crawlspec.{p}") for p in ("crawl", "cli")):
            breaks.add((a, b))   # storage/: below the crawl
        if _in(a, "crawlspec.sim") and not (_in(b, "crawlspec.sim") or _in(b, "crawlspec.api") or b in HELPERS):
            breaks.add((a, b))   # sim/: a stand-in for the API, independent of the client it serves
        if _in(b, "crawlspec.cli") and not (_in(a, "crawlspec.cli") or a == "crawlspec.__main__"):
            breaks.add((a, b))   # cli/: the top; nothing below calls up into it
    return breaks


def unmarked_in_function_imports(path: Path) -> list[int]:
    """Lines of imports inside functions with no `# lazy: reason` on the line above or on their lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for node, in_function, _ in _walk(ast.parse("\n".join(lines))):
        around = lines[max(0, node.lineno - 2):node.end_lineno or node.lineno]
        if in_function and not any(LAZY_MARKER.search(line) for line in around):
            found.append(node.lineno)
    return found


# --- the rules ------------------------------------------------------------------------------------

def test_no_import_circles() -> None:
    edges = runtime_edges(all_imports())
    assert circles(edges) == []


def test_layering_holds() -> None:
    assert layering_breaks(all_imports()) == set()


def test_imports_inside_functions_say_why_they_are_lazy() -> None:
    unmarked = {str(path.relative_to(PACKAGE_DIR)): lines for path in sorted(PACKAGE_DIR.rglob("*.py"))
                if (lines := unmarked_in_function_imports(path))}
    assert unmarked == {}, "move these imports to the top of their module, or mark them `# lazy: <reason>`"


# --- the checks catch what they claim to --------------------------------------------------------

def test_a_circle_through_a_function_level_import_is_found() -> None:
    known = {"p", "p.a", "p.b"}
    imports = (imports_of("from p import b\n", "p.a", "p/a.py", False, known)
               + imports_of("def f():\n    from p.a import x\n", "p.b", "p/b.py", False, known))
    assert circles(runtime_edges(imports)) == [["p.a", "p.b"]]


def test_type_checking_imports_are_not_circles_outside_a_package_init() -> None:
    known = {"p", "p.a", "p.b"}
    imports = (imports_of("import p.b\n", "p.a", "p/a.py", False, known)
               + imports_of("if TYPE_CHECKING:\n    from p.a import X\n", "p.b", "p/b.py", False, known))
    assert circles(runtime_edges(imports)) == []


def test_relative_imports_resolve() -> None:
    known = {"p", "p.a", "p.q", "p.q.b"}
    imports = imports_of("from ..a import x\nfrom . import b\n", "p.q.c", "p/q/c.py", False, known)
    assert {i.imported for i in imports} == {"p.a", "p.q.b"}


def test_an_unmarked_import_in_a_function_is_reported(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    import json\n\n"
                      "def g():\n    # lazy: slow to import\n    import json\n\n"
                      "def h():\n    import json  # lazy: slow to import\n")
    assert unmarked_in_function_imports(source) == [2]


def test_a_layering_break_is_reported() -> None:
    known = {"crawlspec", "crawlspec.sim", "crawlspec.sim.x", "crawlspec.storage", "crawlspec.cli",
             "crawlspec.cli.status"}
    imports = imports_of("import crawlspec.storage\nfrom crawlspec.cli import status\n", "crawlspec.sim.x",
                         "sim/x.py", False, known)
    assert layering_breaks(imports) == {("crawlspec.sim.x", "crawlspec.storage"),
                                        ("crawlspec.sim.x", "crawlspec.cli.status")}


# --- SQL lives in storage -------------------------------------------------------------------------
# `crawlspec/storage/` holds every SQL statement of the package; the simulator keeps its own tables, and
# the export's streaming query stays with the export. Everyone else calls storage functions.

SQL_HOMES = ("storage/", "sim/")
SQL_EXPORT_QUERY = "export/query.py"
# Files whose statements move into storage on a parallel branch; this list goes once both are merged.
SQL_BUILDERS = frozenset({"select", "insert", "update", "delete", "text"})
SQL_HELPERS = frozenset({"upsert_rows", "dialect_insert"})
CONNECTION_NAMES = frozenset({"conn", "connection"})


def _sqlalchemy_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names bound to SQLAlchemy modules (`sa`, `postgresql`) and to its statement builders (`insert`)."""
    modules, builders = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.asname or alias.name for alias in node.names if alias.name.startswith("sqlalchemy")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            for alias in node.names:
                if alias.name in SQL_BUILDERS:
                    builders.add(alias.asname or alias.name)
                elif node.module == "sqlalchemy.dialects" or alias.name in {"postgresql", "sqlite"}:
                    modules.add(alias.asname or alias.name)
    return modules, builders


def _owner_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def sql_calls(source: str) -> list[tuple[int, str]]:
    """(line, call) of every SQL statement built or executed in `source`."""
    tree = ast.parse(source)
    modules, builders = _sqlalchemy_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and (func.id in builders or func.id in SQL_HELPERS):
            found.append((node.lineno, func.id))
        elif isinstance(func, ast.Attribute):
            owner = _owner_name(func.value)
            if (func.attr in SQL_BUILDERS and isinstance(func.value, ast.Name) and func.value.id in modules) or \
                    (func.attr == "execute" and owner in CONNECTION_NAMES) or func.attr in SQL_HELPERS:
                found.append((node.lineno, ast.unparse(func)))
    return sorted(found)


def sql_outside_storage() -> dict[str, list[tuple[int, str]]]:
    found = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR).as_posix()
        if relative.startswith(SQL_HOMES) or relative == SQL_EXPORT_QUERY:
            continue
        if calls := sql_calls(path.read_text(encoding="utf-8")):
            found[relative] = calls
    return found


def test_sql_statements_live_in_storage() -> None:
    assert sql_outside_storage() == {}, "move these statements into a crawlspec/storage module and call it"


def test_sql_outside_storage_is_found() -> None:
    source = ("import sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n"
              "from sqlalchemy.dialects.sqlite import insert as sqlite_insert\n"
              "from crawlspec.storage.bulk import upsert_rows\n"
              "def f(conn, engine, table):\n"
              "    conn.execute(sa.select(table))\n"
              "    sa.text('SELECT 1')\n"
              "    postgresql.insert(table)\n"
              "    sqlite_insert(table)\n"
              "    upsert_rows(conn, table, [], keys=('id',))\n"
              "    with engine.connect() as connection:\n"
              "        connection.execute(sa.delete(table))\n"
              "    self.conn.execute(sa.update(table))\n"
              "    store_page(conn, table)\n")
    assert sql_calls(source) == [
        (6, "conn.execute"), (6, "sa.select"), (7, "sa.text"), (8, "postgresql.insert"), (9, "sqlite_insert"),
        (10, "upsert_rows"), (12, "connection.execute"), (12, "sa.delete"), (13, "sa.update"),
        (13, "self.conn.execute")]
