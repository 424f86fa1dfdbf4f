"""Every table of the database, on one declarative `Base`, split by concern:

- `base`: `Base` and the column types every table uses;
- `core`: videos, hashtags, effects, crawls and tags (the older tool's tables) and the runner's
  spec registry, window checkpoints, day coverage and quota ledger;
- `enrichment`: comment checkpoints, the creator lookup cache, the user-centred crawl's lists, playlists,
  quarantined records;
- `compliance`: refresh runs and their tasks, persistently failing days, quota spent on failures.

Importing this package registers every table on `Base.metadata` (what Alembic and `create_all` see).
"""

from crawlspec.storage.models.base import (
    UNFINISHED_STATUSES,
    WINDOW_STATUSES,
    Base,
    BigIntPK,
    JsonValue,
    UtcDateTime,
    table_of,
)
from crawlspec.storage.models.compliance import (
    ComplianceTask,
    FailingDay,
    FailureSpend,
    RefreshRun,
    TableRefresh,
)
from crawlspec.storage.models.core import (
    Comment,
    CoveredDay,
    Crawl,
    CrawlSpec,
    CrawlTag,
    CrawlWindow,
    Effect,
    Hashtag,
    QuotaUse,
    UserInfo,
    Video,
    WindowLearning,
    crawls_to_crawl_tags,
    videos_to_crawl_tags,
    videos_to_crawls,
    videos_to_effect_ids,
    videos_to_hashtags,
)
from crawlspec.storage.models.enrichment import (
    CommentProgress,
    MaturedRefetch,
    Playlist,
    QuarantinedRecord,
    UserFollower,
    UserFollowing,
    UserLikedVideo,
    UserListProgress,
    UserLookup,
    UserPinnedVideo,
    UserRepostedVideo,
)

__all__ = [
    "UNFINISHED_STATUSES", "WINDOW_STATUSES", "Base", "BigIntPK", "JsonValue", "UtcDateTime", "table_of",
    "ComplianceTask", "FailingDay", "FailureSpend", "RefreshRun", "TableRefresh",
    "Comment", "CoveredDay", "Crawl", "CrawlSpec", "CrawlTag", "CrawlWindow", "Effect", "Hashtag", "QuotaUse",
    "UserInfo", "Video", "WindowLearning", "crawls_to_crawl_tags", "videos_to_crawl_tags", "videos_to_crawls",
    "videos_to_effect_ids", "videos_to_hashtags",
    "CommentProgress", "MaturedRefetch", "Playlist", "QuarantinedRecord", "UserFollower", "UserFollowing",
    "UserLikedVideo", "UserListProgress", "UserLookup", "UserPinnedVideo", "UserRepostedVideo",
]
