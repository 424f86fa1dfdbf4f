"""`mypy crawlspec` is clean under the strict settings of pyproject.toml ([tool.mypy])."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_mypy_strict_is_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    api = pytest.importorskip("mypy.api")
    monkeypatch.chdir(ROOT)   # the configuration is read from pyproject.toml there
    stdout, stderr, status = api.run(["crawlspec"])
    assert status == 0, stdout + stderr
