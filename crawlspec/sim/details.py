"""Everything about a video that no query searches, derived on demand from a per-video seed:
counts, voice-to-text, stickers, mentions, labels, and the comments (top-level and replies).

Comment ids encode their place, `COMMENT_ID_BASE + (video index << 20 | top << 10 | reply)` (reply 0
is the top-level comment itself), so a `comment_id` request needs no comment index in memory.
"""

from __future__ import annotations

import random
import zlib
from functools import lru_cache, partial

from crawlspec.api_fields import VIDEO_FIELDS_ALL
from crawlspec.sim import vocab
from crawlspec.sim.corpus import MAX_REACHABLE_COMMENTS, Corpus

COMMENT_ID_BASE = 7_100_000_000_000_000_000
MAX_REACHABLE_REPLIES = 1000


def video_rng(corpus: Corpus, idx: int, purpose: str) -> random.Random:
    return random.Random(f"{corpus.options.seed}/{purpose}/{corpus.ids[idx]}")


def _cached(corpus: Corpus, name: str, func, size: int):
    """A per-corpus LRU cache of `func(corpus, idx)` (a module-level cache would keep corpora alive)."""
    cached = corpus.caches.get(name)
    if cached is None:
        cached = corpus.caches.setdefault(name, lru_cache(maxsize=size)(partial(func, corpus)))
    return cached


def video_data(corpus: Corpus, idx: int) -> dict:
    """The video as the API returns it with every field requested (absent values omitted).
    Shared and cached: callers must not modify it."""
    return _cached(corpus, "video", _render_video, 50_000)(idx)


def _render_video(corpus: Corpus, idx: int) -> dict:
    rng = video_rng(corpus, idx, "video")
    creators = corpus.creators
    owner = corpus.creator[idx]
    tags = corpus.hashtags[idx]
    views = int(rng.lognormvariate(6.5, 2.2))
    data: dict = {
        "id": corpus.ids[idx], "video_description": corpus.descriptions[idx],
        "create_time": corpus.create_times[idx], "region_code": creators.regions[owner],
        "share_count": int(views * rng.random() * 0.01), "view_count": views,
        "like_count": int(views * rng.random() * 0.15), "comment_count": corpus.comment_count(idx),
        "music_id": corpus.music_ids[corpus.music[idx]], "hashtag_names": list(tags),
        "username": creators.emitted[owner], "effect_ids": list(corpus.effects[idx] or ()),
        "playlist_id": corpus.playlist_ids[corpus.playlist[idx] - 1] if corpus.playlist[idx] else None,
        "voice_to_text": rng.choice(vocab.VOICE_LINES) if rng.random() < 0.3 else None,
        "is_stem_verified": rng.random() < 0.05, "favorites_count": int(views * rng.random() * 0.02),
        "video_duration": corpus.durations[idx],
        "hashtag_info_list": [{"hashtag_id": hashtag_id(tag), "hashtag_description": tag} for tag in tags],
        "sticker_info_list": _stickers(rng), "effect_info_list": _effect_infos(corpus.effects[idx]),
        "video_mention_list": _mentions(rng, corpus), "video_label": {} if rng.random() < 0.05 else None,
        "video_tag": {"type": "AIGC", "number": rng.choice((1, 2))} if rng.random() < 0.03 else None,
    }
    if rng.random() < 0.03:
        data["like_count"] = None                    # some videos lack like_count (api-notes 2)
    if not tags and rng.random() < 0.5:
        data["hashtag_names"] = None
    if corpus.effects[idx] is None:
        data["effect_ids"] = None
    return {name: data[name] for name in VIDEO_FIELDS_ALL if data.get(name) is not None}


def hashtag_id(tag: str) -> int:
    return 1_000_000 + zlib.crc32(tag.lower().encode("utf-8"))


def _stickers(rng: random.Random) -> list[dict] | None:
    if rng.random() >= 0.1:
        return None
    names = rng.sample(vocab.STICKERS, rng.randint(1, 2))
    return [{"sticker_id": 500_000 + zlib.crc32(name.encode()), "sticker_name": name} for name in names]


def _effect_infos(effects: tuple[str, ...] | None) -> list[dict] | None:
    real = [effect for effect in effects or () if effect != "0"]
    if not real:
        return None
    return [{"effect_id": effect, "effect_name": vocab.EFFECT_NAMES[int(effect) % len(vocab.EFFECT_NAMES)],
             "effect_photo_url": f"https://p16-sign.tiktokcdn-us.com/effect/{effect}.png"} for effect in real]


def _mentions(rng: random.Random, corpus: Corpus) -> list[str] | None:
    if rng.random() >= 0.1:
        return None
    names = corpus.creators.usernames
    return [names[rng.randrange(len(names))] for _ in range(rng.randint(1, 2))]


# --- comments -----------------------------------------------------------------------------------------

def comment_id(idx: int, top: int, reply: int = 0) -> int:
    return COMMENT_ID_BASE + (idx << 20 | top << 10 | reply)


def decode_comment_id(value: int) -> tuple[int, int, int] | None:
    """(video index, top-level position, reply number) of a comment id, or None if it is not one."""
    offset = value - COMMENT_ID_BASE
    if offset < 0:
        return None
    return offset >> 20, (offset >> 10) & 1023, offset & 1023


def reachable_top_comments(corpus: Corpus, idx: int) -> int:
    return min(corpus.top_comments[idx], MAX_REACHABLE_COMMENTS)


def top_level_comments(corpus: Corpus, idx: int) -> list[dict]:
    """The reachable top-level comments of a video (at most 1,000), in the order the API pages them."""
    return list(_cached(corpus, "comments", _render_top_level, 64)(idx))


def _render_top_level(corpus: Corpus, idx: int) -> tuple[dict, ...]:
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


def replies_to(corpus: Corpus, idx: int, top: int) -> list[dict]:
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


def _comment_text(rng: random.Random) -> str:
    text = rng.choice(vocab.COMMENT_TEXTS)
    return text + "\x00" if rng.random() < 0.005 else text
