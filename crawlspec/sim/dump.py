"""The corpus dump: JSON lines of videos (id order), users, then comments.

`data` is exactly what the API returns with every field requested. Record-level extras: videos carry
`deleted`; users carry `username` (the API does not echo it inside `data`). Comments
are those the API can return: the first 1,000 top-level comments of each live video and the first
1,000 replies of each of those. Then `user_list` records (`username`; `data`: list, available,
items) and `playlist` records (crawlspec.sim.user_endpoints.dump_records).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crawlspec.sim import details, people, user_endpoints
from crawlspec.sim.corpus import Corpus


def dump_records(corpus: Corpus) -> Iterator[dict[str, Any]]:
    for idx in range(len(corpus)):
        yield {"kind": "video", "deleted": bool(corpus.deleted[idx]), "data": corpus.video_data(idx)}
    for creator, username in enumerate(corpus.creators.usernames):
        found = people.find_user(corpus, username)
        if found.creator == creator and not found.refused:
            yield {"kind": "user", "username": username, "data": people.user_info(corpus, creator)}
    for idx in range(len(corpus)):
        if corpus.deleted[idx] or not corpus.top_comments[idx]:
            continue
        listing = details.video_listing(corpus, idx)   # tops with their replies, <= 1,000 items
        listed = {comment["id"] for comment in listing}
        for comment in listing:
            yield {"kind": "comment", "data": comment}
        for comment in listing:   # replies cut by the cap: reachable through the `comment_id` listing
            if comment["parent_comment_id"] == comment["video_id"] and comment["reply_count"]:
                _idx, top, _reply = details.decode_comment_id(comment["id"]) or (idx, 0, 0)
                for reply in details.replies_to(corpus, idx, top):
                    if reply["id"] not in listed:
                        yield {"kind": "comment", "data": reply}
    yield from user_endpoints.dump_records(corpus)   # user_list (per user and list), then playlist


def dump_corpus(corpus: Corpus, path: str | Path) -> None:
    """Write the dump and close the file (callers announce readiness only afterwards)."""
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for record in dump_records(corpus):
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
