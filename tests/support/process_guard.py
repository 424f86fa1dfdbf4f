"""Which tests start processes: every way the suite starts one (subprocess, multiprocessing, os.fork and
friends) is watched while a test runs, so a test that starts a process without `@pytest.mark.slow` is caught
in the fast lane (`pytest -m "not slow"`), whichever helper started it."""

from __future__ import annotations

import contextlib
import multiprocessing.util
import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# (owner, attribute) of every function the suite's processes are started through; `_execute_child` is what
# `subprocess.run`, `check_output` and `Popen` all end in.
LAUNCHERS: tuple[tuple[Any, str], ...] = (
    (subprocess.Popen, "_execute_child"),
    (os, "fork"),
    (os, "posix_spawn"),
    (os, "posix_spawnp"),
    (os, "system"),
    (multiprocessing.util, "spawnv_passfds"),
)


def _describe(name: str, args: tuple) -> str:
    if name == "_execute_child" and len(args) > 1:
        argv = args[1]
        return " ".join(map(str, argv)) if isinstance(argv, (list, tuple)) else str(argv)
    return f"os.{name}" if name != "spawnv_passfds" else "multiprocessing worker"


@contextlib.contextmanager
def watching_process_starts() -> Iterator[list[str]]:
    """Yields a list that collects a short description of every process started inside the block."""
    started: list[str] = []
    originals: list[tuple[Any, str, Callable]] = []

    def watched(name: str, original: Callable) -> Callable:
        def launch(*args, **kwargs):
            started.append(_describe(name, args))
            return original(*args, **kwargs)
        return launch

    for owner, name in LAUNCHERS:
        original = getattr(owner, name, None)
        if original is not None:
            originals.append((owner, name, original))
            setattr(owner, name, watched(name, original))
    try:
        yield started
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def fail_unmarked_process_starts(request: pytest.FixtureRequest) -> Iterator[None]:
    """The body of an autouse fixture: a test without the `slow` marker that starts a process fails at
    teardown, naming the first process it started."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    with watching_process_starts() as started:
        yield
    if started:
        pytest.fail(f"{request.node.nodeid} started {len(started)} process(es) without @pytest.mark.slow "
                    f"(first: {started[0][:200]})", pytrace=False)
