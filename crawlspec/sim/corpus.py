"""The simulated corpus: videos stored column-wise (memory-lean), their creators and search indexes.

Video ids follow TikTok's snowflake shape, `create_time << 32 | random 32 bits` (so they are above
2^53 and below 2^63), and the corpus is kept sorted by id, which is also create_time order: a
`start_date..end_date` window is one contiguous index range, and decreasing-id order is decreasing
index order. Everything not needed to search (counts, stickers, comments, user details) is derived
lazily from a per-video or per-user seed (`details.py`, `people.py`), so a million videos fit in a
few hundred MiB. The columns and shared constants live in `columns.py`; this module generates them.
"""

from __future__ import annotations

import itertools
import random
from array import array
from collections.abc import Iterator
from typing import Any

from crawlspec.api.regions import REGION_CODES
from crawlspec.sim import vocab
from crawlspec.sim.columns import (
    DAY,
    EXTRA_AIGC,
    EXTRA_LABEL,
    EXTRA_MENTIONS,
    EXTRA_NO_TAG_KEY,
    EXTRA_STEM,
    EXTRA_STICKERS,
    EXTRA_VOICE,
    INFO_NOT_FOUND,
    INFO_OK,
    INFO_REFUSED,
    LENGTH_CLASSES,
    MAX_REACHABLE_COMMENTS,
    CorpusColumns,
    utc_timestamp,
)
from crawlspec.sim.details import video_data
from crawlspec.sim.indexes import build_indexes
from crawlspec.sim.options import SimOptions


class Corpus(CorpusColumns):
    """The columns, with the videos rendered as API dicts on demand (`videos`, `video_data`)."""

    @property
    def videos(self) -> VideoView:
        """The videos as API-shaped dicts (all fields), in id order; indexable and iterable."""
        return VideoView(self)

    def video_data(self, idx: int, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
        """Video `idx` as the API returns it (all fields unless `fields` is given)."""
        return video_data(self, idx) if fields is None else video_data(self, idx, fields)


def zipf_cum_weights(n: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank + 1) ** exponent for rank in range(n)))


class VideoView:
    """Sequence view of a corpus' videos as dicts, rendered lazily."""

    def __init__(self, corpus: Corpus) -> None:
        self._corpus = corpus

    def __len__(self) -> int:
        return len(self._corpus)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        if not -len(self) <= idx < len(self):
            raise IndexError(idx)
        return self._corpus.video_data(idx % len(self))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._corpus.video_data(i) for i in range(len(self)))


