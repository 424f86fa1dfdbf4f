"""Model-based drill: the long version of tests/e2e/test_model_based.py.

Hypothesis draws `--sequences` sequences of steps (runs of a video spec and of a users spec, SIGKILLs
after a drawn number of API requests, bursts of injected 500s, quota exhaustion, day changes, window
changes) against one `crawlspec sim` process and a fresh database per sequence (a SQLite file, or a
PostgreSQL database with --pg-url). Every invariant is checked after every step and after each
sequence's completion; violations are recorded (not raised) so the drill goes on, and it prints what it
measured. Exits 1 if any invariant was violated.

    python scripts/model_drill.py --sequences 1000
    python scripts/model_drill.py --sequences 50 --minutes 30 --pg-url postgresql://USER@HOST:PORT/DB
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402
from support.databases import pg_database  # noqa: E402
from support.model_harness import Oracle, SimProcess  # noqa: E402
from support.model_machine import ModelEnv, machine_for  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequences", type=int, default=1000, help="sequences to draw (default 1000)")
    parser.add_argument("--steps", type=int, default=6, help="steps per sequence at most (default 6)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop starting new sequences after this many minutes (default: no limit)")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server URL (default: SQLite files)")
    return parser.parse_args()


def crawlspec_exe() -> str:
    found = shutil.which("crawlspec", path=str(Path(sys.executable).parent)) or shutil.which("crawlspec")
    if not found:
        raise SystemExit("the `crawlspec` console script is not installed: pip install -e '.[test]'")
    return found


@contextlib.contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    yield f"sqlite:///{workdir / 'model.db'}"


def summary(env: ModelEnv, elapsed: float, args: argparse.Namespace) -> dict:
    s = env.stats
    video_extra = s.video_requests - s.video_minimum - s.video_faults
    return {
        "command": " ".join(["python", "scripts/model_drill.py", *sys.argv[1:]]),
        "backend": "postgresql" if args.pg_url else "sqlite",
        "sequences": s.sequences, "steps": s.steps, "runs": s.runs, "kills": s.kills,
        "fault_bursts": s.bursts, "injected_500s_received": s.faults, "requests": s.requests,
        "video_requests": s.video_requests, "video_minimum": s.video_minimum,
        "video_injected_500s": s.video_faults, "video_kills": s.video_kills,
        "video_requests_over_minimum_and_500s": video_extra,
        "video_extra_per_kill": round(video_extra / s.video_kills, 2) if s.video_kills else None,
        "users_requests": s.users_requests, "users_upper_bound_without_kills_and_faults": s.users_bound,
        "ledger_reserved_but_not_received": s.ledger_over_sim,
        "violations": len(s.violations), "elapsed_s": round(elapsed, 1),
    }


def main() -> int:
    args = parse_args()
    root = Path(tempfile.mkdtemp(prefix="crawlspec-model-"))
    exe = crawlspec_exe()
    sim = SimProcess(exe, root)
    started = time.monotonic()
    try:
        if args.pg_url:
            def database(_workdir: Path) -> contextlib.AbstractContextManager[str]:
                return pg_database(args.pg_url, prefix="model")
        else:
            database = sqlite_database
        env = ModelEnv(exe, sim, Oracle(sim.dump), root, database, strict=False, verbose=True,
                       deadline=started + args.minutes * 60 if args.minutes else None)
        run_state_machine_as_test(machine_for(env), settings=settings(
            max_examples=args.sequences, stateful_step_count=args.steps, deadline=None, derandomize=True,
            database=None, suppress_health_check=list(HealthCheck)))
    finally:
        sim.stop()
        shutil.rmtree(root, ignore_errors=True)
    report = summary(env, time.monotonic() - started, args)
    print(json.dumps(report, indent=2))
    for text in env.stats.violations[:5]:
        print("violation:\n" + text, file=sys.stderr)
    return 1 if env.stats.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
