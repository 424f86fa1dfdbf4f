"""Live progress on a terminal, drawn from the runner's own log events.

The runner logs one `page` event per committed page (window, page, videos, has_more, requests_used,
quota_left) and `window_failed` / `window_leased_elsewhere` / `window_taken_over` when a window ends
otherwise. On a terminal, `logs.configure_logging` puts `progress_processor` into the structlog
chain: it folds those events into one status line per job and drops the `page` events (the line
replaces them); every other event passes through and is rendered as usual. Under cron/CI (no TTY)
this module is not in the chain at all: the `page` events are rendered as JSON lines instead.

Two ways of drawing, chosen per job by `hydra_app`:
- `live`: this process owns the terminal (a single run, or a sweep's jobs run one after another).
  The status line is redrawn in place (cursor up one line, clear, print, newline), so any other
  output always lands on a fresh line below it and never garbles it.
- `lines`: the job runs in a worker process of a parallel launcher (joblib) next to other jobs on
  the same terminal. Redrawing in place would overwrite the other jobs' lines, so a full line is
  printed when a window ends and at most every `LINE_INTERVAL_S` otherwise.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

import structlog

DrawMode = Literal["live", "lines"]
LIVE_INTERVAL_S = 0.1
LINE_INTERVAL_S = 2.0
WINDOW_END_EVENTS = {"window_failed": "failed", "window_leased_elsewhere": "elsewhere",
                     "window_taken_over": "elsewhere"}
STAGE_START_EVENTS = {"comments_start": ("comments", "listings"), "user_info_start": ("user_info", "creators")}
"""A stage's first event: (the stage shown, the key holding how many units it will work through)."""
STAGE_STEP_EVENTS = {"comment_page", "user_info", "user_list_page", "playlist"}
"""One event per request of a stage: folded into the status line on a terminal instead of printed."""


@dataclass
class StageProgress:
    """A stage after the videos (comments, creator info, user lists, playlists): units done of total."""

    name: str
    total: int | None
    started: float
    done: int = 0
    records: int = 0

    def record(self, event_dict: dict[str, Any]) -> None:
        event = event_dict.get("event")
        if event == "comment_page":
            self.records += int(event_dict.get("comments") or 0)
            self.done += 0 if event_dict.get("has_more") else 1
        elif event == "user_info":
            self.done += 1
            self.records += 0 if event_dict.get("not_found") else 1
        elif event == "user_list_page":
            self.records += int(event_dict.get("records") or 0)
            self.done += 0 if event_dict.get("status") == "in_progress" else 1
        elif event == "playlist":
            self.done += 1
            self.records += 1

    def parts(self, now: float) -> list[str]:
        total = "?" if self.total is None else f"{self.total:,}"
        parts = [f"{self.name} {self.done:,}/{total}", f"stored {self.records:,}"]
        elapsed = max(now - self.started, 1e-6)
        if self.total and self.done:
            remaining = max(self.total - self.done, 0) * elapsed / self.done
            parts.append(f"about {_duration(remaining)} left")
        return parts


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@dataclass
class JobProgress:
    """What one job has done so far, as far as its log events tell."""

    label: str
    windows_total: int | None
    started: float
    windows_done: int = 0
    windows_failed: int = 0
    windows_elsewhere: int = 0
    pages: int = 0
    videos: int = 0
    requests: int = 0
    quota_left: int | None = None
    stage: StageProgress | None = None

    def record(self, event_dict: dict[str, Any], now: float = 0.0) -> bool:
        """Fold one event in; True when it ended a window or started a stage."""
        event = str(event_dict.get("event"))
        if event_dict.get("requests_used") is not None:
            self.requests = int(event_dict["requests_used"])
        if event in STAGE_START_EVENTS:
            name, total_key = STAGE_START_EVENTS[event]
            total = event_dict.get(total_key)
            self.stage = StageProgress(name, None if total is None else int(total), started=now)
            return True
        if event in STAGE_STEP_EVENTS:
            if self.stage is None:
                self.stage = StageProgress(event.removesuffix("_page"), None, started=now)
            self.stage.record(event_dict)
            return self.stage.total is not None and self.stage.done >= self.stage.total  # its last unit
        if event == "page":
            self.pages += 1
            self.videos += int(event_dict.get("videos") or 0)
            self.requests = int(event_dict.get("requests_used") or self.requests)
            if event_dict.get("quota_left") is not None:
                self.quota_left = int(event_dict["quota_left"])
            if not event_dict.get("has_more"):
                self.windows_done += 1
                return True
            return False
        kind = WINDOW_END_EVENTS.get(str(event))
        if kind == "failed":
            self.windows_failed += 1
        elif kind == "elsewhere":
            self.windows_elsewhere += 1
        return kind is not None

    def line(self, now: float) -> str:
        if self.stage is not None:
            return " | ".join([self.label, *self.stage.parts(now), f"requests {self.requests}"])
        total = "?" if self.windows_total is None else str(self.windows_total)
        ended = self.windows_done + self.windows_failed + self.windows_elsewhere
        parts = [f"{self.label}", f"windows {ended}/{total}", f"pages {self.pages}",
                 f"videos {self.videos:,}", f"requests {self.requests}"]
        if self.quota_left is not None:
            parts.append(f"quota left {self.quota_left}")
        elapsed = max(now - self.started, 1e-6)
        parts.append(f"{self.videos / elapsed:.1f} videos/s")
        if self.windows_failed:
            parts.append(f"{self.windows_failed} failed")
        if self.windows_elsewhere:
            parts.append(f"{self.windows_elsewhere} left to another run")
        return " | ".join(parts)


