"""No client secret and no access token anywhere: crawls through every path (success, 401 then token
renewal, 500s, retries exhausted, rejected credentials, `--cfg job`, raw archive, `status`, `export`)
with a unique secret, every token the simulator issued recorded; then every byte the crawls left
behind is searched: stdout, stderr, decompressed archives, the database files, exported files."""

from __future__ import annotations

import gzip
import json
import os
import secrets
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.slow  # every test here starts processes

KEY = "leak-test-client-key"
SPEC = """\
name: leak
query:
  include_any_hashtags: [shoes, sneakers]
window: {start: "2024-03-01", end: "2024-03-10", days_per_query: 5}
tags: [leak]
limits: {max_count: 5}
"""


@dataclass
class Evidence:
    """Every secret the run may know, and every text it produced."""

    secrets: set[str] = field(default_factory=set)
    outputs: list[tuple[str, bytes]] = field(default_factory=list)

    def add(self, where: str, data: bytes | str) -> None:
        self.outputs.append((where, data.encode() if isinstance(data, str) else data))

    def add_process(self, name: str, result: subprocess.CompletedProcess) -> None:
        self.add(f"{name} stdout", result.stdout)
        self.add(f"{name} stderr", result.stderr)

    def leaks(self) -> list[str]:
        return [f"{where} contains {form[:12]}..." for where, data in self.outputs
                for value in self.secrets for form in spellings(value) if form.encode() in data]


def spellings(secret: str) -> set[str]:
    """Every form a secret can take on its way out: as typed, escaped the way Hydra records a sweep's
    overrides (`\\:`), percent-encoded in a URL, and each of these inside a JSON string."""
    hydra = "".join("\\" + c if c in "\\()[]{}:=, \t" else c for c in secret)
    plain = {secret, hydra, quote(secret, safe="")}
    return plain | {json.dumps(form)[1:-1] for form in plain}


def record_tokens(sim, evidence: Evidence, *, reject_every: int) -> None:
    """Remember every issued token; refuse every n-th token check (a 401 the client must renew past)."""
    store, issue, is_valid = sim.app.tokens, sim.app.tokens.issue, sim.app.tokens.is_valid
    checks, lock = [0], threading.Lock()

    def issue_and_record() -> str:
        token = issue()
        evidence.secrets.add(token)
        return token

    def sometimes_invalid(token: str | None) -> bool:
        with lock:
            checks[0] += 1
            refuse = checks[0] % reject_every == 0
        return False if refuse else is_valid(token)

    store.issue = issue_and_record
    store.is_valid = sometimes_invalid


@pytest.fixture
def secret() -> str:
    return "leak-secret-" + secrets.token_hex(16)


@pytest.fixture
def workdir(tmp_path: Path, secret: str) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "leak.yaml").write_text(SPEC)
    (tmp_path / "secrets.yaml").write_text(f"client_key: {KEY}\nclient_secret: \"{secret}\"\n")
    return tmp_path


def crawlspec(exe: str, cwd: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, timeout=300)


def clean_env(sim_env: dict) -> dict:
    env = dict(sim_env)
    env.pop("CRAWLSPEC_CLIENT_KEY", None)
    env.pop("CRAWLSPEC_CLIENT_SECRET", None)
    return env


def run_args(sim, db: Path, raw_dir: Path, *extra: str) -> list[str]:
    return ["run", "+spec=leak", f"api.base_url={sim.url}", f"db.url=sqlite:///{db}",
            f"storage.raw_dir={raw_dir}", "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0", *extra]


def collect_files(evidence: Evidence, root: Path) -> None:
    """Every file under root (the secrets file excepted), gzip members decompressed."""
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "secrets.yaml"):
        data = path.read_bytes()
        evidence.add(str(path.relative_to(root)), data)
        if path.suffix == ".gz":
            evidence.add(f"{path.relative_to(root)} (decompressed)", gzip.decompress(data))


