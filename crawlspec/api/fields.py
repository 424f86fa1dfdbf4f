"""Facts about the Research API's vocabulary, shared by compiler,
client, storage and simulator. Keep this file a plain transcription of the notes."""

from __future__ import annotations

# Query Videos `fields`. The first 14 are the "classic" ones every client uses.
VIDEO_FIELDS_DEFAULT: tuple[str, ...] = (
    "id", "video_description", "create_time", "region_code", "share_count", "view_count",
    "like_count", "comment_count", "music_id", "hashtag_names", "username", "effect_ids",
    "playlist_id", "voice_to_text",
)
VIDEO_FIELDS_ALL: tuple[str, ...] = VIDEO_FIELDS_DEFAULT + (
    "is_stem_verified", "favorites_count", "video_duration", "hashtag_info_list",
    "sticker_info_list", "effect_info_list", "video_mention_list", "video_label", "video_tag",
)

# Liked / pinned / reposted videos.
USER_VIDEO_FIELDS: tuple[str, ...] = (
    "id", "create_time", "username", "region_code", "video_description", "music_id", "like_count",
    "comment_count", "share_count", "view_count", "hashtag_names", "is_stem_verified",
    "favorites_count", "video_duration", "hashtag_info_list", "sticker_info_list",
    "effect_info_list", "video_mention_list", "video_label", "video_tag",
)

COMMENT_FIELDS: tuple[str, ...] = (
    "id", "video_id", "text", "like_count", "reply_count", "parent_comment_id", "create_time",
)

USER_INFO_FIELDS: tuple[str, ...] = (
    "display_name", "bio_description", "avatar_url", "is_verified", "follower_count",
    "following_count", "likes_count", "video_count", "bio_url",
)

# Video query language; the count fields are in the API docs' current condition table.
COUNT_QUERY_FIELDS: tuple[str, ...] = ("view_count", "comment_count")   # integer strings
ORDERED_QUERY_FIELDS: tuple[str, ...] = ("create_date",) + COUNT_QUERY_FIELDS  # take GT/GTE/LT/LTE too
QUERY_FIELD_NAMES: tuple[str, ...] = (
    "create_date", "username", "region_code", "video_id", "hashtag_name", "keyword", "music_id",
    "effect_id", "video_length",
) + COUNT_QUERY_FIELDS
OPERATIONS: tuple[str, ...] = ("EQ", "IN", "GT", "GTE", "LT", "LTE")
VIDEO_LENGTHS: tuple[str, ...] = ("SHORT", "MID", "LONG", "EXTRA_LONG")
BOOL_OPS: tuple[str, ...] = ("and", "or", "not")

MAX_COUNT = 100                 # records per page on every paginated endpoint
MAX_WINDOW_DAYS = 30            # end_date no more than 30 days after start_date
MAX_COMMENTS_PER_VIDEO = 1000   # only the top 1000 comments of a video are reachable
DAILY_QUOTA = 1000              # research requests per day (followers/following: 20,000)
DAILY_QUOTA_FOLLOW = 20000

# Endpoint paths.
TOKEN_PATH = "/v2/oauth/token/"
VIDEO_QUERY_PATH = "/v2/research/video/query/"
USER_INFO_PATH = "/v2/research/user/info/"
COMMENTS_PATH = "/v2/research/video/comment/list/"
LIKED_VIDEOS_PATH = "/v2/research/user/liked_videos/"
PINNED_VIDEOS_PATH = "/v2/research/user/pinned_videos/"
REPOSTED_VIDEOS_PATH = "/v2/research/user/reposted_videos/"
FOLLOWERS_PATH = "/v2/research/user/followers/"
FOLLOWING_PATH = "/v2/research/user/following/"
PLAYLIST_INFO_PATH = "/v2/research/playlist/info/"
COMPLIANCE_CREATE_PATH = "/v2/research/validation_task/create/"
COMPLIANCE_STATUS_PATH = "/v2/research/validation_task_status/get/"
COMPLIANCE_DOWNLOAD_PATH = "/v2/research/validation_task/download/"

# Which daily pool a research endpoint draws from.
FOLLOW_POOL_PATHS: frozenset[str] = frozenset({FOLLOWERS_PATH, FOLLOWING_PATH})


def quota_pool_limits(daily_quota: int = DAILY_QUOTA, daily_quota_follow: int = DAILY_QUOTA_FOLLOW) -> dict[str, int]:
    """The daily limit of each quota pool, the one rule `run`, `refresh`, `status` and the library share:
    `research` is `api.daily_quota`; `follow` is `api.daily_quota_follow`, a separate pool of the API
    (20,000 a day), not a multiple of the research budget."""
    return {"research": int(daily_quota), "follow": int(daily_quota_follow)}


def quota_pool(path: str) -> str:
    """'follow' for followers/following (20,000/day), 'research' for every other endpoint."""
    return "follow" if path in FOLLOW_POOL_PATHS else "research"
