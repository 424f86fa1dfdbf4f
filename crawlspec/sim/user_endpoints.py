"""The user-centred and playlist endpoints: liked / pinned / reposted videos,
followers, following and playlist info, served from `crawlspec.sim.people`.

Each handler is a callable `(fields, body) -> data` raising `ApiError` for the API's 400s, like
`crawlspec.sim.endpoints`. Paging rules (deterministic, so a dump predicts every page):
- liked videos, followers, following: the cursor is unix seconds ("on or before"), default "now";
  the next cursor is the last record's time minus one. A page never splits records that share one
  second (it ends before them), so no record is skipped or repeated across pages;
- reposted videos and playlists: the cursor is a start index; pinned videos: one answer, no paging.
Deleted videos are not listed. Which lists a user hides (liked videos) or keeps private (following)
is drawn from the seed: `likes_hidden` / `following_private`.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from crawlspec.api import fields as api_fields
from crawlspec.api.fields import MAX_COUNT
from crawlspec.sim import people
from crawlspec.sim.corpus import Corpus
from crawlspec.sim.details import video_data
from crawlspec.sim.endpoint_names import ENDPOINT_PATHS, PATH_LISTS
from crawlspec.sim.query_parse import is_digits, parse_int
from crawlspec.sim.responses import ApiError, Handler, invalid_params

DEFAULT_MAX_COUNT = 20
HIDDEN_LIKES_SHARE = 0.3
PRIVATE_FOLLOWING_SHARE = 0.2
FAR_FUTURE = 2**62   # the default seconds cursor: "now" is after every corpus time
LIST_KEYS: dict[str, str] = {
    "liked_videos": "user_liked_videos", "pinned_videos": "pinned_videos_list",
    "reposted_videos": "reposted_videos", "followers": "user_followers", "following": "user_following",
}
# Which `fields` each endpoint takes (an empty tuple: no `fields` parameter).
FIELDS: dict[str, tuple[str, ...]] = {
    api_fields.LIKED_VIDEOS_PATH: api_fields.USER_VIDEO_FIELDS,
    api_fields.PINNED_VIDEOS_PATH: api_fields.USER_VIDEO_FIELDS,
    api_fields.REPOSTED_VIDEOS_PATH: api_fields.USER_VIDEO_FIELDS,
    api_fields.FOLLOWERS_PATH: (),
    api_fields.FOLLOWING_PATH: (),
    api_fields.PLAYLIST_INFO_PATH: (),
}


def _privacy_draw(corpus: Corpus, creator: int, purpose: str) -> float:
    return random.Random(f"{corpus.options.seed}/{purpose}/{corpus.creators.usernames[creator]}").random()


def likes_hidden(corpus: Corpus, creator: int) -> bool:
    """Most accounts hide their likes; creator 0 never does (examples rely on it)."""
    return creator != 0 and _privacy_draw(corpus, creator, "likes-hidden") < HIDDEN_LIKES_SHARE


def following_private(corpus: Corpus, creator: int) -> bool:
    return creator != 0 and _privacy_draw(corpus, creator, "following-private") < PRIVATE_FOLLOWING_SHARE


@dataclass(frozen=True)
class Entry:
    """One record of a list: its API rendering input and its paging time (seconds lists)."""

    key: int | dict[str, Any]
    time: int = 0


def _live_videos(corpus: Corpus, indexes: list[int]) -> list[Entry]:
    return [Entry(idx, corpus.create_times[idx]) for idx in indexes if not corpus.deleted[idx]]


def _people_entries(records: list[dict[str, Any]]) -> list[Entry]:
    return [Entry({"display_name": r["display_name"], "username": r["username"]}, r["follow_time"])
            for r in records]


def list_entries(corpus: Corpus, creator: int, name: str) -> list[Entry] | str:
    """The records of `name` for `creator`, newest first, or the API's refusal message."""
    user = corpus.creators.usernames[creator]
    if name == "liked_videos":
        if likes_hidden(corpus, creator):
            if corpus.options.hidden_likes_status == 403:
                return f"The user {user} has not enabled the display of liked videos"
            return f"The liked videos of {user}: this information cannot be returned (the user hides them)"
        return _live_videos(corpus, people.liked_videos(corpus, creator))
    if name == "pinned_videos":
        return _live_videos(corpus, people.pinned_videos(corpus, creator))
    if name == "reposted_videos":
        return _live_videos(corpus, people.reposted_videos(corpus, creator))
    if name == "followers":
        return _people_entries(people.followers(corpus, creator))
    if following_private(corpus, creator):
        return f"The following list of {user} is private"
    return _people_entries(people.following(corpus, creator))


def seconds_page(entries: list[Entry], cursor: int, max_count: int) -> tuple[list[Entry], int, bool]:
    """Entries at or before `cursor` (newest first), at most `max_count`, never splitting a second."""
    eligible = [e for e in entries if e.time <= cursor]
    page = eligible[:max_count]
    if len(eligible) > max_count and len(page) > 1 and eligible[max_count].time == page[-1].time:
        cut = page[-1].time
        trimmed = [e for e in page if e.time != cut]
        page = trimmed or page
    rest = eligible[len(page):]
    next_cursor = page[-1].time - 1 if page else cursor
    return page, next_cursor, bool(rest)


def carried_playlists(corpus: Corpus) -> list[int]:
    """Playlist ids that some corpus video carries (the others are unknown to the API), ascending."""
    cached = corpus.caches.get("carried_playlists")
    if cached is None:
        numbers = set(corpus.playlist) - {0}
        cached = corpus.caches["carried_playlists"] = sorted(corpus.playlist_ids[n - 1] for n in numbers)
    return cached


