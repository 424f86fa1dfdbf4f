"""The Research API simulator (`crawlspec sim`): a deterministic corpus behind a real HTTP server.

    from crawlspec.sim import SimOptions, start_simulator
    with start_simulator(SimOptions(seed=42, videos=10_000)) as sim:
        ...  # point a client at sim.url; sim.stats(), sim.advance_day(), sim.dump_corpus(path)

Names are exported lazily (PEP 562): importing one light submodule (e.g. `day_ranges`, which spec
validation uses) does not start up the corpus and the HTTP server modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "Corpus": "corpus",
    "generate_corpus": "corpus",
    "SimOptions": "options",
    "Simulator": "server",
    "start_simulator": "server",
}

__all__ = ["Corpus", "SimOptions", "Simulator", "generate_corpus", "start_simulator"]

if TYPE_CHECKING:
    from crawlspec.sim.corpus import Corpus, generate_corpus
    from crawlspec.sim.options import SimOptions
    from crawlspec.sim.server import Simulator, start_simulator


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'crawlspec.sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"crawlspec.sim.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
