"""Comments, docstrings and docs stand on their own: they cite nothing a reader of the repository lacks
(the team's private notes, design documents or issue numbers)."""

from __future__ import annotations

import re
from pathlib import Path

from support.paths import REPO_ROOT

ROOT = REPO_ROOT
FOREIGN = re.compile(r"api-notes|design section|design\.md|\.\./shared|\bissue [0-9]+", re.IGNORECASE)
TREES = ("crawlspec", "tests", "scripts", "alembic", "conf", "specs", "docs", "hydra_plugins")


def test_no_file_cites_documents_outside_the_repository() -> None:
    files = [ROOT / "README.md", ROOT / "ARCHITECTURE.md"]
    for tree in TREES:
        files += [p for p in (ROOT / tree).rglob("*") if p.suffix in (".py", ".md", ".yaml") and p.is_file()]
    this = Path(__file__).resolve()
    cited = [f"{p.relative_to(ROOT)}:{n}: {line.strip()[:100]}"
             for p in files if p.resolve() != this
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if FOREIGN.search(line)]
    assert not cited, "\n".join(cited)
