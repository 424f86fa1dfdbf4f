"""A scripted, recording Research API stub over real HTTP (ThreadingHTTPServer on port 0).

Shared by the client, crawl and storage tests that need answers the simulator does not give (`support.api_stub`).
Each path has a queue of scripted replies; every request is recorded (path, query, headers, body).
Token requests get a fresh `clt.` token unless a reply is scripted for the token path.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawlspec.api.fields import TOKEN_PATH

TOKEN_PREFIX = "clt.stub-token-"


@dataclass
class Reply:
    status: int = 200
    body: Any = None                    # dict/list -> JSON; str/bytes -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    hang: threading.Event | None = None  # wait on this before answering (timeouts)


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


def ok(data: dict[str, Any], log_id: str = "20240405132544A8A35938AA061A19F445") -> Reply:
    return Reply(200, {"data": data, "error": {"code": "ok", "message": "", "log_id": log_id}})


def api_error(status: int, code: str, message: str, log_id: str = "LOGID-ERR-1") -> Reply:
    return Reply(status, {"error": {"code": code, "message": message, "log_id": log_id}})


class StubApi:
    def __init__(self) -> None:
        self.replies: dict[str, deque[Reply]] = defaultdict(deque)
        self.seen: list[Seen] = []
        self.tokens_issued = 0
        self.token_ttl = 7200
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, path: str, *replies: Reply) -> None:
        self.replies[path].extend(replies)

    def hang(self) -> Reply:
        """A reply that answers only when the test ends (the client must time out first)."""
        return Reply(200, {"data": {}}, hang=self._release)

    def research(self, path: str | None = None) -> list[Seen]:
        return [s for s in self.seen if s.path != TOKEN_PATH and (path is None or s.path == path)]

    def token_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path == TOKEN_PATH]

    def start(self) -> StubApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            queue = self.replies.get(path)
            if queue:
                return queue.popleft()
            if path == TOKEN_PATH:
                self.tokens_issued += 1
                return Reply(200, {"access_token": f"{TOKEN_PREFIX}{self.tokens_issued}",
                                   "expires_in": self.token_ttl, "token_type": "Bearer"})
        return api_error(400, "invalid_params", f"stub: no reply scripted for {path}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with stub._lock:
                    stub.seen.append(Seen(parts.path, parse_qs(parts.query), parts.query,
                                          {k.lower(): v for k, v in self.headers.items()}, body))
                reply = stub._next_reply(parts.path)
                if reply.hang is not None:
                    reply.hang.wait(10)
                payload = reply.body
                if isinstance(payload, (dict, list)):
                    data, ctype = json.dumps(payload).encode(), "application/json"
                elif isinstance(payload, str):
                    data, ctype = payload.encode(), "text/html"
                else:
                    data, ctype = payload or b"", "application/octet-stream"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.headers.get("Content-Type", ctype))
                    for key, value in reply.headers.items():
                        if key != "Content-Type":
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@contextlib.contextmanager
def running_stub() -> Iterator[StubApi]:
    api = StubApi().start()
    try:
        yield api
    finally:
        api.stop()
