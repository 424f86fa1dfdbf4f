"""The Research API simulator (`crawlspec sim`): a deterministic corpus behind a real HTTP server.

    from crawlspec.sim import SimOptions, start_simulator
    with start_simulator(SimOptions(seed=42, videos=10_000)) as sim:
        ...  # point a client at sim.url; sim.stats(), sim.advance_day(), sim.dump_corpus(path)
"""

from crawlspec.sim.corpus import Corpus, generate_corpus
from crawlspec.sim.options import SimOptions
from crawlspec.sim.server import Simulator, start_simulator

__all__ = ["Corpus", "SimOptions", "Simulator", "generate_corpus", "start_simulator"]
