"""The older tool's query library: `VideoQuery`, `Cond`, `Fields`, `Op` and `generate_query()`.

A query is `{"and": [...], "or": [...], "not": [...]}` of conditions
`{"operation": OP, "field_name": FIELD, "field_values": [str, ...]}`.
The compiler builds every flag-style spec through `generate_query`, so the library and the CLI can
never disagree about what a flag means.

Flag semantics (the older tool's):

- "any" flags give one `IN` condition; "all" flags give one `EQ` condition per value;
  `include_*` go in `and`, `exclude_*` in `not`;
- `only_from_usernames` is `IN username` in `and`, `exclude_from_usernames` `IN username` in `not`;
- `region_codes` is `IN region_code` in `and`, `video_ids` `IN video_id` in `and`.

Normalisation: hashtags lowercased without leading `#`, keywords lowercased, usernames lowercased
without `@`, region codes uppercased, every list de-duplicated and sorted, surrounding
whitespace stripped. Conditions appear in the order of `FLAG_ORDER` (the order of the flag table),
so the same flags always give the same JSON.

`Cond` checks its values as the older library did and raises `ValueError` for a region code not in
the API's list, a `create_date` that is not `YYYYMMDD`, a `video_length` not in SHORT/MID/LONG/EXTRA_LONG
and a `view_count`/`comment_count` that is not a non-negative integer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from crawlspec.api.fields import VIDEO_LENGTHS
from crawlspec.api.regions import REGION_CODES


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
    view_count = "view_count"
    comment_count = "comment_count"

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


def _check_create_date(value: Any) -> None:
    datetime.strptime(str(value), "%Y%m%d")  # raises ValueError, as the older library did


def _check_region(value: Any) -> None:
    if value not in REGION_CODES:
        raise ValueError(f"region_code {value!r} is not one of the API's region codes (upper case, e.g. 'US')")


def _check_video_length(value: Any) -> None:
    if value not in VIDEO_LENGTHS:
        raise ValueError(f"video_length {value!r} is not one of {', '.join(VIDEO_LENGTHS)}")


def _check_count(value: Any) -> None:
    if not (isinstance(value, str) and value.isascii() and value.isdigit()):
        raise ValueError(f"count {value!r} is not a non-negative integer written as a string, e.g. '1000'")


VALUE_CHECKS: dict[Fields, Callable[[Any], None]] = {
    Fields.create_date: _check_create_date,
    Fields.region_code: _check_region,
    Fields.video_length: _check_video_length,
    Fields.view_count: _check_count,
    Fields.comment_count: _check_count,
}


@dataclass(frozen=True, init=False)
class Cond:
    """One condition. A `str` value becomes a one-element list; a list is kept as given.
    Raises `ValueError` for an unknown field or operation and for values the field cannot take.
    The older tool's keyword names are taken too: `Cond(field=..., field_values=..., operation=...)`."""

    field: Fields
    value: str | Sequence[str]
    op: Op

    def __init__(self, field: Fields | str, value: str | Sequence[str] | None = None, op: Op | str | None = None,
                 *, field_values: str | Sequence[str] | None = None, operation: Op | str | None = None) -> None:
        if value is not None and field_values is not None or op is not None and operation is not None:
            raise TypeError("Cond: give value or field_values, op or operation, not both")
        value = value if value is not None else field_values
        op = op if op is not None else operation
        if value is None or op is None:
            raise TypeError("Cond needs a field, a value (field_values) and an op (operation)")
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "op", op)
        self.__post_init__()

    def __post_init__(self) -> None:
        field_ = Fields(self.field)
        Op(self.op)
        check = VALUE_CHECKS.get(field_)
        if check is not None:
            for value in self.field_values:
                check(value)

    @property
    def field_values(self) -> list[str]:
        if isinstance(self.value, str) or not isinstance(self.value, Iterable):
            return [self.value]
        return list(self.value)

    @property
    def operation(self) -> Op:
        """The older library's name for `op`."""
        return Op(self.op)

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
    """`and_`, `or_`, `not_`: each a `Cond` or a list of them. Empty parts are left out of `as_dict()`.
    The lists are read when the query is used, so a condition appended to one after the query was made
    (`query.and_.append(cond)`, as the older tool's users do) is part of it."""

    and_: CondArg = None
    or_: CondArg = None
    not_: CondArg = None

    def _parts(self) -> list[tuple[str, list[Cond]]]:
        return [(name, _as_list(conds)) for name, conds in (("and", self.and_), ("or", self.or_), ("not", self.not_))]

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {name: [c.as_dict() for c in conds] for name, conds in self._parts() if conds}

    def is_empty(self) -> bool:
        return not any(conds for _, conds in self._parts())


Query = VideoQuery


class VideoQueryJSONEncoder(json.JSONEncoder):
    """`json.dumps(query, cls=VideoQueryJSONEncoder)` writes a `VideoQuery` as the API's query object."""

    def default(self, o: Any) -> Any:
        if isinstance(o, VideoQuery):
            return o.as_dict()
        return super().default(o)

# ---- normalisation ---------------------------------------------------------------------------


def normalise_hashtag(value: str) -> str:
    return value.strip().lstrip("#").strip().lower()


def normalise_keyword(value: str) -> str:
    return value.strip().lower()


def normalise_username(value: str) -> str:
    return value.strip().strip("@").strip().lower()


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


def get_normalized_hashtag_set(comma_separated_hashtags: str) -> set[str]:
    """Hashtags of a comma-separated string: lower case, without `#`, blanks dropped."""
    return set(_values(comma_separated_hashtags, normalise_hashtag))


def get_normalized_keyword_set(comma_separated_keywords: str) -> set[str]:
    """Keywords of a comma-separated string: lower case, blanks dropped."""
    return set(_values(comma_separated_keywords, normalise_keyword))


def get_normalized_username_set(comma_separated_usernames: str) -> set[str]:
    """Usernames of a comma-separated string: lower case, without `@`, blanks dropped."""
    return set(_values(comma_separated_usernames, normalise_username))


def generate_video_id_query(video_id_list: Iterable[int | str]) -> VideoQuery:
    """One `IN video_id` condition in `and`; ids written as strings in the order given."""
    return VideoQuery(and_=Cond(Fields.video_id, [normalise_video_id(v) for v in video_id_list], Op.IN))


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
    region_codes: str | Sequence[str] | None = None,
    include_any_hashtags: str | Sequence[str] | None = None,
    include_all_hashtags: str | Sequence[str] | None = None,
    exclude_any_hashtags: str | Sequence[str] | None = None,
    exclude_all_hashtags: str | Sequence[str] | None = None,
    include_any_keywords: str | Sequence[str] | None = None,
    include_all_keywords: str | Sequence[str] | None = None,
    exclude_any_keywords: str | Sequence[str] | None = None,
    exclude_all_keywords: str | Sequence[str] | None = None,
    only_from_usernames: str | Sequence[str] | None = None,
    exclude_from_usernames: str | Sequence[str] | None = None,
    video_ids: str | Sequence[str | int] | None = None,
) -> VideoQuery:
    """Build a `VideoQuery` from the older tool's flags (each a list or a comma-separated string),
    in the older tool's parameter order (positional calls keep working; `video_ids` is new).

    Conflicting flags (any/all of one kind, only_from/exclude_from) are the validator's business;
    here both contribute conditions (the older tool silently dropped the "all" flag of a kind when
    its "any" flag was given).
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
