"""The users crawl ("people"): its spec, the corpus dump's user lists (what each list holds, the minimum
pages per list), the `crawlspec run` command line and the rows it stores."""

from __future__ import annotations

from pathlib import Path

from support.corpus import read_corpus_dump
from support.databases import query_rows

BASE = "/v2/research/user/"
LISTS = ("liked_videos", "pinned_videos", "reposted_videos", "followers", "following")
PATHS = {name: f"{BASE}{name}/" for name in LISTS}
USER_INFO_PATH = "/v2/research/user/info/"
TABLES = {"liked_videos": ("user_liked_video", "video_id"), "pinned_videos": ("user_pinned_video", "video_id"),
          "reposted_videos": ("user_reposted_video", "video_id"),
          "followers": ("user_follower", "follower_username"), "following": ("user_following", "following_username")}
UNKNOWN = "no.such.creator.anywhere"


class UserLists:
    """The dump's user lists: {(username, list): record}."""

    def __init__(self, dump: Path):
        records = read_corpus_dump(dump)
        self.lists = {(r["username"], r["list"]): r for r in records["user_list"]}
        self.videos = {v["id"]: v for v in records["video"]}

    def pick(self) -> list[str]:
        """Users that exercise every path: many liked videos, hidden likes, private following, many followers."""
        def first(test) -> str:
            return next(name for (name, kind), r in sorted(self.lists.items()) if kind == "liked_videos" and test(name))
        many_likes = first(lambda n: len(self.lists[(n, "liked_videos")]["items"]) > 100)
        hidden = first(lambda n: not self.lists[(n, "liked_videos")]["available"])
        private = first(lambda n: not self.lists[(n, "following")]["available"] and n != hidden)
        popular = first(lambda n: len(self.lists[(n, "followers")]["items"]) > 100 and n not in (hidden, private))
        return sorted({many_likes, hidden, private, popular})

    def pages(self, users: list[str], name: str) -> int:
        total = 0
        for user in users:
            record = self.lists[(user, name)]
            total += 1 if name == "pinned_videos" or not record["available"] else max(1, -(-len(record["items"]) // 100))
        return total

    def expected_rows(self, users: list[str], name: str) -> set[tuple]:
        found = set()
        for user in users:
            for item in self.lists[(user, name)]["items"]:
                found.add((user.lower(), item if isinstance(item, int) else item["username"]))
        return found


rows = query_rows


def command(exe: str, sim, db_url: str) -> list[str]:
    return [exe, "run", "+spec=people", f"api.base_url={sim.url}", "api.credentials_file=null", f"db.url={db_url}",
            "api.retry.base_wait_s=0", "log.format=json"]


def write_spec(workdir: Path, users: list[str], **flags) -> None:
    """Half the users in the spec (one with `@` and capitals), the rest in a names file, plus an unknown one."""
    (workdir / "specs").mkdir(exist_ok=True)
    (workdir / "names.txt").write_text("\n".join(users[1:] + [UNKNOWN, "# a comment", ""]), encoding="utf-8")
    lists = {name: flags.get(name, True) for name in LISTS}
    keys = ", ".join(f"{k}: {str(v).lower()}" for k, v in lists.items())
    limit = flags.get("max_per_list")
    (workdir / "specs" / "people.yaml").write_text(
        f"name: people\nusers: {{names: ['@{users[0].upper()}'], file: names.txt, info: true, {keys}, "
        f"max_per_list: {'null' if limit is None else limit}}}\ntags: [study]\n", encoding="utf-8")
