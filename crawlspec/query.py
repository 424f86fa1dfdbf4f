"""Public face of the query library (`from crawlspec.query import VideoQuery, Cond, Fields, Op`): the
older tool's import path, kept for its users. The code lives in `crawlspec.spec.query`."""

from crawlspec.spec.query import (
    Cond,
    F,
    Fields,
    Op,
    VideoQuery,
    VideoQueryJSONEncoder,
    generate_query,
    generate_video_id_query,
    get_normalized_hashtag_set,
    get_normalized_keyword_set,
    get_normalized_username_set,
)

__all__ = [
    "Cond", "F", "Fields", "Op", "VideoQuery", "VideoQueryJSONEncoder", "generate_query",
    "generate_video_id_query", "get_normalized_hashtag_set", "get_normalized_keyword_set",
    "get_normalized_username_set",
]
