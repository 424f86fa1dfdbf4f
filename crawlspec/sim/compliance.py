"""Batch compliance, videos and comments that become unavailable over simulated days,
and date ranges that fail persistently (public reports: "some date ranges fail permanently").

- `Availability`: at each new simulated UTC day (`POST /_sim/advance-day`, or the real clock crossing
  midnight) each live video and comment becomes unavailable with probability `unavailable_rate`. Videos
  are marked in the simulator's own copy of `corpus.deleted` (so they vanish from queries but keep their
  cursor slots, like deleted videos); comments are decided by a per-comment seeded draw per day, so
  nothing has to enumerate the millions of comments. Same seed and day count, same outcome.
- `ComplianceService`: `validation_task/create/` (multipart `file_data` + `category`),
  `validation_task_status/get/` (`Processing` for `compliance_polls` polls, then `Completed`, or
  `Failed` for tasks marked by `POST /_sim/compliance/fail-next?count=N`) and
  `validation_task/download/` (text, one still-valid id per line). Task ids exceed 2^63 like the doc's
  example. Every request is counted and charged to the daily research quota.
- `failing_day_error`: the 500 `internal_error` of a video query whose window touches `failing_days`.
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import json
import random
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from crawlspec.api import fields as api_fields
from crawlspec.sim import details
from crawlspec.sim.corpus import Corpus
from crawlspec.sim.day_ranges import DayRange, touches
from crawlspec.sim.gate import admit_research_request
from crawlspec.sim.query_parse import parse_date
from crawlspec.sim.responses import (
    ApiError,
    Response,
    data_response,
    error_response,
    invalid_params,
    json_response,
)
from crawlspec.sim.state import Quota, SimClock, Stats, TokenStore

PATHS = frozenset({api_fields.COMPLIANCE_CREATE_PATH, api_fields.COMPLIANCE_STATUS_PATH,
                   api_fields.COMPLIANCE_DOWNLOAD_PATH})
ADMIN_PREFIX = "/_sim/compliance/"
MAX_IDS_PER_TASK = 10_000
CATEGORIES = ("video", "comment")
TASK_ID_RANGE = (10_000_000_000_000_000_000, 18_000_000_000_000_000_000)   # above 2^63, below 2^64
INTERNAL_ERROR = "Something went wrong. Please try again later."


class Availability:
    """Which videos and comments are still available after the simulated days elapsed so far."""

    def __init__(self, corpus: Corpus, rate: float, seed: int, clock: SimClock) -> None:
        self.corpus, self.rate, self.seed, self.clock = corpus, rate, seed, clock
        self.origin = clock.today()
        self.days_applied = 0
        self.videos_gone = 0
        self._lock = threading.Lock()

    def sync(self) -> None:
        """Apply one unavailability step per UTC day elapsed since the last call."""
        if self.rate <= 0:
            return
        due = (self.clock.today() - self.origin).days
        with self._lock:
            while self.days_applied < due:
                self.days_applied += 1
                self._retire_videos(self.days_applied)

    def _retire_videos(self, day: int) -> None:
        rng = random.Random(f"crawlspec-sim/{self.seed}/unavailable/{day}")
        deleted, rate = self.corpus.deleted, self.rate
        for idx in range(len(deleted)):
            if rng.random() < rate and not deleted[idx]:   # one draw per video: order-independent
                deleted[idx] = 1
                self.videos_gone += 1

    def video_valid(self, video_id: int) -> bool:
        pos = self.corpus.position(video_id)
        return pos is not None and not self.corpus.deleted[pos]

    def comment_gone(self, comment_id: int) -> bool:
        """A comment's own disappearance (its video's is checked by `comment_valid`)."""
        if self.rate <= 0 or self.days_applied == 0:
            return False
        rng = random.Random(f"crawlspec-sim/{self.seed}/comment-gone/{comment_id}")
        return any(rng.random() < self.rate for _ in range(self.days_applied))

    def comment_valid(self, comment_id: int) -> bool:
        place = details.decode_comment_id(comment_id)
        if place is None:
            return False
        idx, top, reply = place
        corpus = self.corpus
        if idx >= len(corpus) or corpus.deleted[idx] or top >= details.reachable_top_comments(corpus, idx):
            return False
        parent_id = details.comment_id(idx, top)
        if reply and (reply > details.top_level_comments(corpus, idx)[top]["reply_count"]
                      or reply > details.MAX_REACHABLE_REPLIES or self.comment_gone(parent_id)):
            return False
        return not self.comment_gone(comment_id)

    def valid(self, category: str, item_id: int) -> bool:
        return self.video_valid(item_id) if category == "video" else self.comment_valid(item_id)


@dataclass
class Task:
    task_id: int
    category: str
    valid_ids: list[int]
    polls_left: int
    fails: bool
    status: str = "Processing"


class ComplianceService:
    """The three batch-compliance endpoints plus their admin switch."""

    def __init__(self, availability: Availability, *, polls: int, seed: int, quota: Quota,
                 tokens: TokenStore, clock: SimClock, stats: Stats, file_style: str = "plain") -> None:
        self.availability, self.polls, self.file_style = availability, polls, file_style
        self.quota, self.tokens, self.clock, self.stats = quota, tokens, clock, stats
        self.tasks: dict[int, Task] = {}
        self.fail_next = 0
        self._rng = random.Random(f"crawlspec-sim/{seed}/validation-tasks")
        self._lock = threading.Lock()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        now = self.clock.now()
        try:
            admit_research_request(method, path, headers, quota=self.quota, tokens=self.tokens,
                                   stats=self.stats, today=self.clock.today(), now=now)
            self.availability.sync()
            if path == api_fields.COMPLIANCE_CREATE_PATH:
                return data_response(self._create(headers.get("content-type", ""), body), now)
            if path == api_fields.COMPLIANCE_STATUS_PATH:
                return data_response(self._status(body), now)
            return self._download(body)
        except ApiError as error:
            return error_response(error, now)

    def admin(self, method: str, path: str, query_string: str) -> Response:
        """`POST /_sim/compliance/fail-next?count=N`: the next N tasks created end `Failed` (0 resets)."""
        if path == ADMIN_PREFIX + "fail-next" and method == "POST":
            counts = parse_qs(query_string).get("count", ["1"])
            with self._lock:
                self.fail_next = max(0, int(counts[0]))
            return json_response(200, {"fail_next": self.fail_next})
        if path == ADMIN_PREFIX + "tasks" and method == "GET":
            with self._lock:
                tasks = {str(t.task_id): {"category": t.category, "status": t.status} for t in self.tasks.values()}
            return json_response(200, {"tasks": tasks})
        return json_response(404, {"error": {"code": "not_found", "message": f"no admin endpoint {method} {path}"}})

    # --- endpoints ---------------------------------------------------------------------------------

    def _create(self, content_type: str, body: bytes) -> dict[str, Any]:
        form = parse_multipart(content_type, body)
        category = form.get("category", b"").decode("utf-8", "replace").strip()
        if category not in CATEGORIES:
            raise invalid_params(f"category must be one of {', '.join(CATEGORIES)}, got {category!r}")
        if "file_data" not in form:
            raise invalid_params("file_data is required: a text file of video or comment ids")
        ids = parse_id_file(form["file_data"])
        if not ids:
            raise invalid_params("file_data holds no ids")
        if len(ids) > MAX_IDS_PER_TASK:
            raise invalid_params(f"file_data holds {len(ids)} ids; at most {MAX_IDS_PER_TASK} per task")
        valid = [item for item in ids if self.availability.valid(category, item)]
        with self._lock:
            task_id = self._rng.randrange(*TASK_ID_RANGE)
            fails, self.fail_next = self.fail_next > 0, max(0, self.fail_next - 1)
            self.tasks[task_id] = Task(task_id, category, valid, self.polls, fails)
        return {"task_id": task_id}

    def _task(self, body: bytes) -> Task:
        try:
            payload = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise invalid_params("request body is not valid JSON") from None
        raw = payload.get("task_id") if isinstance(payload, dict) else None
        if isinstance(raw, str) and raw.isdigit():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise invalid_params(f"task_id must be an integer, got {raw!r}")
        with self._lock:
            task = self.tasks.get(raw)
        if task is None:
            raise invalid_params(f"task_id {raw} is invalid: cannot find the task")
        return task

    def _status(self, body: bytes) -> dict[str, Any]:
        task = self._task(body)
        with self._lock:
            if task.status == "Processing":
                if task.polls_left > 0:
                    task.polls_left -= 1
                else:
                    task.status = "Failed" if task.fails else "Completed"
            return {"task_status": task.status}

    def _download(self, body: bytes) -> Response:
        task = self._task(body)
        if task.status != "Completed":
            raise invalid_params(f"task {task.task_id} is {task.status}, not Completed")
        return Response(200, id_file_text(task.valid_ids, self.file_style).encode("ascii"),
                        content_type="text/plain")


def id_file_text(ids: list[int], style: str) -> str:
    """The download file: "plain" is one id a line; "header_crlf" the shapes a file whose format is
    published nowhere may take: a header line, CRLF line ends, blank lines, a trailing blank line."""
    if style == "plain":
        return "".join(f"{item}\n" for item in ids)
    lines = ["video_id"] + [str(item) for item in ids]
    lines[len(lines) // 2:len(lines) // 2] = ["", "  "]
    return "\r\n".join(lines) + "\r\n\r\n"


def parse_multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """Fields of a multipart/form-data body by name (files as their raw bytes)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise invalid_params("validation_task/create takes a multipart/form-data body "
                             f"(file_data, category), got Content-Type {content_type or 'none'!r}")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, bytes] = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True)
            fields[str(name)] = payload if isinstance(payload, bytes) else b""
    if not fields:
        raise invalid_params("multipart body without form fields")
    return fields


def parse_id_file(data: bytes) -> list[int]:
    """Ids separated by newlines, commas or spaces; anything not an id is a 400."""
    ids = []
    for token in data.decode("utf-8", "replace").replace(",", " ").split():
        if not token.isdigit():
            raise invalid_params(f"file_data holds {token[:40]!r}, which is not an id")
        ids.append(int(token))
    return ids


def failing_day_error(ranges: tuple[DayRange, ...], body: object) -> ApiError | None:
    """The persistent 500 for a video query whose start_date..end_date touches a failing range."""
    if not ranges or not isinstance(body, dict):
        return None
    try:
        start, end = parse_date(body.get("start_date"), "start_date"), parse_date(body.get("end_date"), "end_date")
    except ApiError:
        return None   # the endpoint's own validation answers this one
    return ApiError(500, "internal_error", INTERNAL_ERROR) if touches(ranges, start, end) else None


def own_copy(corpus: Corpus) -> Corpus:
    """The corpus with its own `deleted` flags, so that retiring videos never touches a caller's corpus."""
    return dataclasses.replace(corpus, deleted=bytearray(corpus.deleted))
