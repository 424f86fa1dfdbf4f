"""Optional archive of raw research responses: gzip JSON lines, one file per UTC day and process.

Each record is its own gzip member appended to the file (a sequence of members is a valid gzip
stream, so `gzip.open(path, "rt")` reads every line), so a crash never corrupts earlier lines. Only
research endpoints are archived: the token endpoint never is, requests carry no auth header, and every
line goes through the log redactor before it is written as a last guard against a secret slipping in.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crawlspec.errors import CrawlspecError
from crawlspec.logs import redact_text


class RawArchive:
    """Appends `{"ts", "endpoint", "request", "status", "response"}` lines to
    `DIRECTORY/raw-YYYYMMDD-PID.jsonl.gz`."""

    def __init__(self, directory: str | Path, *, now: Callable[[], datetime] | None = None):
        self.directory = Path(directory).expanduser().resolve()
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._lock = threading.Lock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error("cannot be created", exc) from None
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise CrawlspecError(f"Raw archive directory {self.directory} is not writable. "
                                 "Fix its permissions or set storage.raw_dir to another directory.")

    def path_for(self, moment: datetime) -> Path:
        return self.directory / f"raw-{moment.strftime('%Y%m%d')}-{os.getpid()}.jsonl.gz"

    def record(self, endpoint: str, request: Any, status: int | None, response: Any) -> None:
        """Append one response. Raises CrawlspecError naming the directory if it cannot be written."""
        moment = self._now()
        line = json.dumps({"ts": moment.isoformat(), "endpoint": endpoint, "request": request,
                           "status": status, "response": response}, ensure_ascii=False)
        # A lone surrogate (half an emoji the API escaped) cannot be UTF-8: written back as its JSON escape.
        member = gzip.compress((redact_text(line) + "\n").encode("utf-8", "backslashreplace"))
        path = self.path_for(moment)
        with self._lock:
            try:
                with path.open("ab") as fh:
                    fh.write(member)
            except OSError as exc:
                raise self._error("cannot be written", exc) from None

    def _error(self, what: str, exc: OSError) -> CrawlspecError:
        return CrawlspecError(
            f"Raw archive directory {self.directory} {what} ({exc.strerror or exc}). Free disk space, "
            "fix its permissions, or set storage.raw_dir to another directory (or null to disable).")
