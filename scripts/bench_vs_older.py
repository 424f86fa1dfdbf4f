"""`bench_pipeline.py --vs-older`: crawlspec vs the older tool (tiktok-research-api-helper 0.1.3) vs a bare
`requests` loop, the same pages of one simulator, each a whole subprocess, best of N interleaved rounds."""

from __future__ import annotations

import compileall
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from crawlspec.sim import SimOptions, start_simulator

OLDER_PACKAGE = "tiktok-research-api-helper==0.1.3"
KEY, SECRET = "bench-key", "bench-secret-51ce"
VIDEO_PATH = "/v2/research/video/query/"
FIRST, LAST = "2024-03-01", "2024-03-30"
QUERY_JSON = ('{"and": [{"operation": "IN", "field_name": "video_length", '
              '"field_values": ["SHORT", "MID", "LONG", "EXTRA_LONG"]}]}')
SPEC = f"""\
name: versus
query:
  raw:
    and: [{{operation: IN, field_name: video_length, field_values: [SHORT, MID, LONG, EXTRA_LONG]}}]
window: {{start: "{FIRST}", end: "{LAST}", days_per_query: 30}}
"""
FIELDS = ("id,video_description,create_time,region_code,share_count,view_count,like_count,comment_count,"
          "music_id,hashtag_names,username,effect_ids,playlist_id,voice_to_text")

# The bare loop: token, then every page of the window (the same body the older tool sends), JSON decoded.
BARE_LOOP = """
import json, sys, requests
base, key, secret, first, last, query, fields = sys.argv[1:]
session = requests.Session()
token = session.post(base + "/v2/oauth/token/", data={"client_key": key, "client_secret": secret,
                     "grant_type": "client_credentials"}).json()["access_token"]
session.headers.update({"Authorization": "Bearer " + token, "Content-Type": "application/json"})
url = base + "/v2/research/video/query/?fields=" + fields
body = {"query": json.loads(query), "start_date": first, "end_date": last, "max_count": 100}
videos = 0
while True:
    data = session.post(url, data=json.dumps(body)).json()["data"]
    videos += len(data["videos"])
    if not data["has_more"]:
        break
    body.update(cursor=data["cursor"], search_id=data["search_id"])
print(videos)
"""

# The older tool, pointed at the simulator: it has no base-URL setting, but it accepts the two
# `requests` sessions it uses (token and API); ours rewrite https://open.tiktokapis.com to the simulator.
OLDER_DRIVER = """
import json, sys
from datetime import date
from pathlib import Path
import requests
from tiktok_research_api_helper import api_client as ac
from tiktok_research_api_helper.models import get_engine_and_create_tables

base, key, secret, first, last, query, db_url = sys.argv[1:]
OFFICIAL = "https://open.tiktokapis.com"

class SimulatorSession(requests.Session):
    def request(self, method, url, *args, **kwargs):
        if url.startswith(OFFICIAL):
            url = base + url[len(OFFICIAL):]
        return super().request(method, url, *args, **kwargs)

request_client = ac.TikTokApiRequestClient(credentials=ac.TikTokCredentials(client_secret=secret, client_key=key),
                                           access_token_fetcher_session=SimulatorSession(),
                                           api_request_session=SimulatorSession())
config = ac.ApiClientConfig(api_credentials_file=Path("unused"), engine=get_engine_and_create_tables(db_url))
client = ac.TikTokApiClient(request_client=request_client, config=config)
client.fetch_and_store_all(ac.VideoQueryConfig(query=json.loads(query), start_date=date.fromisoformat(first),
                                               end_date=date.fromisoformat(last)))
"""


def crawlspec_exe() -> str:
    return shutil.which("crawlspec", path=str(Path(sys.executable).parent)) or "crawlspec"


def byte_compile_crawlspec() -> None:
    """Write crawlspec's bytecode as installing a wheel does (the older tool's pip install did the same for
    it): with PYTHONDONTWRITEBYTECODE set, or a read-only source tree, every run would otherwise compile
    the package's 150 modules from source first."""
    import crawlspec
    import hydra_plugins.crawlspec_plugins as plugins

    for package in (crawlspec, plugins):
        for folder in package.__path__:
            compileall.compile_dir(folder, quiet=1)


