"""The progress line is display only: `crawlspec.cli.progress` imports nothing from the crawl or the
storage (the number of windows is planned on the crawl side and handed to it), and `crawlspec.logs`,
which installs it, is on no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import crawlspec

PACKAGE = Path(crawlspec.__file__).parent


def imported_by(path: Path) -> set[str]:
    """Every crawlspec module a file imports, at module level or inside functions."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[:len(module.split(".")) - node.level + (path.name == "__init__.py")]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] == "crawlspec"}


def import_graph() -> dict[str, set[str]]:
    modules = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
               for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imported_by(path) if m in modules} for name, path in modules.items()}


def test_progress_imports_nothing_from_crawl_or_storage():
    imports = imported_by(PACKAGE / "cli" / "progress.py")
    assert not {m for m in imports if m.startswith(("crawlspec.crawl", "crawlspec.storage", "crawlspec.client"))}


def test_logs_is_on_no_import_cycle():
    graph = import_graph()
    seen, todo = set(), list(graph["crawlspec.logs"])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    assert "crawlspec.logs" not in seen
