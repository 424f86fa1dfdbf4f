"""User-centred specs: `users:` names accounts instead of a video query.

```yaml
users: {names: [alice, bob], file: null, info: true, liked_videos: true, pinned_videos: false,
        reposted_videos: false, followers: true, following: false, max_per_list: null}
```
- `names` and the lines of `file` (relative to the current directory; blank lines and `#` comments
  ignored) are normalised: NUL padding and a leading `@` stripped, lowercased, de-duplicated, sorted.
- A spec has either `query` + `window` or `users`, never both.
- The fingerprint is the sha256 of the canonical JSON of `{users, lists, info, max_per_list}`, so two
  specs naming the same accounts and lists share their checkpoints.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

USER_LISTS: tuple[str, ...] = ("liked_videos", "pinned_videos", "reposted_videos", "followers", "following")
USERS_DEFAULTS: dict[str, Any] = {"names": [], "file": None, "info": False, **dict.fromkeys(USER_LISTS, False),
                                  "max_per_list": None}
USERS_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {
        "names": {"type": "array", "items": {"type": "string"}, "x-fix": "a list of usernames, e.g. [alice, bob]"},
        "file": {"type": ["string", "null"], "x-fix": "a text file with one username per line"},
        "info": {"type": "boolean"},
        **{name: {"type": "boolean"} for name in USER_LISTS},
        "max_per_list": {"type": ["integer", "null"], "minimum": 1,
                         "x-fix": "a positive number of records per list, or null for all"},
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class UsersPlan:
    """What a users spec fetches: `lists` in USER_LISTS order, `info` through the creator-info cache."""

    names: tuple[str, ...]
    info: bool
    lists: tuple[str, ...]
    max_per_list: int | None

    def to_document(self) -> dict[str, Any]:
        return {"users": list(self.names), "info": self.info, "lists": list(self.lists),
                "max_per_list": self.max_per_list}

    def fingerprint(self) -> str:
        canonical = json.dumps(self.to_document(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def normalise_names(names: Iterable[str]) -> tuple[str, ...]:
    """Handles as the API matches them: no NUL padding, no leading `@`, lowercase; sorted, unique."""
    cleaned = (name.replace("\x00", "").strip().lstrip("@").strip().lower() for name in names)
    return tuple(sorted({name for name in cleaned if name}))


def read_names_file(path: str) -> list[str]:
    """Usernames from a text file, one per line (`#` starts a comment). Raises OSError."""
    text = Path(path).read_text(encoding="utf-8")
    return [line.split("#", 1)[0].strip() for line in text.splitlines()]


def with_users_defaults(users: Mapping[str, Any]) -> dict[str, Any]:
    return {**USERS_DEFAULTS, **users}


def users_problems(spec: Mapping[str, Any], prefix: str = "spec") -> list[str]:
    """Semantic problems of a spec whose `users` is set (the schema checked the types)."""
    users = spec.get("users")
    path = f"{prefix}.users"
    if not isinstance(users, Mapping):
        return []
    problems = _exclusive_problems(spec, prefix)
    full = with_users_defaults(users)
    names = full["names"] if isinstance(full["names"], list) else []
    if isinstance(full["file"], str):
        try:
            read_names_file(full["file"])
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"{path}.file: cannot read {full['file']!r} ({error.__class__.__name__}); give a "
                            "text file of usernames, one per line, relative to the current directory")
    elif not normalise_names(n for n in names if isinstance(n, str)):
        problems.append(f"{path}.names: empty and no {path}.file; list usernames, e.g. names: [alice, bob], "
                        "or give a file of usernames")
    if not full["info"] and not any(full[name] is True for name in USER_LISTS):
        problems.append(f"{path}: nothing to fetch; set info or one of {', '.join(USER_LISTS)} to true")
    return problems


def _exclusive_problems(spec: Mapping[str, Any], prefix: str) -> list[str]:
    problems = []
    query = spec.get("query")
    if isinstance(query, Mapping) and any(value not in (None, [], {}) for value in query.values()):
        problems.append(f"{prefix}.query: cannot be combined with {prefix}.users; a spec has either a video "
                        "query with a window, or users")
    window = spec.get("window")
    if isinstance(window, Mapping) and any(window.get(key) is not None for key in ("start", "end")):
        problems.append(f"{prefix}.window: a users spec has no window; remove window.start/end or users")
    fetch = spec.get("fetch")
    if isinstance(fetch, Mapping):
        for key in ("comments", "comment_replies", "user_info", "playlists"):
            if fetch.get(key) is True:
                problems.append(f"{prefix}.fetch.{key}: applies to video specs; a users spec asks with "
                                f"{prefix}.users.info and its list flags")
    return problems


def compile_users(users: Mapping[str, Any]) -> UsersPlan:
    """The plan of a validated `users` mapping (its file is read now, relative to the cwd)."""
    full = with_users_defaults(users)
    names = list(full["names"]) + (read_names_file(full["file"]) if full["file"] else [])
    return UsersPlan(names=normalise_names(names), info=bool(full["info"]),
                     lists=tuple(name for name in USER_LISTS if full[name]),
                     max_per_list=full["max_per_list"])
