"""Plumbing of the model-based test (tests/e2e/test_model_based.py, scripts/model_drill.py): a standalone
`crawlspec sim` process driven over HTTP, the corpus dump as the oracle, and `crawlspec run`
subprocesses that finish or are SIGKILLed after a given number of API requests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from crawlspec.text import storable

KEY, SECRET = "model-key", "model-secret-5d2e"
TOKEN_PATH = "/v2/oauth/token/"
VIDEO_PATH = "/v2/research/video/query/"
USER_INFO_PATH = "/v2/research/user/info/"
LISTS = ("liked_videos", "pinned_videos", "reposted_videos", "followers", "following")
LIST_PATHS = {name: f"/v2/research/user/{name}/" for name in LISTS}
FOLLOW_LISTS = ("followers", "following")
HASHTAG = "fyp"
CORPUS_START = date(2024, 3, 1)
DAILY_QUOTA = 25
MAX_TRIES = 4          # client attempts per request: a burst of at most MAX_TRIES - 1 errors is retried past
FIRST_DAY = date(2030, 1, 1)   # far after the corpus: every crawled day is outside the API's index lag
SIM_ARGS = ["--seed", "7", "--videos", "3000", "--start", CORPUS_START.isoformat(), "--days", "31",
            "--daily-quota", str(DAILY_QUOTA), "--deleted-rate", "0.05", "--latency-ms", "10",
            "--today", FIRST_DAY.isoformat(), "--client-key", KEY, "--client-secret", SECRET]


class SimProcess:
    """One `crawlspec sim` process for the whole session; its counters only ever grow."""

    def __init__(self, exe: str, workdir: Path) -> None:
        self.dump = workdir / "corpus.jsonl"
        self.proc = subprocess.Popen([exe, "sim", "--port", "0", "--dump-corpus", str(self.dump), *SIM_ARGS],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"crawlspec sim did not start: {line!r}")
        self.url = line.split()[-1]

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stats(self) -> dict:
        return self._call("GET", "/_sim/stats")

    def advance_day(self) -> date:
        return date.fromisoformat(self._call("POST", "/_sim/advance-day")["day"])

    def fault_burst(self, server_errors: int) -> None:
        self._call("POST", "/_sim/faults", {"server_errors": server_errors})

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def api_requests(stats: dict) -> int:
    """Research requests the simulator received (token requests are free)."""
    return sum(n for path, n in stats["requests"].items() if path != TOKEN_PATH)


def day_of(create_time: int) -> date:
    return datetime.fromtimestamp(create_time, timezone.utc).date()


def pages_for(records: int) -> int:
    return max(1, -(-records // 100))


class Oracle:
    """What the corpus dump says a crawl must store."""

    def __init__(self, dump: Path) -> None:
        self.matches: dict[date, dict[int, bool]] = {}      # day -> {video id: deleted}
        self.hashtags: dict[int, set[str]] = {}
        self.lists: dict[tuple[str, str], dict] = {}
        self.found_users: set[str] = set()
        with open(dump, encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                kind, data = record["kind"], record["data"]
                if kind == "video":
                    names = [storable(n) for n in data.get("hashtag_names", [])]
                    if HASHTAG in {n.lower() for n in names}:
                        self.matches.setdefault(day_of(data["create_time"]), {})[data["id"]] = record["deleted"]
                        self.hashtags[data["id"]] = set(names)
                elif kind == "user":
                    self.found_users.add(record["username"].lower())
                elif kind == "user_list":
                    self.lists[(record["username"].lower(), data["list"])] = data
        self.users = self._pick_users()

    def _pick_users(self) -> list[str]:
        """Three users covering the paths: a multi-page liked list, hidden likes, many followers."""
        def first(test) -> str:
            return next(user for (user, kind) in sorted(self.lists) if kind == "liked_videos" and test(user))
        many_likes = first(lambda u: len(self.lists[(u, "liked_videos")]["items"]) > 100)
        hidden = first(lambda u: not self.lists[(u, "liked_videos")]["available"])
        popular = first(lambda u: len(self.lists[(u, "followers")]["items"]) > 200 and u not in (many_likes, hidden))
        return sorted({many_likes, hidden, popular})

    def live(self, days: set[date]) -> set[int]:
        return {vid for d in days for vid, deleted in self.matches.get(d, {}).items() if not deleted}

    def window_pages(self, start: date, end: date) -> int:
        days = (start + timedelta(n) for n in range((end - start).days + 1))
        return pages_for(sum(len(self.matches.get(d, {})) for d in days))

    def list_items(self, user: str, name: str) -> set:
        return {item if isinstance(item, int) else item["username"] for item in self.lists[(user, name)]["items"]}

    def list_pages(self, user: str, name: str) -> int:
        record = self.lists[(user, name)]
        if name == "pinned_videos" or not record["available"]:
            return 1
        return pages_for(len(record["items"]))

    def users_minimum(self, days_with_runs: int) -> int:
        """An upper bound of what the users spec needs: each available list's pages once, each found user's
        info once; a refused list or user is asked again on each new day a users run started."""
        once = sum(self.list_pages(u, n) for u in self.users for n in LISTS if self.lists[(u, n)]["available"])
        once += sum(1 for u in self.users if u in self.found_users)
        daily = sum(1 for u in self.users for n in LISTS if not self.lists[(u, n)]["available"])
        daily += sum(1 for u in self.users if u not in self.found_users)
        return once + daily * days_with_runs


@dataclass
class RunResult:
    spec: str
    exit_code: int | None       # None: killed
    requests: int               # research requests the simulator received during the run
    faults: int                 # injected 500s among them (each is retried: one extra request)
    stderr: str = ""


@dataclass
class Workspace:
    """A sequence's working directory, database and simulator; writes the two specs and runs them."""

    exe: str
    sim: SimProcess
    workdir: Path
    db_url: str
    today: date
    users: list[str]
    window: tuple[date, date, int | str] = (date(2024, 3, 1), date(2024, 3, 5), 3)

    def __post_init__(self) -> None:
        (self.workdir / "specs").mkdir(parents=True, exist_ok=True)
        names = ", ".join(json.dumps(u) for u in self.users)
        (self.workdir / "specs" / "people.yaml").write_text(
            f"name: people\nusers: {{names: [{names}], info: true, liked_videos: true, pinned_videos: true, "
            "reposted_videos: true, followers: true, following: true}\ntags: [people]\n", encoding="utf-8")
        self.set_window(*self.window)

    def set_window(self, start: date, end: date, days_per_query: int | str) -> None:
        self.window = (start, end, days_per_query)
        (self.workdir / "specs" / "model.yaml").write_text(
            f"name: model\nquery: {{include_any_hashtags: [{HASHTAG}]}}\n"
            f"window: {{start: '{start}', end: '{end}', days_per_query: {days_per_query}}}\ntags: [model]\n",
            encoding="utf-8")

    def command(self, spec: str) -> list[str]:
        return [self.exe, "run", f"+spec={spec}", f"api.base_url={self.sim.url}", "api.credentials_file=null",
                f"db.url={self.db_url}", "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0",
                f"api.retry.max_tries={MAX_TRIES}", "api.on_quota_exhausted=exit",
                f"api.daily_quota={DAILY_QUOTA}", "log.format=json"]

    def _env(self) -> dict[str, str]:
        return {**os.environ, "CRAWLSPEC_CLIENT_KEY": KEY, "CRAWLSPEC_CLIENT_SECRET": SECRET,
                "CRAWLSPEC_TODAY": self.today.isoformat()}

    def run(self, spec: str, kill_after: int | None = None) -> RunResult:
        """Run `spec` to its end, or SIGKILL it once the simulator has received `kill_after` more requests."""
        before = self.sim.stats()
        proc = subprocess.Popen(self.command(spec), cwd=self.workdir, env=self._env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        killed = False
        if kill_after is not None:
            target = api_requests(before) + kill_after
            deadline = time.monotonic() + 120
            while proc.poll() is None:
                if api_requests(self.sim.stats()) >= target:
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                    break
                if time.monotonic() > deadline:
                    proc.kill()
                    raise AssertionError(f"{spec}: no progress in 120 s")
                time.sleep(0.003)
        _out, err = proc.communicate(timeout=300)
        after = self.sim.stats()
        faults = after["faults"].get("server_error", 0) - before["faults"].get("server_error", 0)
        return RunResult(spec, None if killed else proc.returncode, api_requests(after) - api_requests(before),
                         faults, err or "")
