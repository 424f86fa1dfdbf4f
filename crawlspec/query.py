"""The older tool's query library: `VideoQuery`, `Cond`, `Fields`, `Op` and `generate_query()`.

A query is `{"and": [...], "or": [...], "not": [...]}` of conditions
`{"operation": OP, "field_name": FIELD, "field_values": [str, ...]}` (api-notes section 4).
The compiler builds every flag-style spec through `generate_query`, so the library and the CLI can
never disagree about what a flag means.

Flag semantics (the older tool's, design section 4):

- "any" flags give one `IN` condition; "all" flags give one `EQ` condition per value;
  `include_*` go in `and`, `exclude_*` in `not`;
- `only_from_usernames` is `IN username` in `and`, `exclude_from_usernames` `IN username` in `not`;
- `region_codes` is `IN region_code` in `and`, `video_ids` `IN video_id` in `and`.

Normalisation: hashtags lowercased without leading `#`, keywords lowercased, usernames lowercased
without leading `@`, region codes uppercased, every list de-duplicated and sorted, surrounding
whitespace stripped. Conditions appear in the order of `FLAG_ORDER` (the order of the flag table),
so the same flags always give the same JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Fields(str, Enum):
    """The fields a video query condition can test."""

    create_date = "create_date"
    username = "username"
    region_code = "region_code"
    video_id = "video_id"
    hashtag_name = "hashtag_name"
    keyword = "keyword"
    music_id = "music_id"
    effect_id = "effect_id"
    video_length = "video_length"

    def __str__(self) -> str:
        return self.value


class Op(str, Enum):
    """Condition operations."""

    EQ = "EQ"
    IN = "IN"
    GT = "GT"
    GTE = "GTE"
    LT = "LT"
    LTE = "LTE"

    def __str__(self) -> str:
        return self.value


F = Fields
Operations = Op


@dataclass(frozen=True)
class Cond:
    """One condition. A `str` value becomes a one-element list; a list is kept as given."""

    field: Fields
    value: str | Sequence[str]
    op: Op

    @property
    def field_values(self) -> list[str]:
        return [self.value] if isinstance(self.value, str) else list(self.value)

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": Op(self.op).value,
            "field_name": Fields(self.field).value,
            "field_values": self.field_values,
        }


Condition = Cond
CondArg = Cond | Sequence[Cond] | None


def _as_list(conds: CondArg) -> list[Cond]:
    if conds is None:
        return []
    if isinstance(conds, Cond):
        return [conds]
    return list(conds)


@dataclass(frozen=True)
class VideoQuery:
    """`and_`, `or_`, `not_`: each a `Cond` or a list of them. Empty parts are left out of `as_dict()`."""

    and_: CondArg = None
    or_: CondArg = None
    not_: CondArg = None
    _parts: tuple[tuple[str, tuple[Cond, ...]], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = (("and", self.and_), ("or", self.or_), ("not", self.not_))
        object.__setattr__(self, "_parts", tuple((name, tuple(_as_list(c))) for name, c in parts))

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {name: [c.as_dict() for c in conds] for name, conds in self._parts if conds}

    def is_empty(self) -> bool:
        return not any(conds for _, conds in self._parts)


Query = VideoQuery

# ---- normalisation ---------------------------------------------------------------------------


def normalise_hashtag(value: str) -> str:
    return value.strip().lstrip("#").strip().lower()


def normalise_keyword(value: str) -> str:
    return value.strip().lower()


def normalise_username(value: str) -> str:
    return value.strip().lstrip("@").strip().lower()


def normalise_region(value: str) -> str:
    return value.strip().upper()


def normalise_video_id(value: str | int) -> str:
    return str(value).strip()


def _values(raw: str | Iterable[Any] | None, normalise: Callable[[Any], str]) -> list[str]:
    """A flag's values: a comma-separated string (the older CLI's form) or a list; normalised,
    de-duplicated, sorted, empties dropped."""
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return sorted({v for v in (normalise(item) for item in items) if v})


# flag -> (field, operation style, bool part, normaliser). "any" = one IN, "all" = one EQ per value.
FlagRule = tuple[Fields, str, str, Callable[[Any], str]]
FLAG_RULES: dict[str, FlagRule] = {
    "include_any_hashtags": (Fields.hashtag_name, "any", "and", normalise_hashtag),
    "include_all_hashtags": (Fields.hashtag_name, "all", "and", normalise_hashtag),
    "exclude_any_hashtags": (Fields.hashtag_name, "any", "not", normalise_hashtag),
    "exclude_all_hashtags": (Fields.hashtag_name, "all", "not", normalise_hashtag),
    "include_any_keywords": (Fields.keyword, "any", "and", normalise_keyword),
    "include_all_keywords": (Fields.keyword, "all", "and", normalise_keyword),
    "exclude_any_keywords": (Fields.keyword, "any", "not", normalise_keyword),
    "exclude_all_keywords": (Fields.keyword, "all", "not", normalise_keyword),
    "only_from_usernames": (Fields.username, "any", "and", normalise_username),
    "exclude_from_usernames": (Fields.username, "any", "not", normalise_username),
    "region_codes": (Fields.region_code, "any", "and", normalise_region),
    "video_ids": (Fields.video_id, "any", "and", normalise_video_id),
}
FLAG_ORDER: tuple[str, ...] = tuple(FLAG_RULES)


def _conditions(flag: str, raw: Any) -> list[Cond]:
    field_, style, _part, normalise = FLAG_RULES[flag]
    values = _values(raw, normalise)
    if not values:
        return []
    if style == "any":
        return [Cond(field_, values, Op.IN)]
    return [Cond(field_, value, Op.EQ) for value in values]


def generate_query(
    include_any_hashtags: str | Sequence[str] | None = None,
    exclude_any_hashtags: str | Sequence[str] | None = None,
    include_all_hashtags: str | Sequence[str] | None = None,
    exclude_all_hashtags: str | Sequence[str] | None = None,
    include_any_keywords: str | Sequence[str] | None = None,
    include_all_keywords: str | Sequence[str] | None = None,
    exclude_any_keywords: str | Sequence[str] | None = None,
    exclude_all_keywords: str | Sequence[str] | None = None,
    only_from_usernames: str | Sequence[str] | None = None,
    exclude_from_usernames: str | Sequence[str] | None = None,
    region_codes: str | Sequence[str] | None = None,
    video_ids: str | Sequence[str | int] | None = None,
) -> VideoQuery:
    """Build a `VideoQuery` from the older tool's flags (each a list or a comma-separated string).

    Conflicting flags (any/all of one kind, only_from/exclude_from) are the validator's business;
    here they simply both contribute conditions, as in the older tool.
    """
    given = {
        "include_any_hashtags": include_any_hashtags, "include_all_hashtags": include_all_hashtags,
        "exclude_any_hashtags": exclude_any_hashtags, "exclude_all_hashtags": exclude_all_hashtags,
        "include_any_keywords": include_any_keywords, "include_all_keywords": include_all_keywords,
        "exclude_any_keywords": exclude_any_keywords, "exclude_all_keywords": exclude_all_keywords,
        "only_from_usernames": only_from_usernames, "exclude_from_usernames": exclude_from_usernames,
        "region_codes": region_codes, "video_ids": video_ids,
    }
    parts: dict[str, list[Cond]] = {"and": [], "not": []}
    for flag in FLAG_ORDER:
        parts[FLAG_RULES[flag][2]].extend(_conditions(flag, given[flag]))
    return VideoQuery(and_=parts["and"], not_=parts["not"])
