"""The corpus oracle: what the simulator's JSON-lines dump says exists, read independently of crawlspec."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path


def read_corpus_dump(path: Path) -> dict[str, list[dict]]:
    """The simulator's JSON-lines dump, grouped by kind (videos keep their `deleted` flag)."""
    kinds: dict[str, list[dict]] = {"video": [], "comment": [], "user": []}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            item = dict(record["data"])
            if record["kind"] == "video":
                item["_deleted"] = record.get("deleted", False)
            if "username" in record:  # user records: the API does not echo it inside `data`
                item.setdefault("username", record["username"])
            kinds.setdefault(record["kind"], []).append(item)
    return kinds


def video_day(video: dict) -> str:
    """A video's UTC creation day, YYYY-MM-DD."""
    return datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")