def older_python(older_venv: Path | None, workdir: Path) -> Path:
    """The python of a virtualenv holding the older tool (installed from PyPI when new)."""
    location = older_venv or workdir / "older-venv"
    python = location / "bin" / "python"
    if not python.exists():
        venv.create(location, with_pip=True)
    probe = subprocess.run([str(python), "-c", "import tiktok_research_api_helper"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", OLDER_PACKAGE], check=True)
    return python


def stored_videos(db_url: str) -> int:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM video")).scalar_one()
    engine.dispose()
    return int(count)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the subprocess: user + system)."""
    started, cpu_before = time.perf_counter(), children_cpu()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - started, children_cpu() - cpu_before
    if result.returncode != 0:
        raise SystemExit(f"{args[0]} failed ({result.returncode}): {result.stderr[-2000:]}")
    return elapsed, cpu


def compare_with_older(*, videos: int, repeat: int, older_venv: Path | None) -> list[dict]:
    workdir = Path(tempfile.mkdtemp(prefix="crawlspec-vs-older-"))
    (workdir / "specs").mkdir()
    (workdir / "specs" / "versus.yaml").write_text(SPEC)
    older = older_python(older_venv, workdir)
    byte_compile_crawlspec()
    env = {**os.environ, "CRAWLSPEC_CLIENT_KEY": KEY, "CRAWLSPEC_CLIENT_SECRET": SECRET}
    options = SimOptions(seed=5, videos=videos, start=date(2024, 3, 1), days=30, client_key=KEY,
                         client_secret=SECRET, daily_quota=1_000_000)
    best: dict[str, float] = {}
    best_cpu: dict[str, float] = {}   # the client's own CPU (the simulator's is the same for all three)
    counts: dict[str, tuple[int, int]] = {}
    with start_simulator(options, host="127.0.0.1", port=0) as sim:
        first, last = FIRST.replace("-", ""), LAST.replace("-", "")

        def db(name: str, round_no: int) -> str:
            return f"sqlite:///{workdir / f'{name}-{round_no}.db'}"

        runners: dict[str, Callable[[int], tuple[tuple[float, float], int]]] = {
            "bare requests loop": lambda n: (timed([sys.executable, "-c", BARE_LOOP, sim.url, KEY, SECRET, first,
                                                    last, QUERY_JSON, FIELDS], workdir, env), 0),
            "crawlspec run": lambda n: (timed([crawlspec_exe(), "run", "+spec=versus", f"api.base_url={sim.url}",
                                               "api.credentials_file=null", f"db.url={db('crawlspec', n)}",
                                               "log.format=json"], workdir, env), stored_videos(db("crawlspec", n))),
            "older fetch_and_store_all": lambda n: (timed([str(older), "-c", OLDER_DRIVER, sim.url, KEY, SECRET,
                                                           FIRST, LAST, QUERY_JSON, db("older", n)], workdir, env),
                                                    stored_videos(db("older", n))),
        }
        for round_no in range(repeat):
            for name, run in runners.items():
                before = sim.stats()["requests"].get(VIDEO_PATH, 0)
                (seconds, cpu), stored = run(round_no)
                pages = sim.stats()["requests"].get(VIDEO_PATH, 0) - before
                best[name] = min(best.get(name, seconds), seconds)
                best_cpu[name] = min(best_cpu.get(name, cpu), cpu)
                counts[name] = (pages, stored)
    shutil.rmtree(workdir, ignore_errors=True)
    rows: list[dict] = [{"client": name, "pages": counts[name][0], "videos_stored": counts[name][1],
                         "best_seconds": round(best[name], 2), "best_cpu_seconds": round(best_cpu[name], 2)}
                        for name in runners]
    older, ours, bare = "older fetch_and_store_all", "crawlspec run", "bare requests loop"
    rows.append({"older / crawlspec": round(best[older] / best[ours], 2),
                 "crawlspec / bare loop": round(best[ours] / best[bare], 2),
                 "cpu: older / crawlspec": round(best_cpu[older] / best_cpu[ours], 2),
                 "cpu: crawlspec / bare loop": round(best_cpu[ours] / best_cpu[bare], 2),
                 "videos": videos, "rounds": repeat})
    return rows
