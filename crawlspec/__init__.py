"""crawlspec: declarative, resumable crawls of the TikTok Research API.

Importing the package is cheap on purpose: heavy modules (Hydra, SQLAlchemy, requests) are
imported by the commands that need them, so `crawlspec status` and `export` start fast.
"""

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """`crawlspec.load` (pandas and SQLAlchemy are imported on first use, not with the package)."""
    if name == "load":
        from crawlspec.export.dataframes import load  # lazy: pandas is an optional extra, slow to import

        return load
    raise AttributeError(f"module 'crawlspec' has no attribute {name!r}")


__all__ = ["__version__", "load"]
