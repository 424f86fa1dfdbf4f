"""The suite's own rules: a test that starts a process carries `@pytest.mark.slow` (so the fast lane,
`pytest -m "not slow"`, starts none), and test modules take their helpers from `support`, never from
another test module."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.paths import REPO_ROOT

TESTS = REPO_ROOT / "tests"

GUARDED_SUITE = {
    "conftest.py": """
        import pytest
        from support.process_guard import fail_unmarked_process_starts

        @pytest.fixture(autouse=True)
        def _guard(request):
            yield from fail_unmarked_process_starts(request)
        """,
    "test_inner.py": """
        import multiprocessing
        import subprocess
        import sys

        import pytest

        def test_unmarked_subprocess():
            subprocess.run([sys.executable, "-c", "pass"], check=True)

        def test_unmarked_multiprocessing_worker():
            ctx = multiprocessing.get_context("spawn")
            worker = ctx.Process(target=print)
            worker.start()
            worker.join()

        def test_unmarked_without_a_process():
            assert sum([1, 2]) == 3

        @pytest.mark.slow
        def test_marked_subprocess():
            subprocess.run([sys.executable, "-c", "pass"], check=True)
        """,
}


@pytest.mark.slow
def test_a_test_starting_a_process_without_the_slow_marker_fails(tmp_path: Path) -> None:
    for name, text in GUARDED_SUITE.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow: slow\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
                            cwd=tmp_path, env={**_env(), "PYTHONPATH": str(TESTS)}, capture_output=True,
                            text=True, timeout=300)
    out = result.stdout
    assert result.returncode == 1, out
    assert "ERROR test_inner.py::test_unmarked_subprocess" in out, out
    assert "ERROR test_inner.py::test_unmarked_multiprocessing_worker" in out, out
    assert "without @pytest.mark.slow (first: " in out and sys.executable in out, out
    assert "PASSED test_inner.py::test_unmarked_without_a_process" in out, out
    assert "PASSED test_inner.py::test_marked_subprocess" in out, out
    assert "2 errors" in out.splitlines()[-1], out


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def test_no_test_module_imports_another() -> None:
    """Helpers shared by several test modules live in tests/support/, so moving or deleting a test module
    never breaks another."""
    test_modules = {path.stem for path in TESTS.rglob("test_*.py")}
    offenders = []
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(TESTS)} imports {name}" for name in names
                          if name.split(".")[0] in test_modules]
    assert not offenders, offenders


def test_test_module_names_are_unique_across_directories() -> None:
    """Without __init__.py files pytest imports each test module by its bare name: two modules with the
    same name in two directories would not both load."""
    seen: dict[str, list[str]] = {}
    for path in TESTS.rglob("test_*.py"):
        seen.setdefault(path.name, []).append(str(path.relative_to(TESTS)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}
