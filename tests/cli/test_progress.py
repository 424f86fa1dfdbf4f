"""The live progress line: drawn from the runner's page events on a terminal, never elsewhere."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
from pathlib import Path

import pytest
import structlog

from crawlspec.cli import progress
from crawlspec.logs import configure_logging, get_logger


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def page(window: str, videos: int, *, has_more: bool, used: int) -> dict:
    return {"event": "page", "window": window, "page": 1, "videos": videos, "has_more": has_more,
            "requests_used": used, "quota_left": 1000 - used}


@pytest.fixture
def display() -> progress.ProgressDisplay:
    shown = progress.ProgressDisplay(io.StringIO(), clock=Clock(), width=lambda: 200)
    shown.begin_job("job 1 spec.query.regions=[FR]", windows_total=2)
    return shown


def feed(shown: progress.ProgressDisplay, event: dict) -> dict | None:
    try:
        return shown(None, "info", dict(event))
    except structlog.DropEvent:
        return None


def test_page_events_become_one_status_line_redrawn_in_place(display):
    display.clock.now += 2.0
    assert feed(display, page("20240301-20240307", 100, has_more=True, used=1)) is None
    display.clock.now += 1.0
    feed(display, page("20240301-20240307", 40, has_more=False, used=2))
    first, second = display.stream.getvalue().split("\n")[:2]
    assert first == ("job 1 spec.query.regions=[FR] | windows 0/2 | pages 1 | videos 100 | requests 1 | "
                     "quota left 999 | 50.0 videos/s")
    assert second.startswith("\x1b[1A\r\x1b[2K") and "windows 1/2 | pages 2 | videos 140" in second
    assert "quota left 998 | 46.7 videos/s" in second


def test_a_stage_shows_units_done_stored_and_time_left_instead_of_a_line_per_request(display):
    feed(display, page("w1", 40, has_more=False, used=1))
    display.clock.now += 1.0
    assert feed(display, {"event": "comments_start", "target": "video", "listings": 4})  # printed: one line
    display.clock.now += 10.0
    assert feed(display, {"event": "comment_page", "comments": 100, "has_more": True, "requests_used": 2}) is None
    display.clock.now += 10.0
    assert feed(display, {"event": "comment_page", "comments": 30, "has_more": False, "requests_used": 3}) is None
    last = display.stream.getvalue().rstrip("\n").split("\n")[-1]
    assert last.endswith("job 1 spec.query.regions=[FR] | comments 1/4 | stored 130 | about 1 min 00 s left | "
                         "requests 3")
    display.clock.now += 1.0
    assert feed(display, {"event": "user_info_start", "creators": 2})
    display.clock.now += 1.0
    feed(display, {"event": "user_info", "username": "a", "not_found": True, "requests_used": 4})
    assert display.stream.getvalue().rstrip("\n").split("\n")[-1].endswith(
        "| user_info 1/2 | stored 0 | about 1 s left | requests 4")


def test_other_events_pass_through_and_the_next_line_starts_below_them(display):
    feed(display, page("20240301-20240307", 100, has_more=True, used=1))
    warning = {"event": "quota_wait", "reason": "daily budget"}
    assert feed(display, warning) == warning
    display.clock.now += 1.0
    feed(display, page("20240301-20240307", 5, has_more=False, used=2))
    assert "\x1b[1A" not in display.stream.getvalue(), "never move up over another event's line"


def test_pages_within_the_interval_are_not_redrawn_unless_a_window_ends(display):
    feed(display, page("w1", 100, has_more=True, used=1))
    feed(display, page("w1", 100, has_more=True, used=2))  # same instant: skipped
    assert display.stream.getvalue().count("\n") == 1
    feed(display, page("w1", 1, has_more=False, used=3))  # the end of a window is always shown
    assert display.stream.getvalue().count("\n") == 2


def test_worker_jobs_print_whole_lines_every_few_seconds(display):
    display.begin_job("job 3", windows_total=None, mode="lines")
    for used in range(1, 6):
        feed(display, page("w1", 100, has_more=True, used=used))
        display.clock.now += 0.5
    feed(display, {"event": "window_failed", "window": "w1"})
    display.clock.now += 2.0
    feed(display, page("w2", 3, has_more=True, used=6))
    lines = display.stream.getvalue().splitlines()
    assert "\x1b" not in display.stream.getvalue()
    assert len(lines) == 3 and "windows 1/?" in lines[-1] and "1 failed" in lines[-1]


def test_the_line_never_wraps(display):
    display.width = lambda: 40
    feed(display, page("w1", 100, has_more=False, used=1))
    assert len(display.stream.getvalue().rstrip("\n")) <= 39


def test_only_a_console_on_a_terminal_gets_a_progress_line():
    try:
        terminal = FakeTerminal()
        configure_logging("auto", stream=terminal)
        assert progress.active()
        progress.begin_job("demo", 1)
        get_logger("crawlspec.crawl.videos").info("page", window="w", page=1, videos=3, has_more=False,
                                            requests_used=1, quota_left=9)
        (line,) = terminal.getvalue().splitlines()
        assert line.startswith("demo | windows 1/1 | pages 1 | videos 3") and "[info" not in line

        configure_logging("json", stream=FakeTerminal())
        assert not progress.active()
        configure_logging("auto", stream=io.StringIO())
        assert not progress.active()
    finally:
        progress.end_job()
        configure_logging("auto", stream=io.StringIO())


def test_pending_window_count_follows_the_database(tmp_path: Path):
    from crawlspec.crawl.session import pending_window_count  # planned on the crawl side, not in the display
    from crawlspec.spec.compile import compile_spec

    plan = compile_spec({"name": "p", "query": {"include_any_hashtags": ["shoes"]},
                         "window": {"start": "2024-03-01", "end": "2024-03-20", "days_per_query": 7}})
    assert pending_window_count(plan, f"sqlite:///{tmp_path / 'new.db'}") == 3
    assert pending_window_count(plan, f"sqlite:///{tmp_path / 'no' / 'dir.db'}") is None


@pytest.mark.slow
def test_a_real_terminal_shows_the_live_line_and_no_page_lines(crawlspec_exe, tmp_path):
    controller, terminal = pty.openpty()
    env = dict(os.environ, COLUMNS="160")
    proc = subprocess.Popen([crawlspec_exe, "run", "+spec=demo", "api=sim", "spec.window.days_per_query=2"],
                            cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal,
                            env=env)
    os.close(terminal)
    output = b""
    while True:  # read until the process closes the terminal
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait(timeout=60) == 0
    os.close(controller)
    text = output.decode()
    assert "demo | windows 7/7 | pages 7" in text
    assert "\x1b[1A" in text, "redrawn in place"
    assert '"event"' not in text and "page " not in text.replace("pages ", "")
    assert "videos (7 pages)" in text and " stored, " in text
