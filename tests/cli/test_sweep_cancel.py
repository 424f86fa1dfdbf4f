"""The job side of Ctrl-C in a sweep: a job process ignores a terminal's SIGINT (the sweep process
relays it once, as SIGTERM), and a SIGTERM that arrives before the crawl listens is delivered again
once it does, instead of being lost (the job would crawl on) or killing the worker."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from crawlspec.cli.sweep_cancel import SweepCancellation, _signals_from_the_sweep_process_only


@pytest.fixture
def sigterm_noted() -> Iterator[list[int]]:
    """SIGTERM handled harmlessly by the test process (noted), SIGINT unblocked again afterwards."""
    noted: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: noted.append(signum))
    yield noted
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    signal.signal(signal.SIGTERM, previous)


def test_a_sigterm_before_the_crawl_reaches_the_crawl_once_it_listens(sigterm_noted) -> None:
    stopped = threading.Event()
    with _signals_from_the_sweep_process_only():
        assert signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []), "a terminal's Ctrl-C is not for jobs"
        os.kill(os.getpid(), signal.SIGTERM)   # the sweep was interrupted while the job was starting
        crawl = signal.signal(signal.SIGTERM, lambda _signum, _frame: stopped.set())   # the crawl starts
        assert stopped.wait(30), "the stop was delivered to the crawl"
        signal.signal(signal.SIGTERM, crawl)
    assert sigterm_noted == []


def test_a_sigterm_after_the_crawl_changes_nothing(sigterm_noted) -> None:
    with _signals_from_the_sweep_process_only():
        os.kill(os.getpid(), signal.SIGTERM)   # the crawl is over; the job reports its result
    assert sigterm_noted == [], "not passed on to the worker's own handler (joblib would lose the worker)"
    assert signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []), "an idle worker survives a Ctrl-C"


@pytest.mark.slow  # starts a short-lived process for a pid that is gone
def test_the_sweep_process_finds_only_the_job_processes_still_running(tmp_path) -> None:
    import subprocess

    from crawlspec.crawl.leases import process_start

    done = subprocess.Popen(["true"])
    done.wait()
    results = tmp_path / ".crawlspec"
    results.mkdir()
    (results / "job-0.pid").write_text(f"{os.getpid()} {process_start(os.getpid())}")
    (results / "job-1.pid").write_text(f"{done.pid} 1")
    (results / "job-2.pid").write_text(f"{os.getpid()} {int(process_start(os.getpid()) or 0) + 1}")  # pid reused
    assert SweepCancellation(tmp_path).running_jobs() == {0: os.getpid()}
