"""The threaded HTTP server around `SimulatorApp`, and the in-process `Simulator` handle."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from crawlspec.sim.app import SimulatorApp
from crawlspec.sim.corpus import Corpus, generate_corpus
from crawlspec.sim.dump import dump_corpus
from crawlspec.sim.options import SimOptions
from crawlspec.sim.state import SimClock

MAX_BODY = 10 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"        # keep-alive: a crawl reuses its connection
    server_version = "crawlspec-sim"
    timeout = 60                         # idle keep-alive connections are closed after a minute
    wbufsize = 1 << 16                   # headers and body leave in one write (no delayed-ACK stall)
    disable_nagle_algorithm = True
    app: SimulatorApp                    # set on the per-server subclass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.app.handle(self.command, self.path, headers, body)
        self.send_response(response.status)
        self.send_header("Content-Type", f"{response.content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:   # noqa: A002 - BaseHTTPRequestHandler's name
        """Silent: a crawl's thousands of requests would drown the user's terminal."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        """A client that went away mid-request (killed crawl, timeout) is normal, not a traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


class Simulator:
    """A running simulator: `url`, `corpus`, `stats()`, `advance_day()`, `dump_corpus()`, `stop()`."""

    def __init__(self, opts: SimOptions, corpus: Corpus, host: str, port: int, clock: SimClock) -> None:
        self.options, self.corpus, self.clock = opts, corpus, clock
        self.app = SimulatorApp(opts, corpus, clock)
        self.corpus = self.app.corpus   # its own copy when videos can become unavailable (sim/compliance.py)
        handler = type("SimHandler", (_Handler,), {"app": self.app})
        self._server = _Server((host, port), handler)
        bound_host, bound_port = self._server.server_address[:2]
        self.host, self.port = str(bound_host), int(bound_port)
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"crawlspec-sim:{self.port}", daemon=True)
        self._stopped = False

    def start(self) -> Simulator:
        self._thread.start()
        return self

    def stats(self) -> dict[str, Any]:
        return self.app.stats()

    def advance_day(self) -> dict[str, Any]:
        self.clock.advance_day()
        return self.app.stats()

    def dump_corpus(self, path: str | Path) -> None:
        dump_corpus(self.corpus, path)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulator(opts: SimOptions | None = None, host: str = "127.0.0.1", port: int = 0, *,
                    corpus: Corpus | None = None, clock: Callable[[], float] | None = None) -> Simulator:
    """Generate the corpus (or reuse `corpus`, built from the same options) and serve it in a
    background thread. `clock` replaces `time.time` as the simulator's base clock (tests)."""
    opts = opts or SimOptions()
    corpus = corpus if corpus is not None else generate_corpus(opts)
    sim_clock = SimClock(clock, opts.start_today()) if clock is not None else SimClock(today=opts.start_today())
    return Simulator(opts, corpus, host, port, sim_clock).start()
