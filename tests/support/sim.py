"""The in-process simulator the tests talk to over real HTTP, and the credentials it accepts."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date

SIM_KEY = "test-client-key"
SIM_SECRET = "test-client-secret-9f3a7c"

SIM_DEFAULTS = {"seed": 7, "videos": 3000, "start": date(2024, 3, 1), "days": 31,
                "client_key": SIM_KEY, "client_secret": SIM_SECRET}


def simulator_factory() -> Iterator[Callable]:
    """A generator for a fixture: yields `start(**options)`, which starts a seeded simulator on a free port
    (the defaults above unless overridden); every simulator it started is stopped when it resumes."""
    from crawlspec.sim import SimOptions, start_simulator

    running = []

    def start(**options):
        sim = start_simulator(SimOptions(**{**SIM_DEFAULTS, **options}), host="127.0.0.1", port=0)
        running.append(sim)
        return sim

    try:
        yield start
    finally:
        for sim in running:
            sim.stop()


def subprocess_env() -> dict[str, str]:
    """Environment for a `crawlspec` subprocess talking to a test simulator."""
    env = dict(os.environ)
    env.update({"CRAWLSPEC_CLIENT_KEY": SIM_KEY, "CRAWLSPEC_CLIENT_SECRET": SIM_SECRET})
    env.pop("CRAWLSPEC_TODAY", None)
    return env
