"""Start-up cost of commands: wall time of the installed `crawlspec` executable and the modules each
command imports (and whether Hydra is among them: `status` and `export` must not import it).

Wall time is the best of --repeat runs of the real console script (a fresh interpreter each time).
Modules are counted in a separate child that runs `crawlspec.cli.entry.main` with the same arguments and
reports `sys.modules` when it exits.

    python scripts/bench_startup.py
    python scripts/bench_startup.py --repeat 10
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crawlspec.storage.database import open_database

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("compile", "+spec=shoes"),
    ("status",),
    ("export", "--help"),
    ("--help",),
)
MODULES_CHILD = """\
import atexit, json, sys
from crawlspec.cli.entry import main

REPORT = sys.argv[1]

def report():
    names = set(sys.modules)
    with open(REPORT, "w") as fh:
        json.dump({"modules": len(names), "hydra": any(n == "hydra" or n.startswith("hydra.") for n in names),
                   "omegaconf": "omegaconf" in names, "sqlalchemy": "sqlalchemy" in names}, fh)

atexit.register(report)
sys.argv = ["crawlspec", *sys.argv[2:]]
raise SystemExit(main(sys.argv[1:]))
"""


def crawlspec_exe() -> str:
    return shutil.which("crawlspec", path=str(Path(sys.executable).parent)) or "crawlspec"


def best_wall_time(args: tuple[str, ...], cwd: Path, repeat: int) -> tuple[float, int]:
    best, code = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        code = subprocess.run([crawlspec_exe(), *args], cwd=cwd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode
        best = min(best, time.perf_counter() - started)
    return best, code


def imported(args: tuple[str, ...], cwd: Path) -> dict:
    report = cwd / "modules.json"
    subprocess.run([sys.executable, "-c", MODULES_CHILD, str(report), *args], cwd=cwd,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(report.read_text())


def baseline(repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"])
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"python -c pass: {baseline(args.repeat) * 1000:.0f} ms (interpreter start-up alone)")
    print(f"{'command':<32} {'exit':>4} {'wall ms':>8} {'modules':>8} {'hydra':>6} {'omegaconf':>9} {'sqlalchemy':>10}")
    failures = []
    with tempfile.TemporaryDirectory(prefix="crawlspec-bench-startup-") as tmp:
        cwd = Path(tmp)
        open_database(f"sqlite:///{cwd / 'crawlspec.db'}").dispose()   # status reads a real (empty) database
        for command in COMMANDS:
            wall, code = best_wall_time(command, cwd, args.repeat)
            seen = imported(command, cwd)
            label = "crawlspec " + " ".join(command)
            print(f"{label:<32} {code:>4} {wall * 1000:>8.0f} {seen['modules']:>8} {str(seen['hydra']):>6} "
                  f"{str(seen['omegaconf']):>9} {str(seen['sqlalchemy']):>10}")
            if command[0] in ("status", "export") and seen["hydra"]:
                failures.append(f"{label} imported Hydra")
    for failure in failures:
        print(f"TARGET MISSED: {failure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