def test_no_secret_or_token_in_any_output_of_any_path(crawlspec_exe, start_sim, sim_env, workdir, secret,
                                                      tmp_path):
    sim = start_sim(client_key=KEY, client_secret=secret, fail_rate=0.3, invalid_search_id_rate=0.1)
    evidence = Evidence(secrets={secret})
    record_tokens(sim, evidence, reject_every=4)
    env_vars = {**clean_env(sim_env), "CRAWLSPEC_CLIENT_KEY": KEY, "CRAWLSPEC_CLIENT_SECRET": secret}
    from_file = clean_env(sim_env)
    db, raw = workdir / "crawl.db", workdir / "raw"

    # a complete run (console logs, secret from the environment), then a flaky one (every request gives
    # up at its first 500), then the rest completes with the secret from a secrets file
    ok_env = crawlspec(crawlspec_exe, workdir, env_vars, *run_args(sim, db, raw, "log.format=console",
                                                                    "spec.window.end=2024-03-05"))
    evidence.add_process("run (environment)", ok_env)
    flaky = crawlspec(crawlspec_exe, workdir, env_vars, *run_args(sim, db, raw, "api.retry.max_tries=1",
                                                                   "log.format=json", "log.level=debug"))
    evidence.add_process("flaky run", flaky)
    ok_file = crawlspec(crawlspec_exe, workdir, from_file, *run_args(   # days the flaky run parked: now
        sim, db, raw, "api.credentials_file=secrets.yaml", "log.format=json", "log.level=debug",
        "run.retry_failing=true"))
    evidence.add_process("run (secrets file)", ok_file)
    # rejected credentials: the wrong secret must not be shown either
    wrong = "wrong-secret-" + secrets.token_hex(16)
    evidence.secrets.add(wrong)
    rejected = crawlspec(crawlspec_exe, workdir, {**env_vars, "CRAWLSPEC_CLIENT_SECRET": wrong},
                         *run_args(sim, tmp_path / "other.db", raw, "spec.window.end=2024-03-12"))
    evidence.add_process("rejected run", rejected)
    # the composed config, as printed by `--cfg job`, and the plan
    for name, env in (("--cfg job (environment)", env_vars), ("--cfg job (secrets file)", from_file)):
        shown = crawlspec(crawlspec_exe, workdir, env, "run", "--cfg", "job",
                          *run_args(sim, db, raw, "api.credentials_file=secrets.yaml")[1:])
        evidence.add_process(name, shown)
        assert shown.returncode == 0, shown.stderr[-2000:]
        assert b"credentials_file: secrets.yaml" in shown.stdout
    plan = crawlspec(crawlspec_exe, workdir, from_file, "compile", "+spec=leak", "api.credentials_file=secrets.yaml")
    evidence.add_process("compile", plan)
    assert plan.returncode == 0, plan.stderr[-2000:]
    for args in (["status", "--db", f"sqlite:///{db}"], ["status", "--db", f"sqlite:///{db}", "--json"],
                 ["export", "--db", f"sqlite:///{db}", "--table", "video", "--out", "videos.csv"],
                 ["export", "--db", f"sqlite:///{db}", "--table", "video", "--out", "videos.jsonl"],
                 ["export", "--db", f"sqlite:///{db}", "--table", "video", "--out", "-"]):
        result = crawlspec(crawlspec_exe, workdir, from_file, *args)
        evidence.add_process(" ".join(args[:1] + args[-2:]), result)
        assert result.returncode == 0, result.stderr[-2000:]
    collect_files(evidence, workdir)

    assert flaky.returncode in (0, 1), flaky.stderr[-3000:]   # 0 when split windows recovered every day
    assert ok_env.returncode == 0, ok_env.stderr[-3000:]
    assert ok_file.returncode == 0, ok_file.stderr[-3000:]
    assert rejected.returncode == 77, rejected.stderr[-3000:]
    assert any(b"access_token_renewed_after_401" in run.stderr for run in (flaky, ok_env, ok_file)), \
        "the 401-then-renewal path must have been taken"
    assert b"gave up after 1 attempts" in flaky.stderr, "the retries-exhausted message path must be taken"
    assert sim.stats()["tokens_issued"] >= 3 and len(evidence.secrets) >= 5
    assert list(raw.glob("raw-*.jsonl.gz")), "the raw archive must have been written"
    assert (workdir / "videos.jsonl").stat().st_size > 0
    assert evidence.leaks() == []


# ---- sweeps: a database password typed as an override ---------------------------------------------

