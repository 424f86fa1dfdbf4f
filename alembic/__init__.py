"""crawlspec's Alembic migrations, installed as the package `crawlspec.migrations`.

In a checkout this directory is also a top-level package named `alembic`: with the repository root on
`sys.path` (`python -m crawlspec ...` or `python -m pytest` run from the root) `import alembic` would
find it instead of the Alembic library. Imported under that name, it hands over to the real library.
"""

if __name__ == "alembic":
    import importlib
    import os
    import sys

    _root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    _saved_path = sys.path[:]
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != _root]
    del sys.modules["alembic"]
    try:
        sys.modules["alembic"] = importlib.import_module("alembic")
    finally:
        sys.path[:] = _saved_path
