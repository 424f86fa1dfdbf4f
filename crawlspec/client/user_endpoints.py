"""The client methods of the user, playlist and reply endpoints, mixed into `TikTokApiRequestClient`.

They reuse the client's `_post` (quota hook, token, retries, classification). A list the API will not
return (hidden likes, private following, unknown user or playlist) is classified `NOT_FOUND` and comes
back as `unavailable` / `not_found` with the API's message: a normal outcome, not an exception.
"""

from __future__ import annotations

from typing import Any

from crawlspec.client.api_requests import fields_param
from crawlspec.client.classify import Kind
from crawlspec.client.responses import TikTokCommentsResponse
from crawlspec.client.user_requests import (
    TikTokCommentRepliesRequest,
    TikTokFollowersRequest,
    TikTokFollowingRequest,
    TikTokLikedVideosRequest,
    TikTokPinnedVideosRequest,
    TikTokPlaylistRequest,
    TikTokPlaylistResponse,
    TikTokRepostedVideosRequest,
    TikTokUserListResponse,
)

UserListRequest = (TikTokLikedVideosRequest | TikTokPinnedVideosRequest | TikTokRepostedVideosRequest
                   | TikTokFollowersRequest | TikTokFollowingRequest)


def _message(envelope: Any) -> str:
    error = envelope.get("error") if isinstance(envelope, dict) else None
    return str(error.get("message", "")) if isinstance(error, dict) else ""


class UserEndpointsMixin:
    """Comment replies, liked / pinned / reposted videos, followers, following, playlist info."""

    _post: Any  # provided by TikTokApiRequestClient

    def fetch_comment_replies(self, req: TikTokCommentRepliesRequest) -> TikTokCommentsResponse:
        envelope, _ = self._post(req.path, req.as_json(), fields_param(req.fields))
        return TikTokCommentsResponse.from_envelope(envelope)

    def fetch_user_list(self, req: UserListRequest) -> TikTokUserListResponse:
        """One page of any user list (the request's class decides the endpoint)."""
        envelope, verdict = self._post(req.path, req.as_json(), fields_param(req.fields))
        if verdict.kind is Kind.NOT_FOUND:
            return TikTokUserListResponse.unavailable_for(envelope, _message(envelope))
        return TikTokUserListResponse.from_envelope(envelope, req.path)

    def fetch_liked_videos(self, req: TikTokLikedVideosRequest) -> TikTokUserListResponse:
        return self.fetch_user_list(req)

    def fetch_pinned_videos(self, req: TikTokPinnedVideosRequest) -> TikTokUserListResponse:
        return self.fetch_user_list(req)

    def fetch_reposted_videos(self, req: TikTokRepostedVideosRequest) -> TikTokUserListResponse:
        return self.fetch_user_list(req)

    def fetch_followers(self, req: TikTokFollowersRequest) -> TikTokUserListResponse:
        return self.fetch_user_list(req)

    def fetch_following(self, req: TikTokFollowingRequest) -> TikTokUserListResponse:
        return self.fetch_user_list(req)

    def fetch_playlist_info(self, req: TikTokPlaylistRequest) -> TikTokPlaylistResponse:
        envelope, verdict = self._post(req.path, req.as_json(), fields_param(req.fields))
        if verdict.kind is Kind.NOT_FOUND:
            return TikTokPlaylistResponse.not_found_for(envelope, _message(envelope))
        return TikTokPlaylistResponse.from_envelope(envelope)
