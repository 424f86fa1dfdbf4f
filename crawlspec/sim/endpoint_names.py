"""The simulator's endpoint names (`--unauthorized-endpoints`): a short name or the API path of each."""

from __future__ import annotations

from crawlspec.api import fields as api_fields

# The user-list endpoints and the list each one serves.
PATH_LISTS: dict[str, str] = {
    api_fields.LIKED_VIDEOS_PATH: "liked_videos", api_fields.PINNED_VIDEOS_PATH: "pinned_videos",
    api_fields.REPOSTED_VIDEOS_PATH: "reposted_videos", api_fields.FOLLOWERS_PATH: "followers",
    api_fields.FOLLOWING_PATH: "following",
}

# Endpoint names accepted by `--unauthorized-endpoints` (an API path is accepted too).
ENDPOINT_PATHS: dict[str, str] = {
    "video_query": api_fields.VIDEO_QUERY_PATH, "user_info": api_fields.USER_INFO_PATH,
    "comments": api_fields.COMMENTS_PATH, "playlist": api_fields.PLAYLIST_INFO_PATH,
    **{name: path for path, name in PATH_LISTS.items()},
}


def unknown_endpoint_names(names: tuple[str, ...] | str) -> list[str]:
    listed = names.split(",") if isinstance(names, str) else names
    known = set(ENDPOINT_PATHS) | set(ENDPOINT_PATHS.values())
    return [name for name in listed if name and name not in known]
