"""A validated spec -> `CompiledSpec`: the exact API query, the date windows, the fields, the fingerprint.

- Flag-style queries go through `crawlspec.spec.query.generate_query` (the library's code, not a copy).
- A `raw` query is validated, then sent as written, except that empty `and`/`or`/`not` lists are
  dropped and keys are put in the canonical order (`and`, `or`, `not`; `operation`, `field_name`,
  `field_values`), so that key order in the YAML never changes the fingerprint.
- The fingerprint is the sha256 of the canonical JSON of `{query, fields}` (plus `sample: true` for a
  random-sample spec): what decides which videos and which of their fields the video crawl fetches.
  Window, tags and the fetch flags of the stages (comments, creator info, ...) are not part of it: a
  stage switched on later runs over the videos already stored instead of re-crawling them, and keeps
  its own progress.
- `sample: true` makes every window one `is_random` request; such runs never cover days.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from crawlspec.api import fields as api_fields
from crawlspec.clock import utc_today
from crawlspec.errors import SpecError
from crawlspec.spec import resolvers
from crawlspec.spec.query import generate_query
from crawlspec.spec.schema import AUTO_WINDOW, with_spec_defaults
from crawlspec.spec.users import UsersPlan, compile_users
from crawlspec.spec.validate import parse_window_date, validate_spec
from crawlspec.spec.windows import Window, split_window


@dataclass(frozen=True)
class StageFlags:
    """The stages a video spec runs after its video crawl (`spec.fetch`), in the order they run."""

    comments: bool = False
    comment_replies: bool = False    # replies of top-level comments the video listing cut off
    user_info: bool = False
    playlists: bool = False

    @classmethod
    def from_fetch(cls, fetch: Mapping[str, Any]) -> StageFlags:
        return cls(comments=bool(fetch.get("comments")), comment_replies=bool(fetch.get("comment_replies")),
                   user_info=bool(fetch.get("user_info")), playlists=bool(fetch.get("playlists")))


@dataclass(frozen=True)
class CompiledSpec:
    name: str
    fingerprint: str
    query: dict[str, Any]
    start: date
    end: date
    days_per_query: int              # the largest window; with `auto_windows` the crawl may choose smaller ones
    windows: tuple[Window, ...]
    fields: tuple[str, ...]
    fetch: dict[str, bool]           # recorded with the spec (`crawl_spec.fetch`)
    tags: tuple[str, ...]
    max_api_requests: int | None
    max_count: int
    users: UsersPlan | None = None   # a users spec (crawlspec.spec.users): no query, no windows
    sample: bool = False             # one `is_random` request per window; days are never covered
    stages: StageFlags = StageFlags()  # the stages after the video crawl (a users spec: see `users`)
    auto_windows: bool = False       # `days_per_query: auto`: sizes chosen by `crawlspec.crawl.window_plan`

    def to_document(self) -> dict[str, Any]:
        """The `crawlspec compile` JSON document (a stable contract for scripts); a users spec gives
        `{spec, fingerprint, users, info, lists, max_per_list}` instead of query and windows."""
        if self.users is not None:
            return {"spec": self.name, "fingerprint": self.fingerprint, **self.users.to_document()}
        document: dict[str, Any] = {
            "spec": self.name,
            "fingerprint": self.fingerprint,
            "query": self.query,
            "windows": [window.to_document() for window in self.windows],
        }
        if self.sample:
            document["sample"] = True
        return document


def compile_spec(spec: Mapping[str, Any], *, today: date | None = None, validated: bool = False) -> CompiledSpec:
    """Compile one spec (missing optional keys take their defaults). Relative dates such as
    `${days_ago:2}` are resolved against `today` (default: today's UTC date).
    Raises `SpecError` listing every problem when the spec is invalid; `validated=True`: the caller
    has validated it already (with the whole config, `crawlspec.spec.settings.load_settings`)."""
    resolved = resolve_interpolations(spec, today=today)
    if not validated:
        problems = validate_spec(resolved)
        if problems:
            raise SpecError(problems)
    full = with_spec_defaults(resolved)
    if full.get("users") is not None:
        return compile_users_spec(full, today=today)
    query = compile_query(full["query"])
    fields = requested_fields(full["fields"])
    fetch = {"comments": bool(full["fetch"]["comments"]), "user_info": bool(full["fetch"]["user_info"])}
    start = parse_window_date(full["window"]["start"])
    end = parse_window_date(full["window"]["end"])
    assert start is not None and end is not None  # validated above
    auto_windows, days_per_query = window_size(full["window"]["days_per_query"])
    sample = bool(full.get("sample"))
    return CompiledSpec(
        name=full["name"],
        fingerprint=fingerprint(query, fields, sample=sample),
        query=query,
        start=start,
        end=end,
        days_per_query=days_per_query,
        windows=tuple(split_window(start, end, days_per_query)),
        fields=fields,
        fetch=fetch,
        tags=tuple(dict.fromkeys(full["tags"])),
        max_api_requests=full["limits"]["max_api_requests"],
        max_count=int(full["limits"]["max_count"]),
        sample=sample,
        stages=StageFlags.from_fetch(full["fetch"]),
        auto_windows=auto_windows,
    )


def window_size(days_per_query: int | str) -> tuple[bool, int]:
    """(auto, the largest window in days): `auto` starts with the largest window the API allows."""
    if days_per_query == AUTO_WINDOW:
        return True, api_fields.MAX_WINDOW_DAYS
    return False, int(days_per_query)


def compile_users_spec(full: Mapping[str, Any], *, today: date | None = None) -> CompiledSpec:
    """A validated users spec (defaults merged): start = end = today (UTC), no query, no windows."""

    users = compile_users(full["users"])
    day = today or utc_today()
    return CompiledSpec(
        name=full["name"], fingerprint=users.fingerprint(), query={}, start=day, end=day,
        days_per_query=window_size(full["window"]["days_per_query"])[1], windows=(), fields=api_fields.USER_VIDEO_FIELDS,
        fetch={"info": users.info, **dict.fromkeys(users.lists, True)},
        tags=tuple(dict.fromkeys(full["tags"])), max_api_requests=full["limits"]["max_api_requests"],
        max_count=int(full["limits"]["max_count"]), users=users)


def resolve_interpolations(spec: Any, *, today: date | None = None) -> Any:
    """Resolve `${...}` expressions (e.g. `${days_ago:2}`) in a spec given as a plain dict.
    The CLI's specs arrive already resolved by Hydra; this serves library callers."""
    if not _has_interpolation(spec):
        return spec
    resolvers.register()
    try:
        with resolvers.pinned_today(today):
            resolved = OmegaConf.to_container(OmegaConf.create({"spec": spec}), resolve=True)
    except (OmegaConfBaseException, ValueError) as error:
        raise SpecError(f"spec: {interpolation_message(error)}") from None
    assert isinstance(resolved, dict)
    return resolved["spec"]


def interpolation_message(error: Exception) -> str:
    """One readable line for a failed `${...}` resolution."""
    key = getattr(error, "full_key", None)
    where = f"{key}: " if key else ""
    text = re.sub(r"^\w+ raised while resolving interpolation: ", "", str(error).splitlines()[0])
    return f"{where}cannot resolve the ${{...}} expression: {text}"


def _has_interpolation(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, Mapping):
        return any(_has_interpolation(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_interpolation(v) for v in value)
    return False


def compile_query(query: Mapping[str, Any]) -> dict[str, Any]:
    """The API `query` object of a validated spec query."""
    if query.get("raw"):
        return canonical_raw_query(query["raw"])
    return generate_query(
        include_any_hashtags=query["include_any_hashtags"],
        include_all_hashtags=query["include_all_hashtags"],
        exclude_any_hashtags=query["exclude_any_hashtags"],
        exclude_all_hashtags=query["exclude_all_hashtags"],
        include_any_keywords=query["include_any_keywords"],
        include_all_keywords=query["include_all_keywords"],
        exclude_any_keywords=query["exclude_any_keywords"],
        exclude_all_keywords=query["exclude_all_keywords"],
        only_from_usernames=query["only_from_usernames"],
        exclude_from_usernames=query["exclude_from_usernames"],
        region_codes=query["regions"],
        video_ids=query["video_ids"],
    ).as_dict()


def canonical_raw_query(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        part: [
            {"operation": c["operation"], "field_name": c["field_name"], "field_values": list(c["field_values"])}
            for c in raw[part]
        ]
        for part in api_fields.BOOL_OPS
        if raw.get(part)
    }


def requested_fields(fields: str | list[str]) -> tuple[str, ...]:
    """`default`, `all`, or a list -> the fields to request, `id` always included, in canonical order."""
    if fields == "default":
        return api_fields.VIDEO_FIELDS_DEFAULT
    if fields == "all":
        return api_fields.VIDEO_FIELDS_ALL
    wanted = set(fields) | {"id"}
    return tuple(name for name in api_fields.VIDEO_FIELDS_ALL if name in wanted)


def fingerprint(query: Mapping[str, Any], fields: tuple[str, ...], *, sample: bool = False) -> str:
    """sha256 of the canonical JSON of what defines the video crawl's results: the query, the fields,
    and `sample: true` for a random sample (absent otherwise, so full crawls keep their fingerprints)."""
    identity: dict[str, Any] = {"query": query, "fields": list(fields)}
    if sample:
        identity["sample"] = True
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
