"""Validation of a Query Videos request body into typed values.

Every problem is a 400 `invalid_params` naming what is wrong, as the API does for bad fields, values,
dates and windows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from crawlspec.api.fields import (
    BOOL_OPS,
    COUNT_QUERY_FIELDS,
    MAX_COUNT,
    MAX_WINDOW_DAYS,
    OPERATIONS,
    ORDERED_QUERY_FIELDS,
    QUERY_FIELD_NAMES,
    VIDEO_LENGTHS,
)
from crawlspec.api.regions import REGION_CODES
from crawlspec.sim.responses import invalid_params

EQUALITY_OPS = ("EQ", "IN")
FIELD_OPS: dict[str, tuple[str, ...]] = {name: EQUALITY_OPS for name in QUERY_FIELD_NAMES}
FIELD_OPS.update({name: OPERATIONS for name in ORDERED_QUERY_FIELDS})   # create_date and the counts
NUMERIC_FIELDS = ("video_id", "music_id", "effect_id") + COUNT_QUERY_FIELDS
DEFAULT_VIDEO_MAX_COUNT = 20                   # DOC-VQ (DOC-GS says 10)


def is_digits(value: str) -> bool:
    """ASCII digits only (`str.isdigit` also accepts superscripts and other scripts' digits)."""
    return value.isascii() and value.isdigit()


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    all_of: tuple[Condition, ...]
    any_of: tuple[Condition, ...]
    none_of: tuple[Condition, ...]

    def key(self) -> str:
        """Canonical form: the same query in another condition order is the same search."""
        parts = {name: sorted([c.field, c.op, list(c.values)] for c in conds)
                 for name, conds in (("and", self.all_of), ("or", self.any_of), ("not", self.none_of))}
        return json.dumps(parts, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class VideoRequest:
    query: Query
    start: date
    end: date
    max_count: int
    cursor: int
    search_id: str | None
    is_random: bool

    def search_key(self) -> str:
        return f"{self.query.key()}|{self.start:%Y%m%d}|{self.end:%Y%m%d}"


def parse_date(value: object, name: str) -> date:
    if not isinstance(value, str) or len(value) != 8 or not is_digits(value):
        raise invalid_params(f"{name} must be a YYYYMMDD string, got {value!r}")
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise invalid_params(f"{name} {value!r} is not a valid date") from None


def parse_int(body: dict[str, Any], name: str, default: int, low: int, high: int | None = None) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, str) and is_digits(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise invalid_params(f"{name} must be an integer {bound}, got {value!r}")
    return value


def parse_video_request(body: object) -> VideoRequest:
    if not isinstance(body, dict):
        raise invalid_params("request body must be a JSON object")
    start = parse_date(body.get("start_date"), "start_date")
    end = parse_date(body.get("end_date"), "end_date")
    if end < start:
        raise invalid_params("end_date must not be before start_date")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise invalid_params(f"end_date must be no more than {MAX_WINDOW_DAYS} days after start_date")
    search_id = body.get("search_id")
    if search_id is not None and not (isinstance(search_id, str) and is_digits(search_id)):
        raise invalid_params(f"search_id must be a string of digits, got {search_id!r}")
    is_random = body.get("is_random") or False
    if not isinstance(is_random, bool):
        raise invalid_params("is_random must be a boolean")
    return VideoRequest(query=parse_query(body.get("query")), start=start, end=end,
                        max_count=parse_int(body, "max_count", DEFAULT_VIDEO_MAX_COUNT, 1, MAX_COUNT),
                        cursor=parse_int(body, "cursor", 0, 0), search_id=search_id, is_random=is_random)


def parse_query(raw: object) -> Query:
    if not isinstance(raw, dict):
        raise invalid_params("query is required and must be an object with and/or/not lists")
    unknown = sorted(set(raw) - set(BOOL_OPS))
    if unknown:
        raise invalid_params(f"query has unknown keys {unknown}; allowed: and, or, not")
    lists = {}
    for name in BOOL_OPS:
        conditions = raw.get(name) or []
        if not isinstance(conditions, list):
            raise invalid_params(f"query.{name} must be a list of conditions")
        lists[name] = tuple(parse_condition(c, f"query.{name}[{i}]") for i, c in enumerate(conditions))
    if not any(lists.values()):
        raise invalid_params("query must have at least one condition in and, or or not")
    return Query(all_of=lists["and"], any_of=lists["or"], none_of=lists["not"])


def parse_condition(raw: object, where: str) -> Condition:
    if not isinstance(raw, dict):
        raise invalid_params(f"{where} must be an object with operation, field_name, field_values")
    field_name, op, values = raw.get("field_name"), raw.get("operation"), raw.get("field_values")
    if field_name not in FIELD_OPS:
        raise invalid_params(f"{where}: unknown field_name {field_name!r}")
    if op not in OPERATIONS:
        raise invalid_params(f"{where}: unknown operation {op!r}")
    if op not in FIELD_OPS[field_name]:
        raise invalid_params(f"{where}: operation {op} is not supported for {field_name}")
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise invalid_params(f"{where}: field_values must be a non-empty list of strings")
    if op != "IN" and len(values) != 1:
        raise invalid_params(f"{where}: operation {op} takes exactly one value, got {len(values)}")
    for value in values:
        _check_value(field_name, value, where)
    return Condition(field=field_name, op=op, values=tuple(values))


def _check_value(field_name: str, value: str, where: str) -> None:
    if field_name == "region_code" and value not in REGION_CODES:
        raise invalid_params(f"{where}: invalid region_code {value!r}")
    if field_name == "video_length" and value not in VIDEO_LENGTHS:
        raise invalid_params(f"{where}: invalid video_length {value!r}; allowed: {', '.join(VIDEO_LENGTHS)}")
    if field_name == "create_date":
        parse_date(value, f"{where} create_date value")
    if field_name in NUMERIC_FIELDS and not is_digits(value):
        raise invalid_params(f"{where}: {field_name} values must be numeric strings, got {value!r}")
    if not value:
        raise invalid_params(f"{where}: empty value for {field_name}")
