"""Everything about a video that no query searches, derived on demand from a per-video seed:
counts, voice-to-text, stickers, mentions, labels, and the comments (top-level and replies).

Comment ids encode their place, `COMMENT_ID_BASE + (video index << 20 | top << 10 | reply)` (reply 0
is the top-level comment itself), so a `comment_id` request needs no comment index in memory.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from typing import Any, TypeVar

from crawlspec.api.fields import VIDEO_FIELDS_ALL
from crawlspec.sim import vocab
from crawlspec.sim.columns import (
    EXTRA_AIGC,
    EXTRA_LABEL,
    EXTRA_MENTIONS,
    EXTRA_NO_TAG_KEY,
    EXTRA_STEM,
    EXTRA_STICKERS,
    EXTRA_VOICE,
    MAX_REACHABLE_COMMENTS,
    CorpusColumns,
)

COMMENT_ID_BASE = 7_100_000_000_000_000_000
MAX_REACHABLE_REPLIES = 1000
T = TypeVar("T")
# Renders one field of video `idx` (None: the field is absent from that video).
Renderer = Callable[[CorpusColumns, int], Any]


PURPOSES = {"comments": 2}


def video_rng(corpus: CorpusColumns, idx: int, purpose: str) -> random.Random:
    """A per-video stream; an int seed (stable across processes, unlike hash()) is the cheapest to set up."""
    return random.Random((corpus.options.seed << 72) ^ (PURPOSES[purpose] << 64) ^ corpus.ids[idx])


def _cached(corpus: CorpusColumns, name: str, func: Callable[[CorpusColumns, int], T], size: int
            ) -> Callable[[int], T]:
    """A per-corpus LRU cache of `func(corpus, idx)` (a module-level cache would keep corpora alive)."""
    cached: Callable[[int], T] | None = corpus.caches.get(name)
    if cached is None:
        cached = corpus.caches.setdefault(name, lru_cache(maxsize=size)(partial(func, corpus)))
    return cached


def video_data(corpus: CorpusColumns, idx: int, fields: tuple[str, ...] = VIDEO_FIELDS_ALL) -> dict[str, Any]:
    """The video as the API returns it with `fields` requested; absent values are omitted, not null.
    Rendered field by field from the columns, so a page costs only the fields asked for."""
    data = {}
    for name in fields:
        value = _FIELD_RENDERERS[name](corpus, idx)
        if value is not None:
            data[name] = value
    return data


def _like_count(corpus: CorpusColumns, idx: int) -> int | None:
    return corpus.likes[idx] if corpus.likes[idx] >= 0 else None


def _hashtag_names(corpus: CorpusColumns, idx: int) -> list[str] | None:
    tags = corpus.hashtags[idx]
    return list(tags) if tags or not corpus.extras[idx] & EXTRA_NO_TAG_KEY else None


def _effect_ids(corpus: CorpusColumns, idx: int) -> list[str] | None:
    effects = corpus.effects[idx]
    return list(effects) if effects is not None else None


def _playlist_id(corpus: CorpusColumns, idx: int) -> int | None:
    number = corpus.playlist[idx]
    return corpus.playlist_ids[number - 1] if number else None


def _flagged(flag: int, value: Renderer) -> Renderer:
    return lambda corpus, idx: value(corpus, idx) if corpus.extras[idx] & flag else None


@lru_cache(maxsize=4096)
def hashtag_id(tag: str) -> int:
    return 1_000_000 + zlib.crc32(tag.lower().encode("utf-8"))


_FIELD_RENDERERS: dict[str, Renderer] = {
    "id": lambda c, i: c.ids[i],
    "video_description": lambda c, i: c.descriptions[i],
    "create_time": lambda c, i: c.create_times[i],
    "region_code": lambda c, i: c.creators.regions[c.creator[i]],
    "share_count": lambda c, i: c.shares[i],
    "view_count": lambda c, i: c.views[i],
    "like_count": _like_count,
    "comment_count": lambda c, i: c.top_comments[i] + c.replies[i],
    "music_id": lambda c, i: c.music_ids[c.music[i]],
    "hashtag_names": _hashtag_names,
    "username": lambda c, i: c.creators.emitted[c.creator[i]],
    "effect_ids": _effect_ids,
    "playlist_id": _playlist_id,
    "voice_to_text": _flagged(EXTRA_VOICE, lambda c, i: _pick(vocab.VOICE_LINES, c.ids[i], 3)),
    "is_stem_verified": lambda c, i: bool(c.extras[i] & EXTRA_STEM),
    "favorites_count": lambda c, i: c.favorites[i],
    "video_duration": lambda c, i: c.durations[i],
    "hashtag_info_list": lambda c, i: [{"hashtag_id": hashtag_id(tag), "hashtag_description": tag}
                                       for tag in c.hashtags[i]],
    "sticker_info_list": _flagged(EXTRA_STICKERS, lambda c, i: _stickers(c.ids[i])),
    "effect_info_list": lambda c, i: _effect_infos(c.effects[i]),
    "video_mention_list": _flagged(EXTRA_MENTIONS, lambda c, i: [_pick(c.creators.usernames, c.ids[i], 11)]),
    "video_label": _flagged(EXTRA_LABEL, lambda c, i: {}),
    "video_tag": _flagged(EXTRA_AIGC, lambda c, i: {"type": "AIGC", "number": 1 + (c.ids[i] >> 5) % 2}),
}
assert tuple(_FIELD_RENDERERS) == VIDEO_FIELDS_ALL


def _pick(choices: Sequence[T], video_id: int, shift: int) -> T:
    """A choice determined by the video id's random low bits (no generator needed)."""
    return choices[(video_id >> shift) % len(choices)]