@dataclass
class ProgressDisplay:
    """Draws the current job's status line on `stream` (a terminal)."""

    stream: TextIO
    clock: Callable[[], float] = time.monotonic
    width: Callable[[], int] = field(default=lambda: shutil.get_terminal_size((120, 24)).columns)
    job: JobProgress | None = None
    mode: DrawMode = "live"
    _line_is_last: bool = False
    _last_draw: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def begin_job(self, label: str, windows_total: int | None, mode: DrawMode = "live") -> None:
        with self._lock:
            self.job = JobProgress(label, windows_total, started=self.clock())
            self.mode = mode
            self._line_is_last = False
            self._last_draw = float("-inf")

    def end_job(self) -> None:
        """Stop tracking the job. Nothing is drawn: the run's own summary has been printed below the
        line by now, and redrawing in place would erase it (a window's end is always drawn)."""
        with self._lock:
            self.job = None
            self._line_is_last = False

    def __call__(self, _logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        """structlog processor: consume progress events, let everything else through."""
        with self._lock:
            if self.job is None:
                return event_dict
            ended_window = self.job.record(event_dict, self.clock())
            if event_dict.get("event") == "page" or event_dict.get("event") in STAGE_STEP_EVENTS:
                self._draw(force=ended_window)
                raise structlog.DropEvent
            self._line_is_last = False  # this event is printed below the status line
            return event_dict

    def _draw(self, *, force: bool) -> None:
        assert self.job is not None
        now = self.clock()
        interval = LIVE_INTERVAL_S if self.mode == "live" else LINE_INTERVAL_S
        if not force and now - self._last_draw < interval:
            return
        text = _fit(self.job.line(now), self.width())
        redraw = "\x1b[1A\r\x1b[2K" if self.mode == "live" and self._line_is_last else ""
        self.stream.write(f"{redraw}{text}\n")
        self.stream.flush()
        self._line_is_last = True
        self._last_draw = now


def _fit(text: str, width: int) -> str:
    """One terminal row at most: a wrapped line would break the cursor-up redraw."""
    width = max(width - 1, 20)
    return text if len(text) <= width else text[:width - 1] + "…"


# ---- the process-wide display used by the CLI -------------------------------------------------

_display: ProgressDisplay | None = None


def install(stream: TextIO) -> ProgressDisplay:
    """The display for this process, drawing on `stream` (kept across `configure_logging` calls so a
    job begun before logging is reconfigured keeps its state)."""
    global _display
    if _display is None or _display.stream is not stream:
        previous = _display
        _display = ProgressDisplay(stream)
        if previous is not None and previous.job is not None:
            _display.job, _display.mode = previous.job, previous.mode
    return _display


def uninstall() -> None:
    global _display
    _display = None


def active() -> bool:
    """Whether logging installed a display (console logs on a terminal)."""
    return _display is not None


def begin_job(label: str, windows_total: int | None, mode: DrawMode = "live") -> None:
    """Start tracking a job: no-op unless logging installed a display (console on a terminal)."""
    if _display is not None:
        _display.begin_job(label, windows_total, mode)


def end_job() -> None:
    if _display is not None:
        _display.end_job()