LAUNCHERS = {"basic": (), "joblib": ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")}
SWEEP = ("run", "-m", "+spec=demo", "api=sim", "spec.window.end=2024-03-03", "spec.query.regions=[US],[FR]")


def with_password(url: str, password: str) -> str:
    """The test server's URL with a password added; a ':' in it stays as typed (trust auth takes any)."""
    head, _, rest = url.partition("://")
    user, _, host = rest.partition("@")
    return f"{head}://{user.split(':')[0]}:{password}@{host}"


def json_events(stderr: bytes) -> list[dict]:
    return [json.loads(line) for line in stderr.decode().splitlines()]   # every line must be JSON


def sweep_header(result: subprocess.CompletedProcess) -> str:
    """The first line of the table a console sweep ends with."""
    return next(line for line in result.stderr.decode().splitlines() if line.startswith("sweep: "))


def masked_db_override(overrides: list[str]) -> str:
    (db,) = [o for o in overrides if o.startswith("db.url=")]
    assert "***@" in db, db
    return db


@pytest.mark.slow
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_a_sweep_never_shows_a_database_password(crawlspec_exe, tmp_path, launcher):
    from conftest import pg_database, pg_server_url

    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    password = f"leak:pw-{secrets.token_hex(8)}"   # ':' is escaped by Hydra in a sweep job's overrides
    evidence = Evidence(secrets={password})
    env = clean_env(dict(os.environ))
    argv = (*SWEEP, *LAUNCHERS[launcher])

    def sweep(*extra: str) -> subprocess.CompletedProcess:
        result = crawlspec(crawlspec_exe, tmp_path, env, *argv, *extra)
        evidence.add_process(" ".join(extra), result)
        return result

    with pg_database(pg_server_url(), prefix="leak") as url:
        db_url = with_password(url, password)
        as_json = sweep(f"db.url={db_url}", "log.format=json")
        console = sweep(f"db.url={db_url}", "log.format=console", "run.refetch=true")
        exports = [crawlspec(crawlspec_exe, tmp_path, env, "export", "--db", db_url, "--table", "crawl", "--out", out)
                   for out in ("crawl.jsonl", "crawl.csv")]
        for result in exports:
            evidence.add_process("export --table crawl", result)
        evidence.add_process("status", crawlspec(crawlspec_exe, tmp_path, env, "status", "--db", db_url))
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            stored = [row[0] for row in conn.execute(sa.text("SELECT overrides FROM crawl ORDER BY id"))]
        engine.dispose()
    unreachable = sweep(f"db.url=postgresql://crawler:{password}@127.0.0.1:1/gone", "log.format=console")
    secret_key = sweep(f"+api.client_secret={password}", f"db.url=sqlite:///{tmp_path / 'x.db'}", "log.format=json")
    evidence.add("crawl.overrides", json.dumps(stored))
    collect_files(evidence, tmp_path)

    assert as_json.returncode == 0, as_json.stderr[-3000:]
    assert console.returncode == 0, console.stderr[-3000:]
    assert all(r.returncode == 0 for r in exports), [r.stderr[-500:] for r in exports]
    assert len(stored) == 4 and all(masked_db_override(o) for o in stored)
    assert masked_db_override(json.loads((tmp_path / "crawl.jsonl").read_text().splitlines()[0])["overrides"])
    events = json_events(as_json.stderr)
    for summary in [e for e in events if e["event"] == "run_summary"]:
        masked_db_override(summary["overrides"])
    (table,) = [e for e in events if e["event"] == "sweep_summary"]
    assert all(masked_db_override(job["overrides"]) for job in table["jobs"])
    assert masked_db_override(sweep_header(console).split())
    assert unreachable.returncode == 75 and "db.url=postgres" in sweep_header(unreachable)
    assert masked_db_override(sweep_header(unreachable).split())
    assert unreachable.stderr.count(b"crawler:***@127.0.0.1:1/gone") == 2, unreachable.stderr[-3000:]
    assert secret_key.returncode == 2, secret_key.stderr[-3000:]
    (table,) = [e for e in json_events(secret_key.stderr) if e["event"] == "sweep_summary"]
    assert all("+api.client_secret=***" in job["overrides"] for job in table["jobs"])
    assert evidence.leaks() == []


@pytest.mark.slow
def test_the_printed_configuration_masks_every_secret_override(crawlspec_exe, tmp_path):
    password = f"cfg:pw-{secrets.token_hex(8)}"
    result = crawlspec(crawlspec_exe, tmp_path, clean_env(dict(os.environ)), "run", "--cfg", "job", "+spec=demo",
                       f"+api.client_secret={password}", f"+storage.mirror=postgresql://u:{password}@db/mirror",
                       f"db.url=postgresql://u:{password}@db/crawls")
    evidence = Evidence(secrets={password})
    evidence.add_process("--cfg job", result)

    assert result.returncode == 0, result.stderr[-3000:]
    assert b"client_secret: '***'" in result.stdout and b"mirror: postgresql://u:***@db/mirror" in result.stdout
    assert evidence.leaks() == []
