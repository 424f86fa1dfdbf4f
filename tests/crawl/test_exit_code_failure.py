"""Exit code 1: an API error that retrying cannot fix fails its window; the run says
which window, with the API's log_id, and `status` lists the failed window."""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test here starts processes

SPEC = "name: forbidden\nquery: {include_any_hashtags: [shoes]}\nwindow: {start: '2024-03-01', end: '2024-03-02'}\n"


class ForbiddingApi(BaseHTTPRequestHandler):
    """Issues tokens, answers every video query with a 403 that no retry can fix."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/v2/oauth/token/"):
            self._send(200, {"access_token": "clt.stub-token", "expires_in": 7200, "token_type": "Bearer"})
        else:
            self._send(403, {"error": {"code": "access_denied", "message": "not allowed for this project",
                                       "log_id": "20240101000000STUBLOGID"}})

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def forbidding_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ForbiddingApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_fatal_api_error_fails_the_window_with_exit_1_and_its_log_id(crawlspec_exe, forbidding_api, sim_env,
                                                                       tmp_path: Path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "forbidden.yaml").write_text(SPEC)
    db_url = f"sqlite:///{tmp_path / 'x.db'}"
    result = subprocess.run([crawlspec_exe, "run", "+spec=forbidden", f"api.base_url={forbidding_api}",
                             "api.credentials_file=null", f"db.url={db_url}", "log.format=json"],
                            cwd=tmp_path, env=sim_env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "20240101000000STUBLOGID" in result.stderr
    assert "20240301-20240302" in result.stderr

    status = subprocess.run([crawlspec_exe, "status", "--db", db_url, "--json"], capture_output=True, text=True,
                            timeout=60)
    [spec] = json.loads(status.stdout)["specs"]
    [failed] = spec["windows_failed"]
    assert (failed["start_date"], failed["end_date"]) == ("2024-03-01", "2024-03-02")
    assert "403" in failed["last_error"]
