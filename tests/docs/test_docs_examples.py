"""Every `bash`, `python` and `r` block of the documentation runs, so the docs cannot rot.

The pages are read in the site's navigation order (mkdocs.yml) and their blocks run one after the
other in one directory, as a reader following the pages would: the demo database made on "Try it"
is the one "Status and export" and "pandas and R" read. The README runs in a directory of its own.
Commands that talk to the real API reach a `crawlspec sim` process instead, through the
`CRAWLSPEC_API_BASE_URL` variable and the simulator's credentials in the environment.

Installing is the one thing not repeated: `python3 -m venv`, activating it and `pip install` are
dropped from a command line (the suite runs inside the installed package; `.ci/run` itself performs
the README's install and test blocks). A block that cannot run here is marked with
`<!-- docs-test: skip (reason) -->` on the line before it. Of a `console` transcript the `$ ` lines
are run; `text` blocks show output and are not run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from support.paths import REPO_ROOT

ROOT = REPO_ROOT
RUN_LANGUAGES = {"bash", "sh", "console", "python", "r"}
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.M | re.S)
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*\((.+?)\)\s*-->\s*$")
INSTALL_STEP = re.compile(r"^\s*(python3? -m venv\b.*|\. \.venv/bin/activate|source \.venv/bin/activate|pip install\b.*)$")

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    language: str
    code: str
    skip_reason: str | None


def nav_pages() -> list[str]:
    """The documentation pages in the order of the site's navigation."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    pages: list[str] = []

    def walk(items: list) -> None:
        for item in items:
            for value in item.values():
                if isinstance(value, list):
                    walk(value)
                else:
                    pages.append(value)
    walk(config["nav"])
    return pages


def blocks_of(path: Path, page: str) -> list[Block]:
    text = path.read_text()
    found = []
    for match in FENCE.finditer(text):
        language = match.group(1).lower()
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        found.append(Block(page, text[:match.start()].count("\n") + 1, language, match.group(2),
                           skip.group(1) if skip else None))
    return found


def without_install_steps(script: str) -> str:
    """Drop venv/pip steps from each line, keeping the rest of a `a && b` chain."""
    lines = []
    for line in script.splitlines():
        parts = line.split("&&")
        kept = [part for part in parts if not INSTALL_STEP.match(part.strip())]
        if len(kept) == len(parts):
            lines.append(line)
        elif kept:
            lines.append(" && ".join(part.strip() for part in kept))
    return "\n".join(lines) + "\n"


def console_commands(code: str) -> str:
    """The `$ ` lines of a terminal transcript (the rest is output)."""
    return "".join(line[2:] + "\n" for line in code.splitlines() if line.startswith("$ "))


def run_block(block: Block, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if block.language in ("bash", "sh", "console"):
        code = console_commands(block.code) if block.language == "console" else block.code
        command = ["bash", "-e", "-c", without_install_steps(code)]
    elif block.language == "python":
        command = [sys.executable, "-c", block.code]
    else:
        rscript = shutil.which("Rscript")
        if rscript is None:
            if os.environ.get("CI"):
                pytest.fail("CI is set but Rscript is missing: the R examples must run in CI")
            pytest.skip("Rscript is not installed (apt-get install r-base-core r-cran-rsqlite r-cran-bit64)")
        command = [rscript, "-e", block.code]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def docs_env(tmp_path_factory: pytest.TempPathFactory, crawlspec_exe: str) -> Iterator[dict[str, str]]:
    """The environment of a reader whose 'real' API is a simulator process."""
    workdir = tmp_path_factory.mktemp("sim")
    proc = subprocess.Popen([crawlspec_exe, "sim", "--port", "0"], cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    assert first.startswith("listening on "), first
    env = dict(os.environ)
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "CRAWLSPEC_API_BASE_URL": first.removeprefix("listening on "),
        "CRAWLSPEC_CLIENT_KEY": "sim-key",
        "CRAWLSPEC_CLIENT_SECRET": "sim-secret",
        "CRAWLSPEC_TODAY": "2024-03-20",
        "PYTHONPATH": "",
    })
    env.pop("CRAWLSPEC_DB_URL", None)
    yield env
    proc.terminate()
    proc.wait(timeout=30)


def run_pages(pages: list[tuple[str, Path]], cwd: Path, env: dict[str, str]) -> list[str]:
    """Run every block of the pages in order; returns the skipped blocks with their reasons."""
    skipped = []
    ran = 0
    for page, path in pages:
        for block in blocks_of(path, page):
            if block.language not in RUN_LANGUAGES:
                continue
            if block.skip_reason:
                skipped.append(f"{page}:{block.line}: {block.skip_reason}")
                continue
            result = run_block(block, cwd, env)
            ran += 1
            assert result.returncode == 0, (
                f"{page}:{block.line} ({block.language}) exited {result.returncode}\n--- code\n{block.code}"
                f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}")
    assert ran > 0
    return skipped


def test_every_example_of_the_documentation_site_runs(tmp_path: Path, docs_env: dict[str, str]) -> None:
    pages = [(page, ROOT / "docs" / page) for page in nav_pages()]
    skipped = run_pages(pages, tmp_path, docs_env)
    print("skipped blocks:", *skipped, sep="\n  ")
    assert len(skipped) <= 3, skipped


def test_every_example_of_the_readme_runs(tmp_path: Path, docs_env: dict[str, str]) -> None:
    run_pages([("README.md", ROOT / "README.md")], tmp_path, docs_env)


def test_the_install_steps_are_the_only_lines_dropped() -> None:
    script = "python3 -m venv .venv && . .venv/bin/activate\npip install . && crawlspec run +spec=demo api=sim\n"
    assert without_install_steps(script) == "crawlspec run +spec=demo api=sim\n"


def test_a_skip_marker_applies_to_the_next_block_only(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("<!-- docs-test: skip (needs a cluster) -->\n```bash\nsrun x\n```\n\n```bash\necho ok\n```\n")
    first, second = blocks_of(page, "p.md")
    assert first.skip_reason == "needs a cluster"
    assert second.skip_reason is None and second.code == "echo ok\n"


def test_the_region_list_of_the_spec_reference_is_the_apis() -> None:
    """The validator's message about an unknown region points at this list: it must be the whole list."""
    from crawlspec.api.regions import REGION_CODES

    text = (ROOT / "docs" / "reference" / "spec.md").read_text(encoding="utf-8")
    section = text.split("\n## Regions\n", 1)[1]
    listed = section.split("```text\n", 1)[1].split("```", 1)[0].split()
    assert sorted(listed) == listed and set(listed) == REGION_CODES and len(listed) == len(REGION_CODES)


def test_the_nightly_spec_shown_in_the_cron_page_is_the_shipped_one() -> None:
    text = (ROOT / "docs" / "cron.md").read_text(encoding="utf-8")
    shown = text.split("# specs/nightly.yaml (shipped)\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(shown) == yaml.safe_load((ROOT / "specs" / "nightly.yaml").read_text(encoding="utf-8"))
