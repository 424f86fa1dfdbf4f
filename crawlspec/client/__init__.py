"""HTTP client for the TikTok Research API: credentials, request/response classes, retries, raw archive.

Names are exported lazily (PEP 562) so that importing one light submodule (e.g. credentials) does not
pull in `requests` and `backoff` for commands that never talk to the API. The decision function is
`crawlspec.client.classify.classify` (not re-exported: the attribute name is the submodule's).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "Credentials": "credentials",
    "load_credentials": "credentials",
    "ENV_CLIENT_KEY": "credentials",
    "ENV_CLIENT_SECRET": "credentials",
    "TikTokVideoRequest": "api_requests",
    "TikTokCommentsRequest": "api_requests",
    "TikTokUserInfoRequest": "api_requests",
    "TikTokVideoResponse": "responses",
    "TikTokCommentsResponse": "responses",
    "TikTokUserInfoResponse": "responses",
    "TikTokCommentRepliesRequest": "user_requests",
    "TikTokLikedVideosRequest": "user_requests",
    "TikTokPinnedVideosRequest": "user_requests",
    "TikTokRepostedVideosRequest": "user_requests",
    "TikTokFollowersRequest": "user_requests",
    "TikTokFollowingRequest": "user_requests",
    "TikTokPlaylistRequest": "user_requests",
    "TikTokUserListResponse": "user_requests",
    "TikTokPlaylistResponse": "user_requests",
    "RetryPolicy": "retry",
    "Kind": "classify",
    "Outcome": "classify",
    "Verdict": "classify",
    "RawArchive": "raw_archive",
    "TikTokApiRequestClient": "http",
    "DEFAULT_API_BASE_URL": "http",
    "default_api_base_url": "http",
}

__all__ = [
    "Credentials",
    "DEFAULT_API_BASE_URL",
    "ENV_CLIENT_KEY",
    "ENV_CLIENT_SECRET",
    "Kind",
    "Outcome",
    "RawArchive",
    "RetryPolicy",
    "TikTokApiRequestClient",
    "TikTokCommentsRequest",
    "TikTokCommentsResponse",
    "TikTokUserInfoRequest",
    "TikTokUserInfoResponse",
    "TikTokVideoRequest",
    "TikTokVideoResponse",
    "Verdict",
    "TikTokCommentRepliesRequest",
    "TikTokLikedVideosRequest",
    "TikTokPinnedVideosRequest",
    "TikTokRepostedVideosRequest",
    "TikTokFollowersRequest",
    "TikTokFollowingRequest",
    "TikTokPlaylistRequest",
    "TikTokUserListResponse",
    "TikTokPlaylistResponse",
    "load_credentials",
    "default_api_base_url",
]

if TYPE_CHECKING:
    from crawlspec.client.api_requests import TikTokCommentsRequest, TikTokUserInfoRequest, TikTokVideoRequest
    from crawlspec.client.classify import Kind, Outcome, Verdict
    from crawlspec.client.credentials import ENV_CLIENT_KEY, ENV_CLIENT_SECRET, Credentials, load_credentials
    from crawlspec.client.http import DEFAULT_API_BASE_URL, TikTokApiRequestClient, default_api_base_url
    from crawlspec.client.raw_archive import RawArchive
    from crawlspec.client.responses import (
        TikTokCommentsResponse,
        TikTokUserInfoResponse,
        TikTokVideoResponse,
    )
    from crawlspec.client.retry import RetryPolicy


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'crawlspec.client' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"crawlspec.client.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