def playlist_info(corpus: Corpus, playlist_id: int) -> dict[str, Any] | None:
    known = carried_playlists(corpus)
    pos = bisect.bisect_left(known, playlist_id)
    return people.playlist(corpus, playlist_id) if pos < len(known) and known[pos] == playlist_id else None


def _username(body: object) -> str:
    username = body.get("username") if isinstance(body, dict) else None
    if not isinstance(username, str) or not username:
        raise invalid_params("username is required")
    return username


def _creator(corpus: Corpus, username: str) -> int:
    found = people.find_user(corpus, username)
    if found.creator is None:
        raise invalid_params(f"The username {username} is invalid: cannot find the user")
    if found.refused:
        raise invalid_params(f"API cannot return this user's information: {username}")
    return found.creator


class UserList:
    """One of the five user-list endpoints; `name` is a key of LIST_KEYS."""

    def __init__(self, corpus: Corpus, name: str) -> None:
        self.corpus, self.name = corpus, name

    def __call__(self, fields: tuple[str, ...], body: object) -> dict[str, Any]:
        username = _username(body)
        assert isinstance(body, dict)
        if self.name == "pinned_videos":
            entries = self._entries(username)
            return {LIST_KEYS[self.name]: self._render(entries, fields)}
        max_count = parse_int(body, "max_count", DEFAULT_MAX_COUNT, 1, MAX_COUNT)
        entries = self._entries(username)
        if self.name == "reposted_videos":
            cursor = parse_int(body, "cursor", 0, 0)
            end = min(cursor + max_count, len(entries))
            page, next_cursor, has_more = entries[cursor:end], end, end < len(entries)
        else:
            page, next_cursor, has_more = seconds_page(entries, parse_int(body, "cursor", FAR_FUTURE, 0), max_count)
        return {LIST_KEYS[self.name]: self._render(page, fields), "cursor": next_cursor, "has_more": has_more}

    def _entries(self, username: str) -> list[Entry]:
        entries = list_entries(self.corpus, _creator(self.corpus, username), self.name)
        if isinstance(entries, str):
            if self.name == "liked_videos" and self.corpus.options.hidden_likes_status == 403:
                raise ApiError(403, "forbidden", entries)
            raise invalid_params(entries)
        return entries

    def _render(self, entries: list[Entry], fields: tuple[str, ...]) -> list[dict[str, Any]]:
        if self.name in ("followers", "following"):
            return [dict(e.key) for e in entries if isinstance(e.key, dict)]
        return [video_data(self.corpus, e.key, fields) for e in entries if isinstance(e.key, int)]


class PlaylistInfo:
    """`/v2/research/playlist/info/`: the playlist with a page of its video ids (cursor = start index)."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus

    def __call__(self, fields: tuple[str, ...], body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_params("request body must be a JSON object")
        raw = body.get("playlist_id")
        playlist_id = int(raw) if isinstance(raw, str) and is_digits(raw) else raw
        if isinstance(playlist_id, bool) or not isinstance(playlist_id, int):
            raise invalid_params("playlist_id is required: an int64 id")
        max_count = parse_int(body, "max_count", DEFAULT_MAX_COUNT, 1, MAX_COUNT)
        cursor = parse_int(body, "cursor", 0, 0)
        info = playlist_info(self.corpus, playlist_id)
        if info is None:
            raise invalid_params(f"The playlist_id {playlist_id} is invalid: cannot find the playlist")
        ids = info["playlist_video_ids"]
        end = min(cursor + max_count, len(ids))
        return {**info, "playlist_video_ids": ids[cursor:end], "cursor": end, "has_more": end < len(ids)}


def handlers(corpus: Corpus) -> dict[str, Handler]:
    """Path -> handler, for `SimulatorApp.handlers`."""
    served: dict[str, Handler] = {
        path: UserList(corpus, name) for path, name in PATH_LISTS.items()}
    served[api_fields.PLAYLIST_INFO_PATH] = PlaylistInfo(corpus)
    return served


def _refuse_scope(fields: tuple[str, ...], body: object) -> dict[str, Any]:
    raise ApiError(401, "scope_not_authorized", "The project is not authorized to access this endpoint")


def refuse_unauthorized(served: dict[str, Handler],
                        names: tuple[str, ...]) -> dict[str, Handler]:
    """The handlers, with those of `names` replaced by a 401 `scope_not_authorized` (a project approved
    for the Research API but not for these endpoints; the request is charged like any other)."""
    refused = {ENDPOINT_PATHS.get(name, name) for name in names}
    return {path: (_refuse_scope if path in refused else handler) for path, handler in served.items()}


def dump_records(corpus: Corpus) -> Iterator[dict[str, Any]]:
    """Dump records (`crawlspec.sim.dump`): every list of every user the API answers for, and every
    playlist. `data.items` are video ids (the videos are in the dump) or {display_name, username};
    an unavailable list has `available: false` and the API's `message`."""
    for creator, username in enumerate(corpus.creators.usernames):
        found = people.find_user(corpus, username)
        if found.creator != creator or found.refused:
            continue
        for name in LIST_KEYS:
            entries = list_entries(corpus, creator, name)
            if isinstance(entries, str):
                data: dict[str, Any] = {"list": name, "available": False, "message": entries, "items": []}
            else:
                data = {"list": name, "available": True,
                        "items": [corpus.ids[e.key] if isinstance(e.key, int) else dict(e.key) for e in entries]}
            yield {"kind": "user_list", "username": username, "data": data}
    for playlist_id in carried_playlists(corpus):
        yield {"kind": "playlist", "data": people.playlist(corpus, playlist_id)}
