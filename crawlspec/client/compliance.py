"""Batch compliance requests on top of the client's token, retry and classify machinery.

`ComplianceClient` is a `TikTokApiRequestClient` whose `_send` also knows the two shapes the compliance
endpoints need beyond JSON: the multipart upload of `validation_task/create/` (`file_data` + `category`)
and the plain-text answer of `validation_task/download/`. Everything else (quota reservation before each
attempt, token renewal, retries, error classes) is the parent's. Task ids exceed 2^63: they travel as
decimal strings in Python and as exact JSON integers on the wire.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from crawlspec.api.fields import COMPLIANCE_CREATE_PATH, COMPLIANCE_DOWNLOAD_PATH, COMPLIANCE_STATUS_PATH
from crawlspec.client.classify import Outcome
from crawlspec.client.http import TikTokApiRequestClient, _outcome_of
from crawlspec.client.responses import parse_json
from crawlspec.compliance.download import UnreadableIdFile, parse_valid_ids
from crawlspec.errors import ApiError

MAX_IDS_PER_TASK = 10_000
CATEGORIES = ("video", "comment")
TASK_STATUSES = ("Processing", "Completed", "Failed")


@dataclass(frozen=True)
class IdUpload:
    """The multipart body of a create request: the id file (one id per line) and its category."""

    category: str
    ids_text: str


def id_file(ids: list[int]) -> str:
    """The uploaded file: one id per line (at most 10,000)."""
    if len(ids) > MAX_IDS_PER_TASK:
        raise ValueError(f"a validation task takes at most {MAX_IDS_PER_TASK} ids, got {len(ids)}")
    return "".join(f"{int(item)}\n" for item in ids)


class ComplianceClient(TikTokApiRequestClient):
    """`create_task`, `task_status`, `valid_ids`: one request each (retried like any research request)."""

    def create_task(self, category: str, ids_text: str) -> str:
        if category not in CATEGORIES:
            raise ValueError(f"category must be one of {CATEGORIES}, got {category!r}")
        envelope, _ = self._post(COMPLIANCE_CREATE_PATH, IdUpload(category, ids_text), "")
        return _task_id_of(envelope)

    def task_status(self, task_id: str) -> str:
        """`Processing`, `Completed` or `Failed`."""
        envelope, _ = self._post(COMPLIANCE_STATUS_PATH, {"task_id": int(task_id)}, "")
        status = envelope.get("data", {}).get("task_status")
        if status not in TASK_STATUSES:
            raise ApiError(f"unexpected task_status {status!r} for task {task_id}", status=200,
                           code="unexpected_answer", endpoint=COMPLIANCE_STATUS_PATH)
        return str(status)

    def valid_ids(self, task_id: str) -> set[int]:
        """The ids of a completed task that are still valid."""
        envelope, _ = self._post(COMPLIANCE_DOWNLOAD_PATH, {"task_id": int(task_id)}, "")
        text = envelope.get("data", {}).get("valid_ids_text", "")
        try:
            return parse_valid_ids(str(text))
        except UnreadableIdFile as error:
            raise ApiError(f"the download of task {task_id} holds {error}", status=200,
                           code="unexpected_answer", endpoint=COMPLIANCE_DOWNLOAD_PATH) from None

    def _send(self, path: str, body: Any, fields: str, token_of: Callable[[], str]) -> Outcome:
        if path not in (COMPLIANCE_CREATE_PATH, COMPLIANCE_STATUS_PATH, COMPLIANCE_DOWNLOAD_PATH):
            return super()._send(path, body, fields, token_of)
        token = self._admit(path, token_of)
        url, headers = f"{self.api_base_url}{path}", {"Authorization": f"Bearer {token}"}
        try:
            if isinstance(body, IdUpload):   # requests writes the multipart body and its boundary
                resp = self._session.post(url, headers=headers, timeout=self._timeout,
                                          files={"file_data": ("ids.txt", body.ids_text.encode("ascii"), "text/plain")},
                                          data={"category": body.category})
            else:
                resp = self._session.post(url, data=json.dumps(body).encode("utf-8"), timeout=self._timeout,
                                          headers={**headers, "Content-Type": "application/json"})
        except requests.RequestException as exc:
            return Outcome(path=path, exception=exc)
        if path == COMPLIANCE_DOWNLOAD_PATH and resp.status_code == 200:
            return _download_outcome(path, resp)
        return _outcome_of(path, resp)


def _download_outcome(path: str, resp: requests.Response) -> Outcome:
    """A 200 download is the id file itself (text); wrapped as an ok envelope for the classifier."""
    try:
        parsed = parse_json(resp.content)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):   # an envelope after all (an error, or a JSON-wrapped file)
        return _outcome_of(path, resp)
    envelope = {"data": {"valid_ids_text": resp.content.decode("utf-8", "replace")},
                "error": {"code": "ok", "message": ""}}
    return Outcome(path=path, status=200, body=envelope)


def _task_id_of(envelope: dict[str, Any]) -> str:
    raw = envelope.get("data", {}).get("task_id")
    if isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit())):
        raise ApiError(f"validation_task/create answered without a task id ({raw!r})", status=200,
                       code="unexpected_answer", endpoint=COMPLIANCE_CREATE_PATH)
    return str(raw)
