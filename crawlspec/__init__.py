"""crawlspec: declarative, resumable crawls of the TikTok Research API.

Importing the package is cheap on purpose: heavy modules (Hydra, SQLAlchemy, requests) are
imported by the commands that need them, so `crawlspec status` and `export` start fast.
"""

__version__ = "0.1.0"
