"""Process signals -> the run's stop event: the bridge between the operating system and the one stop
signal every loop of a crawl (and of the compliance refresh) checks.

SIGINT, SIGTERM and SIGUSR2 (the warning SLURM sends through submitit shortly before a job's time
limit) set the event; every wait ends at once, no further request is sent, the in-flight page is
committed and the run ends resumable (75). A second signal exits 75 at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

from crawlspec import exit_codes
from crawlspec.logs import get_logger

# SIGUSR2: what submitit asks SLURM to send shortly before a job's time limit
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR2)
# the stop signals this process received (a plain list: appending is safe inside a signal handler)
_received_in_process: list[str] = []


def forget_stop_signals() -> None:
    """Start afresh (a new sweep in a process that was stopped before: a notebook, a library user)."""
    _received_in_process.clear()


def stopped_by_signal() -> bool:
    """Whether this process was ever asked to stop by a signal (a sweep's jobs that run in this process
    one after the other: the jobs not started yet are skipped)."""
    return bool(_received_in_process)


@contextlib.contextmanager
def stop_on_signals(stop_event: threading.Event) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGUSR2 (the time-limit warning SLURM sends through submitit) set
    `stop_event`: every wait ends at once, no further request is sent, the in-flight page is
    committed, then the run exits 75. A second signal exits 75 immediately (pages
    committed before are safe; an uncommitted one is rolled back by the database)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    log = get_logger("crawlspec.run")
    received: list[str] = []

    def stop(name: str) -> None:
        log.warning("signal_received", signal=name,
                    note="no new request is sent; finishing the in-flight page (signal again to exit now)")
        stop_event.set()

    def handler(signum: int, _frame: Any) -> None:
        # The handler runs on the main thread, which may hold the event's own lock (inside
        # `stop_event.wait`) or be writing to stderr: setting the event and logging happen on a
        # helper thread, and the second signal writes with os.write only.
        name = signal.Signals(signum).name
        if received or stop_event.is_set():
            os.write(2, f"crawlspec: second {name}: exiting now (exit 75); committed pages are safe, "
                        "run the same command again to resume\n".encode())
            os._exit(exit_codes.RESUMABLE)
        received.append(name)
        _received_in_process.append(name)
        threading.Thread(target=stop, args=(name,), name="crawlspec-stop", daemon=True).start()

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
