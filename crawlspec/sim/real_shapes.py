"""Shapes real answers have taken, reproduced on demand: pages whose region codes are lower case (a whole
page of a real search came back with `"region_code": "us"`) and pages carrying one record whose id does
not fit in 64 bits (20 digits), which a client must quarantine rather than retry.

Which pages are affected is a pure function of the seed and the page asked for (query, dates, cursor;
video or comment id and cursor), so a retried page has the same shape as the first answer.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from crawlspec.api.fields import COMMENTS_PATH, VIDEO_QUERY_PATH

OVERSIZE_ID_BASE = 10**19 * 5   # 20 digits, beyond 2**64
_PAGE_KEYS = {VIDEO_QUERY_PATH: ("query", "start_date", "end_date", "cursor", "max_count", "is_random"),
              COMMENTS_PATH: ("video_id", "comment_id", "cursor", "max_count")}


class RealShapes:
    def __init__(self, seed: int, *, lowercase_region_rate: float = 0.0, oversize_id_rate: float = 0.0) -> None:
        self.seed = seed
        self.lowercase_region_rate = lowercase_region_rate
        self.oversize_id_rate = oversize_id_rate

    @property
    def active(self) -> bool:
        return self.lowercase_region_rate > 0 or self.oversize_id_rate > 0

    def _draw(self, what: str, path: str, body: object) -> float:
        fields = _PAGE_KEYS[path]
        page = {name: body.get(name) for name in fields} if isinstance(body, dict) else {}
        text = json.dumps([self.seed, what, path, page], sort_keys=True, default=str)
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64

    def apply(self, path: str, body: object, data: dict[str, Any]) -> dict[str, Any]:
        """`data` of one page, reshaped as the options ask (unchanged for other endpoints)."""
        if not self.active or path not in _PAGE_KEYS:
            return data
        key = "videos" if path == VIDEO_QUERY_PATH else "comments"
        records = data.get(key)
        if not records:
            return data
        if path == VIDEO_QUERY_PATH and self._draw("region", path, body) < self.lowercase_region_rate:
            for video in records:
                if isinstance(video.get("region_code"), str):
                    video["region_code"] = video["region_code"].lower()
        draw = self._draw("oversize", path, body)
        if draw < self.oversize_id_rate:
            extra = copy.deepcopy(records[0])
            extra["id"] = OVERSIZE_ID_BASE + int(draw * 10**12)
            records.insert(len(records) // 2, extra)
        return data
