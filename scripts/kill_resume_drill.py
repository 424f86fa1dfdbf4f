"""Kill-and-resume drill: SIGKILL a real `crawlspec run` at random moments, then compare.

Starts a seeded simulator (optionally with faults), runs a crawl as a subprocess, kills it with
SIGKILL N times at random points (while a request is in flight, while a page commits, ...), lets the
last run finish, then compares the database with the dumped corpus and the simulator's request
counts with the minimum the API allows. Prints lost / duplicated / unexpected rows and extra requests
per kill; exits 1 if anything was lost or duplicated.

    python scripts/kill_resume_drill.py --kills 20
    python scripts/kill_resume_drill.py --kills 20 --faults
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from crawlspec.sim import SimOptions, start_simulator

VIDEO_PATH = "/v2/research/video/query/"
KEY, SECRET = "drill-key", "drill-secret-0a9b8c"
TAGS = ["shoes", "sneakers", "fashion", "food"]
START, END, DAYS_PER_QUERY = date(2024, 3, 1), date(2024, 3, 31), 7


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--faults", action="store_true",
                        help="inject 500s (10%%), invalid search ids (10%%) and deleted videos (5%%)")
    parser.add_argument("--videos", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--db", default=None, help="database URL (default: a SQLite file in a temp dir)")
    return parser.parse_args()


def spec_text() -> str:
    return (f"name: drill\nquery:\n  include_any_hashtags: {json.dumps(TAGS)}\n"
            f"window: {{start: '{START}', end: '{END}', days_per_query: {DAYS_PER_QUERY}}}\ntags: [drill]\n")


def windows() -> list[tuple[str, str]]:
    out, day = [], START
    while day <= END:
        last = min(END, date.fromordinal(day.toordinal() + DAYS_PER_QUERY - 1))
        out.append((day.isoformat(), last.isoformat()))
        day = date.fromordinal(last.toordinal() + 1)
    return out


def corpus_matches(dump: Path) -> list[tuple[str, int, bool]]:
    """(day, id, deleted) of every corpus video the drill's query matches."""
    wanted, rows = set(TAGS), []
    with open(dump, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record["kind"] != "video":
                continue
            video = record["data"]
            if {t.lower() for t in video.get("hashtag_names", [])} & wanted:
                day = datetime.fromtimestamp(video["create_time"], timezone.utc).date().isoformat()
                if START.isoformat() <= day <= END.isoformat():
                    rows.append((day, video["id"], bool(record.get("deleted"))))
    return rows


def minimum_requests(matches: list[tuple[str, int, bool]]) -> int:
    """Pages needed: per window, every match (deleted ones count toward the cursor) / 100, at least 1."""
    total = 0
    for first, last in windows():
        n = sum(1 for day, _id, _deleted in matches if first <= day <= last)
        total += max(1, -(-n // 100))
    return total


def crawl_command(sim_url: str, db_url: str) -> list[str]:
    exe = shutil.which("crawlspec", path=str(Path(sys.executable).parent)) or "crawlspec"
    return [exe, "run", "+spec=drill", f"api.base_url={sim_url}", "api.credentials_file=null",
            f"db.url={db_url}", "api.retry.base_wait_s=0.05", "api.retry.search_id_wait_s=0.05",
            "log.format=json"]


def video_requests(sim) -> int:
    return sim.stats()["requests"].get(VIDEO_PATH, 0)


def kill_once(cmd: list[str], cwd: Path, env: dict, sim, rng: random.Random) -> bool:
    """Start a run and SIGKILL it after a random number of further requests (plus a random delay
    that often lands mid-commit). False if the run finished before the kill."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = video_requests(sim) + rng.randint(1, 4)
    while video_requests(sim) < target:
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    time.sleep(rng.uniform(0, 0.05))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def main() -> int:
    args = parse_args()
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="crawlspec-drill-"))
    (workdir / "specs").mkdir()
    (workdir / "specs" / "drill.yaml").write_text(spec_text())
    db_url = args.db or f"sqlite:///{workdir / 'drill.db'}"
    faults = dict(fail_rate=0.1, invalid_search_id_rate=0.1, deleted_rate=0.05) if args.faults else {}
    options = SimOptions(seed=args.seed, videos=args.videos, start=START, days=31, client_key=KEY,
                         client_secret=SECRET, latency_ms=args.latency_ms, daily_quota=1_000_000, **faults)
    env = {**__import__("os").environ, "CRAWLSPEC_CLIENT_KEY": KEY, "CRAWLSPEC_CLIENT_SECRET": SECRET}
    with start_simulator(options, host="127.0.0.1", port=0) as sim:
        dump = workdir / "corpus.jsonl"
        sim.dump_corpus(dump)
        matches = corpus_matches(dump)
        expected = {vid for _day, vid, deleted in matches if not deleted}
        cmd = crawl_command(sim.url, db_url)
        kills = sum(kill_once(cmd, workdir, env, sim, rng) for _ in range(args.kills))
        final = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
        stats = sim.stats()
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = [r[0] for r in conn.execute(sa.text("SELECT id FROM video"))]
        link_rows = conn.execute(sa.text("SELECT count(*) FROM videos_to_crawl_tags")).scalar_one()
    engine.dispose()
    stored = set(rows)
    requests = stats["requests"].get(VIDEO_PATH, 0)
    minimum = minimum_requests(matches)
    report = {
        "kills": kills, "faults": bool(faults), "final_exit_code": final.returncode,
        "expected_videos": len(expected), "stored_videos": len(stored),
        "lost": len(expected - stored), "duplicated": len(rows) - len(stored) + max(0, link_rows - len(stored)),
        "unexpected": len(stored - expected),
        "video_requests": requests, "minimum_requests": minimum,
        "extra_requests": requests - minimum,
        "extra_requests_per_kill": round((requests - minimum) / kills, 2) if kills else None,
        "faults_injected": stats.get("faults"),
    }
    print(json.dumps(report, indent=2))
    if final.returncode != 0:
        print(final.stderr[-2000:], file=sys.stderr)
    shutil.rmtree(workdir, ignore_errors=True)
    bad = report["lost"] or report["duplicated"] or report["unexpected"] or final.returncode != 0
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
