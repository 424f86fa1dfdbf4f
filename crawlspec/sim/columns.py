"""The corpus' stored columns and the constants its generator and its renderers share.

`CorpusColumns` holds the videos column-wise, sorted by id (which is also create_time order), and their
creators; `corpus.Corpus` adds the rendering of videos as API dicts, `indexes` the search indexes.
"""

from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from crawlspec.sim.options import SimOptions

DAY = 86_400
MAX_REACHABLE_COMMENTS = 1000
LENGTH_CLASSES: tuple[tuple[str, int, int, float], ...] = (   # class, min s, max s, share of videos
    ("SHORT", 1, 14, 0.38), ("MID", 15, 59, 0.34), ("LONG", 60, 299, 0.21), ("EXTRA_LONG", 300, 1800, 0.07),
)
INFO_OK, INFO_NOT_FOUND, INFO_REFUSED = 0, 1, 2
# presence flags of the optional video fields (`CorpusColumns.extras`)
EXTRA_STEM, EXTRA_VOICE, EXTRA_STICKERS, EXTRA_MENTIONS, EXTRA_LABEL, EXTRA_AIGC, EXTRA_NO_TAG_KEY = (
    1, 2, 4, 8, 16, 32, 64)


def length_class(duration: int) -> str:
    """`video_length` class of a duration: SHORT < 15 s <= MID < 60 s <= LONG < 300 s <= EXTRA_LONG."""
    if duration < 15:
        return "SHORT"
    if duration < 60:
        return "MID"
    return "LONG" if duration < 300 else "EXTRA_LONG"


def utc_timestamp(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


@dataclass
class Creators:
    usernames: list[str] = field(default_factory=list)        # canonical handle (case as registered)
    emitted: list[str] = field(default_factory=list)          # as the API emits it (rarely NUL-padded)
    regions: list[str] = field(default_factory=list)
    topics: list[int] = field(default_factory=list)
    info_state: bytearray = field(default_factory=bytearray)  # INFO_OK / INFO_NOT_FOUND / INFO_REFUSED
    videos: list[array[int]] = field(default_factory=list)         # corpus indexes of each creator's videos
    by_name: dict[str, int] = field(default_factory=dict)      # lower-case clean handle -> creator index

    def __len__(self) -> int:
        return len(self.usernames)


@dataclass(eq=False)
class CorpusColumns:
    """Column store of the videos, sorted by id: what the generator fills and the renderers read."""

    options: SimOptions
    ids: array[int] = field(default_factory=lambda: array("Q"))
    create_times: array[int] = field(default_factory=lambda: array("q"))
    creator: array[int] = field(default_factory=lambda: array("I"))
    descriptions: list[str] = field(default_factory=list)
    hashtags: list[tuple[str, ...]] = field(default_factory=list)
    music: array[int] = field(default_factory=lambda: array("I"))
    effects: list[tuple[str, ...] | None] = field(default_factory=list)
    durations: array[int] = field(default_factory=lambda: array("I"))
    top_comments: array[int] = field(default_factory=lambda: array("I"))   # top-level comments (all, not only reachable)
    replies: array[int] = field(default_factory=lambda: array("I"))        # replies across all top-level comments
    playlist: array[int] = field(default_factory=lambda: array("I"))       # 0 = none, else index + 1 in playlist_ids
    views: array[int] = field(default_factory=lambda: array("Q"))
    likes: array[int] = field(default_factory=lambda: array("q"))          # -1: like_count omitted
    shares: array[int] = field(default_factory=lambda: array("Q"))
    favorites: array[int] = field(default_factory=lambda: array("Q"))
    extras: bytearray = field(default_factory=bytearray)              # EXTRA_* flags (details.py)
    deleted: bytearray = field(default_factory=bytearray)
    music_ids: list[int] = field(default_factory=list)
    playlist_ids: list[int] = field(default_factory=list)
    playlist_owner: list[int] = field(default_factory=list)
    creators: Creators = field(default_factory=Creators)
    index: dict[str, dict[str, array[int]]] = field(default_factory=dict)   # query field -> value -> indexes
    caches: dict[str, Any] = field(default_factory=dict, repr=False)              # per-corpus render caches

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, video_id: int) -> int | None:
        """Corpus index of a video id, or None."""
        pos = bisect.bisect_left(self.ids, video_id)
        return pos if pos < len(self.ids) and self.ids[pos] == video_id else None

    def window(self, start_ts: int, end_ts: int) -> tuple[int, int]:
        """Index range [lo, hi) of videos with start_ts <= create_time < end_ts."""
        return bisect.bisect_left(self.create_times, start_ts), bisect.bisect_left(self.create_times, end_ts)

    def comment_count(self, idx: int) -> int:
        return self.top_comments[idx] + self.replies[idx]