def _stickers(video_id: int) -> list[dict[str, Any]]:
    name = _pick(vocab.STICKERS, video_id, 7)
    return [{"sticker_id": 500_000 + zlib.crc32(name.encode()), "sticker_name": name}]


def _effect_infos(effects: tuple[str, ...] | None) -> list[dict[str, Any]] | None:
    real = [effect for effect in effects or () if effect != "0"]
    if not real:
        return None
    return [{"effect_id": effect, "effect_name": vocab.EFFECT_NAMES[int(effect) % len(vocab.EFFECT_NAMES)],
             "effect_photo_url": f"https://p16-sign.tiktokcdn-us.com/effect/{effect}.png"} for effect in real]


# --- comments -----------------------------------------------------------------------------------------

def comment_id(idx: int, top: int, reply: int = 0) -> int:
    return COMMENT_ID_BASE + (idx << 20 | top << 10 | reply)


def decode_comment_id(value: int) -> tuple[int, int, int] | None:
    """(video index, top-level position, reply number) of a comment id, or None if it is not one."""
    offset = value - COMMENT_ID_BASE
    if offset < 0:
        return None
    return offset >> 20, (offset >> 10) & 1023, offset & 1023


def reachable_top_comments(corpus: CorpusColumns, idx: int) -> int:
    return min(corpus.top_comments[idx], MAX_REACHABLE_COMMENTS)


def top_level_comments(corpus: CorpusColumns, idx: int) -> list[dict[str, Any]]:
    """The reachable top-level comments of a video (at most 1,000), in the order the API pages them."""
    return list(_cached(corpus, "comments", _render_top_level, 64)(idx))


def _render_top_level(corpus: CorpusColumns, idx: int) -> tuple[dict[str, Any], ...]:
    rng = video_rng(corpus, idx, "comments")
    reply_counts = _reply_counts(rng, corpus.top_comments[idx], corpus.replies[idx])
    video_id, created = corpus.ids[idx], corpus.create_times[idx]
    comments = []
    for top in range(reachable_top_comments(corpus, idx)):
        comments.append({
            "id": comment_id(idx, top), "video_id": video_id, "text": _comment_text(rng),
            "like_count": int(rng.paretovariate(1.3)) - 1, "reply_count": reply_counts[top],
            "parent_comment_id": video_id, "create_time": created + 30 + int(rng.expovariate(1 / 20_000)),
        })
    return tuple(comments)


def _reply_counts(rng: random.Random, tops: int, replies: int) -> list[int]:
    """Spread a video's replies over its top-level comments, favouring the first (top) ones."""
    counts = [0] * tops
    for _ in range(replies):
        counts[int(tops * rng.random() ** 2)] += 1
    return counts


def replies_to(corpus: CorpusColumns, idx: int, top: int) -> list[dict[str, Any]]:
    """The reachable replies (at most 1,000) to the `top`-th top-level comment of video `idx`."""
    parent = _cached(corpus, "comments", _render_top_level, 64)(idx)[top]
    rng = random.Random(f"{corpus.options.seed}/replies/{parent['id']}")
    replies = []
    for number in range(1, min(parent["reply_count"], MAX_REACHABLE_REPLIES) + 1):
        replies.append({
            "id": comment_id(idx, top, number), "video_id": parent["video_id"], "text": _comment_text(rng),
            "like_count": int(rng.paretovariate(1.6)) - 1, "reply_count": 0,
            "parent_comment_id": parent["id"],
            "create_time": parent["create_time"] + 5 + int(rng.expovariate(1 / 5_000)),
        })
    return replies


def video_listing(corpus: CorpusColumns, idx: int) -> list[dict[str, Any]]:
    """What the `video_id` listing returns, like the real API: each top-level comment followed by its
    replies, at most 1,000 items in all (the cap covers comments and replies together)."""
    return list(_cached(corpus, "listing", _render_listing, 16)(idx))


def _render_listing(corpus: CorpusColumns, idx: int) -> tuple[dict[str, Any], ...]:
    listing: list[dict[str, Any]] = []
    for top, comment in enumerate(_cached(corpus, "comments", _render_top_level, 64)(idx)):
        if len(listing) >= MAX_REACHABLE_COMMENTS:
            break
        listing.append(comment)
        if comment["reply_count"]:
            listing.extend(replies_to(corpus, idx, top)[: MAX_REACHABLE_COMMENTS - len(listing)])
    return tuple(listing)


def _comment_text(rng: random.Random) -> str:
    text = rng.choice(vocab.COMMENT_TEXTS)
    return text + "\x00" if rng.random() < 0.005 else text
