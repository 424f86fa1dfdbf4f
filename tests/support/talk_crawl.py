"""The comments and creators crawl ("talk"): its spec, a plain reading of the corpus dump (what it matches,
the minimum requests per endpoint), the `crawlspec run` command line and the rows it stores."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from support.corpus import read_corpus_dump
from support.databases import query_rows

VIDEO_PATH = "/v2/research/video/query/"
COMMENTS_PATH = "/v2/research/video/comment/list/"
USER_INFO_PATH = "/v2/research/user/info/"
SPEC = """\
name: talk
query:
  raw:
    or:
      - {operation: IN, field_name: hashtag_name, field_values: [shoes, sneakers, fashion]}
      - {operation: IN, field_name: video_id, field_values: ["%s"]}
window: {start: "2024-03-01", end: "2024-03-31", days_per_query: 16}
fetch: {comments: true, user_info: true}
"""
WINDOWS = [("2024-03-01", "2024-03-16"), ("2024-03-17", "2024-03-31")]
WANTED = {"shoes", "sneakers", "fashion"}


class Corpus:
    """A deliberately plain reading of the dump: what the spec matches and what the API can return."""

    def __init__(self, dump: Path):
        records = read_corpus_dump(dump)
        self.videos = records["video"]
        live = [v for v in self.videos if not v["_deleted"]]
        self.most_commented = max(live, key=lambda v: v.get("comment_count", 0))["id"]
        self.comments = records["comment"]
        self.users = {user["username"]: user for user in records["user"]}

    def matching(self, first: str = "2024-03-01", last: str = "2024-03-31", *, live_only: bool = True) -> list[dict]:
        found = []
        for video in self.videos:
            day = datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")
            tags = {t.lower() for t in video.get("hashtag_names", [])}
            wanted = bool(tags & WANTED) or video["id"] == self.most_commented
            if first <= day <= last and wanted and not (live_only and video["_deleted"]):
                found.append(video)
        return found

    def video_pages(self) -> int:
        """The cursor counts deleted videos too; 100 per page; at least one request per window."""
        return sum(max(1, -(-len(self.matching(a, b, live_only=False)) // 100)) for a, b in WINDOWS)

    def top_level_comments(self) -> dict[int, list[dict]]:
        """Top-level comments (parent == video) of the matching live videos, per video."""
        wanted = {video["id"] for video in self.matching()}
        per_video: dict[int, list[dict]] = {}
        for comment in self.comments:
            if comment["video_id"] in wanted and comment["parent_comment_id"] == comment["video_id"]:
                per_video.setdefault(comment["video_id"], []).append(comment)
        return per_video

    def listings(self) -> dict[int, list[dict]]:
        """What the `video_id` listing returns per matching live video: each top-level comment followed by
        its replies (comment ids sort that way), the first 1,000 items in all."""
        wanted = {video["id"] for video in self.matching()}
        per_video: dict[int, list[dict]] = {}
        for comment in self.comments:
            if comment["video_id"] in wanted:
                per_video.setdefault(comment["video_id"], []).append(comment)
        return {video: sorted(items, key=lambda c: c["id"])[:1000] for video, items in per_video.items()}

    def comment_pages(self) -> int:
        """One page per 100 listed items (comments and replies) of each video whose comment_count > 0."""
        per_video = self.listings()
        return sum(max(1, -(-len(per_video.get(v["id"], [])) // 100))
                   for v in self.matching() if v.get("comment_count", 0) > 0)

    def creators(self) -> set[str]:
        return {v["username"].replace("\x00", "") for v in self.matching() if v.get("username")}


def command(exe: str, sim, db_url: str, *extra: str) -> list[str]:
    return [exe, "run", "+spec=talk", f"api.base_url={sim.url}", "api.credentials_file=null", f"db.url={db_url}",
            "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0", "log.format=json", *extra]


rows = query_rows


def requests_of(sim) -> dict[str, int]:
    return sim.stats()["requests"]


def dump_and_spec(sim, workdir: Path, spec: str = SPEC) -> Corpus:
    """Dump the corpus and write the spec: the spec's hashtags, plus the video with the most comments."""
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    corpus = Corpus(dump)
    (workdir / "specs" / "talk.yaml").write_text(spec % corpus.most_commented)
    return corpus