def generate_corpus(opts: SimOptions) -> Corpus:
    """The corpus for these options: same options, same corpus (string seeds hash with SHA-512)."""
    rng = random.Random(f"crawlspec-sim/{opts.seed}/corpus")
    corpus = Corpus(options=opts)
    _make_creators(corpus, rng, max(1, opts.videos // 6 + 3))
    _make_ids(corpus, rng)
    _make_music(corpus, rng)
    _make_videos(corpus, rng)
    _make_playlists(corpus, rng)
    _ensure_comment_extremes(corpus, rng)
    _mark_deleted(corpus)
    build_indexes(corpus)
    return corpus


def _make_creators(corpus: Corpus, rng: random.Random, count: int) -> None:
    creators = corpus.creators
    region_cw = zipf_cum_weights(len(vocab.POPULAR_REGIONS), 1.2)
    all_regions = sorted(REGION_CODES)
    for i in range(count):
        name = _unique_handle(rng, creators.by_name, i)
        creators.usernames.append(name)
        creators.by_name[name.lower()] = i
        creators.emitted.append(name + "\x00" * rng.randint(1, 4) if rng.random() < 0.01 else name)
        if rng.random() < 0.97:
            creators.regions.append(rng.choices(vocab.POPULAR_REGIONS, cum_weights=region_cw)[0])
        else:
            creators.regions.append(rng.choice(all_regions))
        creators.topics.append(rng.choices(range(len(vocab.TOPICS)), weights=vocab.TOPIC_WEIGHTS)[0])
        draw = rng.random()
        state = INFO_OK if i == 0 or draw < 0.88 else (INFO_NOT_FOUND if draw < 0.96 else INFO_REFUSED)
        creators.info_state.append(state)
        creators.videos.append(array("I"))


def _unique_handle(rng: random.Random, taken: dict[str, int], i: int) -> str:
    first, word, number = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.HANDLE_WORDS), rng.randint(1, 99)
    pattern = rng.random()
    if pattern < 0.02:
        name = f"{rng.choice(vocab.NON_LATIN_HANDLES)}_{number:02d}"
    elif pattern < 0.30:
        name = f"{first}.{word}"
    elif pattern < 0.60:
        name = f"{first}_{number:02d}"
    elif pattern < 0.85:
        name = f"{word}{first}{number}"
    else:
        name = f"{first}{word}"
    if rng.random() < 0.03:
        name = name.capitalize()                     # a few handles with capitals (matching ignores case)
    if name.lower() in taken:
        name = f"{name}{i}"
    return name


def _make_ids(corpus: Corpus, rng: random.Random) -> None:
    opts = corpus.options
    start_ts, span = utc_timestamp(opts.start), opts.days * DAY
    ids = sorted({((start_ts + rng.randrange(span)) << 32) | rng.getrandbits(32) for _ in range(opts.videos)})
    while len(ids) < opts.videos:                    # a collision of 64 random-ish bits: top up
        ids = sorted(set(ids) | {((start_ts + rng.randrange(span)) << 32) | rng.getrandbits(32)})
    corpus.ids = array("Q", ids)
    corpus.create_times = array("q", (video_id >> 32 for video_id in ids))


def _make_music(corpus: Corpus, rng: random.Random) -> None:
    start_ts = utc_timestamp(corpus.options.start)
    pool = max(20, len(corpus.ids) // 15)
    corpus.music_ids = [((start_ts - rng.randrange(900 * DAY)) << 32) | rng.getrandbits(32) for _ in range(pool)]


def _make_videos(corpus: Corpus, rng: random.Random) -> None:
    creators = corpus.creators
    n = len(corpus.ids)
    creator_cw = zipf_cum_weights(len(creators), 0.85)
    music_cw = zipf_cum_weights(len(corpus.music_ids), 1.1)
    owners = rng.choices(range(len(creators)), cum_weights=creator_cw, k=n)
    music = rng.choices(range(len(corpus.music_ids)), cum_weights=music_cw, k=n)
    effect_pool = [str(rng.choice((rng.randint(10_000, 99_999_999), rng.randint(10**12, 10**13)))) for _ in range(200)]
    effect_cw = zipf_cum_weights(len(effect_pool), 1.1)
    length_weights = [share for *_, share in LENGTH_CLASSES]
    for idx in range(n):
        owner = owners[idx]
        topic = vocab.TOPICS[creators.topics[owner] if rng.random() < 0.75 else
                             rng.choices(range(len(vocab.TOPICS)), weights=vocab.TOPIC_WEIGHTS)[0]]
        tags = _hashtags(rng, topic)
        corpus.creator.append(owner)
        creators.videos[owner].append(idx)
        corpus.hashtags.append(tags)
        corpus.descriptions.append(_description(rng, topic, tags))
        corpus.music.append(music[idx])
        corpus.effects.append(_effects(rng, effect_pool, effect_cw))
        corpus.durations.append(_duration(rng, length_weights))
        top = 0 if rng.random() < 0.3 else min(4000, int(rng.paretovariate(1.15) * 1.5))
        if rng.random() < 0.002:
            top = rng.randint(1001, 2600)
        corpus.top_comments.append(top)
        corpus.replies.append(int(top * rng.random() * 0.6))
        corpus.playlist.append(0)
        _add_metrics(corpus, rng)


_EXTRA_SHARES = ((EXTRA_STEM, 0.05), (EXTRA_VOICE, 0.3), (EXTRA_STICKERS, 0.1), (EXTRA_MENTIONS, 0.1),
                 (EXTRA_LABEL, 0.05), (EXTRA_AIGC, 0.03), (EXTRA_NO_TAG_KEY, 0.5))


def _add_metrics(corpus: Corpus, rng: random.Random) -> None:
    """Counts and presence flags, drawn here so rendering a page needs no random generator."""
    views = int(rng.lognormvariate(6.5, 2.2))
    corpus.views.append(views)
    corpus.likes.append(-1 if rng.random() < 0.03 else int(views * rng.random() * 0.15))
    corpus.shares.append(int(views * rng.random() * 0.01))
    corpus.favorites.append(int(views * rng.random() * 0.02))
    corpus.extras.append(sum(flag for flag, share in _EXTRA_SHARES if rng.random() < share))


_INTERN: dict[str, str] = {}


def _hashtags(rng: random.Random, topic: vocab.Topic) -> tuple[str, ...]:
    if rng.random() < 0.05:
        return ()
    weights = [1.0 / (rank + 1) for rank in range(len(topic.tags))]
    picked = rng.choices(topic.tags, weights=weights, k=rng.randint(1, 3))
    if topic.cross_topics and rng.random() < 0.2:
        picked.append(rng.choice(vocab.TOPIC_BY_NAME[rng.choice(topic.cross_topics)].tags))
    picked += [tag for tag, share in vocab.GENERIC_TAGS if rng.random() < share]
    seen: set[str] = set()
    tags: list[str] = []
    for tag in picked:
        if tag in seen:
            continue
        seen.add(tag)
        variants = vocab.CASE_VARIANTS.get(tag)
        typed = rng.choice(variants) if variants and rng.random() < 0.15 else tag
        tags.append(_INTERN.setdefault(typed, typed))
    rng.shuffle(tags)
    return tuple(tags)


def _description(rng: random.Random, topic: vocab.Topic, tags: tuple[str, ...]) -> str:
    if rng.random() < 0.02:
        return ""
    parts = [rng.choice(topic.phrases), rng.choice(vocab.FILLERS)]
    if rng.random() < 0.9:
        parts += [f"#{tag}" for tag in tags]
    text = " ".join(part for part in parts if part)
    if rng.random() < 0.005:
        cut = rng.randint(0, len(text))
        text = text[:cut] + "\x00" + text[cut:]
    return text


def _effects(rng: random.Random, pool: list[str], cum_weights: list[float]) -> tuple[str, ...] | None:
    draw = rng.random()
    if draw < 0.35:
        return None                                  # key omitted
    if draw < 0.55:
        return ("0",)
    return tuple(dict.fromkeys(rng.choices(pool, cum_weights=cum_weights, k=rng.randint(1, 2))))


def _duration(rng: random.Random, weights: list[float]) -> int:
    _, low, high, _ = rng.choices(LENGTH_CLASSES, weights=weights)[0]
    return low if rng.random() < 0.03 else rng.randint(low, high)   # class boundaries appear too


def _make_playlists(corpus: Corpus, rng: random.Random) -> None:
    start_ts = utc_timestamp(corpus.options.start)
    for owner, videos in enumerate(corpus.creators.videos):
        if len(videos) < 4 or rng.random() >= 0.3:
            continue
        corpus.playlist_ids.append(((start_ts - rng.randrange(300 * DAY)) << 32) | rng.getrandbits(32))
        corpus.playlist_owner.append(owner)
        for idx in videos:
            if rng.random() < 0.5:
                corpus.playlist[idx] = len(corpus.playlist_ids)


def _ensure_comment_extremes(corpus: Corpus, rng: random.Random) -> None:
    """Every corpus of 20+ videos has one video beyond the 1,000 reachable comments, with replies."""
    n = len(corpus.ids)
    if n >= 20 and max(corpus.top_comments) <= MAX_REACHABLE_COMMENTS:
        idx = n // 3
        corpus.top_comments[idx] = rng.randint(1001, 1800)
        corpus.replies[idx] = rng.randint(200, 900)


def _mark_deleted(corpus: Corpus) -> None:
    """Deleted videos come from their own stream: the rest of the corpus does not depend on the rate."""
    opts = corpus.options
    rng = random.Random(f"crawlspec-sim/{opts.seed}/deleted")
    corpus.deleted = bytearray(1 if rng.random() < opts.deleted_rate else 0 for _ in range(len(corpus.ids)))
