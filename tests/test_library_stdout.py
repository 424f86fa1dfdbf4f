"""Used as a library, crawlspec writes nothing on stdout: a script's own output stays parseable."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import SIM_KEY, SIM_SECRET

SCRIPT = textwrap.dedent("""
    import json, sys
    from datetime import datetime
    from pathlib import Path
    import sqlalchemy as sa
    from crawlspec.spec.query import VideoQuery, Cond, Fields, Op
    from crawlspec.api_client import ApiClientConfig, TikTokApiClient, VideoQueryConfig

    engine = sa.create_engine("sqlite:///lib.db")
    query = VideoQuery(and_=[Cond(Fields.hashtag_name, "sneakers", Op.EQ)])
    client = TikTokApiClient.from_config(ApiClientConfig(
        engine=engine, api_credentials_file=Path("./secrets.yaml"), api_base_url=sys.argv[1]))
    config = VideoQueryConfig(query=query, start_date=datetime.fromisoformat("2024-03-01"),
                              end_date=datetime.fromisoformat("2024-03-02"), fetch_comments=True)
    stored = client.fetch_and_store_all(config)
    print(json.dumps({"videos": stored.data["videos_stored"]}))
""")


@pytest.mark.slow
def test_library_script_prints_only_its_own_output_on_stdout(start_sim, tmp_path: Path):
    sim = start_sim(videos=2000)
    (tmp_path / "secrets.yaml").write_text(f"client_secret: {SIM_SECRET}\nclient_key: {SIM_KEY}\n")
    (tmp_path / "example.py").write_text(SCRIPT)
    done = subprocess.run([sys.executable, "example.py", sim.url], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    assert json.loads(lines[0])["videos"] > 0
    assert "page" in done.stderr or "request" in done.stderr, "the log lines went to stderr"
    assert SIM_SECRET not in done.stderr


def test_library_events_go_through_logging_when_the_host_configures_it(caplog, capsys):
    from crawlspec.logs import _configure_library_default, get_logger

    _configure_library_default()
    with caplog.at_level(logging.INFO, logger="crawlspec"):
        get_logger("crawlspec").info("hello_from_library", answer=42)
    assert any("hello_from_library" in r.getMessage() for r in caplog.records)
    assert "hello_from_library" not in capsys.readouterr().out
