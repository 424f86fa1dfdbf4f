"""Response bodies of the simulated API: the data envelope, the error envelope, OAuth errors, log ids."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# A research endpoint: (requested fields, parsed JSON body) -> the `data` of its answer.
Handler = Callable[[tuple[str, ...], object], dict[str, Any]]


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """A research-endpoint error: rendered as `{"error": {code, message, log_id}}` with `status`."""

    def __init__(self, status: int, code: str, message: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after_s = retry_after_s   # sent as a Retry-After header when set


def invalid_params(message: str) -> ApiError:
    return ApiError(400, "invalid_params", message)


def log_id(now: float) -> str:
    """`YYYYMMDDhhmmss` (UTC) followed by hex, like the API's."""
    stamp = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y%m%d%H%M%S")
    return stamp + secrets.token_hex(10).upper()


def json_response(status: int, payload: dict[str, Any]) -> Response:
    return Response(status, json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def data_response(data: dict[str, Any], now: float) -> Response:
    return json_response(200, {"data": data, "error": {"code": "ok", "message": "", "log_id": log_id(now)}})


def error_response(error: ApiError, now: float) -> Response:
    """The error envelope; like observed responses it carries no `data`."""
    response = json_response(error.status, {"error": {"code": error.code, "message": error.message,
                                                      "log_id": log_id(now)}})
    if error.retry_after_s is not None:
        response.headers["Retry-After"] = str(error.retry_after_s)
    return response


def oauth_error(status: int, category: str, description: str, now: float) -> Response:
    """The token endpoint's OAuth error shape, not the data endpoints' envelope."""
    return json_response(status, {"error": category, "error_description": description, "log_id": log_id(now)})
