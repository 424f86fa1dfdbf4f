"""Public face of the tables (`from crawlspec.models import Video, Comment, ...`), the older tool's import
path, kept for notebooks; the tables live in `crawlspec.storage.models`."""

from crawlspec.storage.models import *  # noqa: F403
from crawlspec.storage.models import __all__ as __all__
