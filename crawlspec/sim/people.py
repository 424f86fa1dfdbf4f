"""Creators' profiles and social graph, derived on demand from a per-user seed.

Served: user info, and for the user/playlist endpoints: followers and
following (with follow times, so a seconds cursor works), liked, pinned and reposted videos (corpus
indexes), and playlists (grouped from a creator's videos in the corpus).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from typing import Any

from crawlspec.sim import vocab
from crawlspec.sim.columns import DAY, INFO_OK, INFO_REFUSED, CorpusColumns, utc_timestamp
from crawlspec.sim.indexes import clean_username


@dataclass(frozen=True)
class UserLookup:
    creator: int | None        # creator index, None when unknown
    refused: bool = False      # known, but the API cannot return this user's information


def find_user(corpus: CorpusColumns, username: str) -> UserLookup:
    """Look a handle up the way the API does: case-insensitive, NUL padding ignored, no `@` stripping."""
    creator = corpus.creators.by_name.get(clean_username(username))
    if creator is None or corpus.creators.info_state[creator] not in (INFO_OK, INFO_REFUSED):
        return UserLookup(None)
    return UserLookup(creator, refused=corpus.creators.info_state[creator] == INFO_REFUSED)


def _user_rng(corpus: CorpusColumns, creator: int, purpose: str) -> random.Random:
    return random.Random(f"{corpus.options.seed}/{purpose}/{corpus.creators.usernames[creator]}")


def user_info(corpus: CorpusColumns, creator: int) -> dict[str, Any]:
    """The user info object (all fields; `username` is not echoed)."""
    rng = _user_rng(corpus, creator, "user")
    name = corpus.creators.usernames[creator]
    rank_boost = 1.0 / (creator + 1) ** 0.8
    followers = int(rng.lognormvariate(7, 2) + 50_000_000 * rank_boost * rng.random())
    videos_here = len(corpus.creators.videos[creator])
    display = name.split(".")[0].split("_")[0].capitalize()
    if rng.random() < 0.1:
        display = f"{display} {rng.choice(vocab.NON_LATIN_HANDLES)}"
    data = {
        "display_name": display,
        "bio_description": "" if rng.random() < 0.3 else rng.choice(vocab.VOICE_LINES),
        "avatar_url": f"https://p16-sign.tiktokcdn-us.com/tos-useast5-avt-0068-tx/{hash_name(name):x}"
                      f"~tplv-tiktokx-cropcenter:168:168.jpeg?x-expires=1710000000&x-signature=abc",
        "is_verified": followers > 1_000_000 and rng.random() < 0.5,
        "follower_count": followers,
        "following_count": rng.randint(0, 3000),
        "likes_count": followers * rng.randint(3, 40),
        "video_count": videos_here + rng.randint(0, 200),
    }
    if rng.random() < 0.4:
        data["bio_url"] = f"https://example.org/{clean_username(name)}"
    return data


def hash_name(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def _people(corpus: CorpusColumns, creator: int, purpose: str, most: int) -> list[dict[str, Any]]:
    """Followers or following: other creators (by handle) with follow times, newest first."""
    rng = _user_rng(corpus, creator, purpose)
    count = min(len(corpus.creators) - 1, rng.randint(0, most))
    others = [i for i in rng.sample(range(len(corpus.creators)), min(len(corpus.creators), count + 1)) if i != creator]
    newest = utc_timestamp(corpus.options.start) + corpus.options.days * DAY
    times = sorted((newest - rng.randrange(800 * DAY) for _ in others), reverse=True)
    return [{"username": corpus.creators.usernames[i], "display_name": corpus.creators.usernames[i].title(),
             "follow_time": when} for i, when in zip(others[:count], times, strict=False)]


def followers(corpus: CorpusColumns, creator: int) -> list[dict[str, Any]]:
    return _people(corpus, creator, "followers", 300)


def following(corpus: CorpusColumns, creator: int) -> list[dict[str, Any]]:
    return _people(corpus, creator, "following", 150)


def _video_sample(corpus: CorpusColumns, creator: int, purpose: str, most: int) -> list[int]:
    rng = _user_rng(corpus, creator, purpose)
    return sorted(rng.sample(range(len(corpus)), min(len(corpus), rng.randint(0, most))), reverse=True)


def liked_videos(corpus: CorpusColumns, creator: int) -> list[int]:
    return _video_sample(corpus, creator, "liked", 200)


def reposted_videos(corpus: CorpusColumns, creator: int) -> list[int]:
    return _video_sample(corpus, creator, "reposted", 40)


def pinned_videos(corpus: CorpusColumns, creator: int) -> list[int]:
    own = corpus.creators.videos[creator]
    return list(own[-3:])[::-1] if own else []


def playlist(corpus: CorpusColumns, playlist_id: int) -> dict[str, Any] | None:
    """Playlist info for a playlist id carried by corpus videos, or None."""
    try:
        number = corpus.playlist_ids.index(playlist_id) + 1
    except ValueError:
        return None
    owner = corpus.playlist_owner[number - 1]
    videos = [corpus.ids[idx] for idx in corpus.creators.videos[owner] if corpus.playlist[idx] == number]
    return {"playlist_id": playlist_id, "playlist_name": f"{corpus.creators.usernames[owner]} picks",
            "playlist_item_total": len(videos), "playlist_last_updated": max(corpus.ids[0] >> 32, videos[-1] >> 32),
            "playlist_video_ids": videos}
