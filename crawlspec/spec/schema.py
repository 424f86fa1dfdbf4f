"""JSON Schema (Draft 2020-12) of the composed configuration and of a crawl spec.

Strict on purpose: `additionalProperties: false` on every object, so a misspelled key is an error,
not a silently ignored setting. Later features extend this schema rather than loosening it.
Subschemas may carry `x-fix`, a hint the validator appends to the message ("how to fix").
Checks a schema cannot express (exclusive fields, dates, region codes, raw query rules) live in
`crawlspec.spec.validate`.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

import yaml

from crawlspec.api import fields as api_fields
from crawlspec.spec.users import USERS_SCHEMA

FLAG_FIELDS: tuple[str, ...] = (
    "include_any_hashtags", "include_all_hashtags", "exclude_any_hashtags", "exclude_all_hashtags",
    "include_any_keywords", "include_all_keywords", "exclude_any_keywords", "exclude_all_keywords",
    "only_from_usernames", "exclude_from_usernames", "regions",
)
QUERY_KEYS: tuple[str, ...] = FLAG_FIELDS + ("video_ids", "raw")
QUOTA_POLICIES: tuple[str, ...] = ("wait_next_utc_midnight", "wait_four_hours", "exit")
LOG_FORMATS: tuple[str, ...] = ("auto", "console", "json")
LOG_LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error", "critical")
NAME_PATTERN = "^[a-z0-9_-]+$"


def _obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": False, **extra}


def _strings(fix: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
    if fix:
        schema["x-fix"] = fix
    return schema


def _int(minimum: int, maximum: int | None = None, *, nullable: bool = False, fix: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["integer", "null"] if nullable else "integer", "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    if fix:
        schema["x-fix"] = fix
    return schema


def _rate() -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "maximum": 1, "x-fix": "a probability between 0 and 1"}


CONDITION_SCHEMA: dict[str, Any] = _obj(
    {
        "operation": {"enum": list(api_fields.OPERATIONS)},
        "field_name": {"enum": list(api_fields.QUERY_FIELD_NAMES)},
        "field_values": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                         "x-fix": "field_values is a non-empty list of strings"},
    },
    required=["operation", "field_name", "field_values"],
)

RAW_QUERY_SCHEMA: dict[str, Any] = _obj(
    {op: {"type": "array", "items": CONDITION_SCHEMA} for op in api_fields.BOOL_OPS},
    type=["object", "null"],
)

QUERY_SCHEMA: dict[str, Any] = _obj(
    {
        **{flag: _strings() for flag in FLAG_FIELDS},
        "video_ids": {"type": "array", "items": {"type": ["string", "integer"]}},
        "raw": RAW_QUERY_SCHEMA,
    }
)

AUTO_WINDOW = "auto"
"""`window.days_per_query: auto`: window sizes chosen by the crawl (`crawlspec.crawl.window_plan`)."""

WINDOW_SCHEMA: dict[str, Any] = _obj(
    {
        "start": {"type": ["string", "null"], "x-fix": "write an ISO date such as \"2024-03-01\" or ${days_ago:9}"},
        "end": {"type": ["string", "null"], "x-fix": "write an ISO date such as \"2024-03-31\" or ${days_ago:2}"},
        "days_per_query": {
            "type": ["integer", "string"], "minimum": 1, "maximum": api_fields.MAX_WINDOW_DAYS,
            "if": {"type": "string"}, "then": {"enum": [AUTO_WINDOW]},
            "x-fix": f"the API allows at most {api_fields.MAX_WINDOW_DAYS} days per query; or {AUTO_WINDOW} "
                     "(the default: sized from what the crawl learns)"},
    }
)

SPEC_SCHEMA: dict[str, Any] = _obj(
    {
        "name": {"type": ["string", "null"], "pattern": NAME_PATTERN,
                 "x-fix": "use lowercase letters, digits, '_' and '-' only"},
        "query": QUERY_SCHEMA,
        "window": WINDOW_SCHEMA,
        "tags": _strings(),
        "sample": {"type": "boolean", "x-fix": "true (a random sample: is_random) or false"},
        "fetch": _obj({"comments": {"type": "boolean"}, "comment_replies": {"type": "boolean"},
                       "user_info": {"type": "boolean"}, "playlists": {"type": "boolean"}}),
        "users": USERS_SCHEMA,
        "fields": {
            "type": ["string", "array"],
            "if": {"type": "string"},
            "then": {"enum": ["default", "all"]},
            "else": {"items": {"enum": list(api_fields.VIDEO_FIELDS_ALL)}},
            "x-fix": "use default, all, or a list of video fields",
        },
        "limits": _obj(
            {
                "max_api_requests": _int(1, nullable=True, fix="use a positive number, or null for no limit"),
                "max_count": _int(1, api_fields.MAX_COUNT,
                                  fix=f"the API returns at most {api_fields.MAX_COUNT} records per request"),
            }
        ),
    }
)

SIMULATOR_SCHEMA: dict[str, Any] = _obj(
    {
        "seed": {"type": "integer"},
        "videos": _int(0),
        "start": {"type": "string"},
        "days": _int(1),
        "fail_rate": _rate(),
        "invalid_search_id_rate": _rate(),
        "deleted_rate": _rate(),
        "latency_ms": _int(0),
        "daily_quota": _int(1),
        "unavailable_rate": _rate(),
        "failing_days": {"type": ["string", "null"], "x-fix": "START..END[,START..END] in YYYY-MM-DD"},
        "compliance_polls": _int(0),
        "lowercase_region_rate": _rate(),
        "oversize_id_rate": _rate(),
        "compliance_file_style": {"enum": ["plain", "header_crlf"]},
        "burst_limit": {"type": ["string", "null"], "pattern": r"^\s*[0-9]+\s*/\s*[0-9]*\.?[0-9]+\s*$",
                        "x-fix": "N/SECONDS, e.g. 20/60: at most N requests in any SECONDS, then 429"},
        "playlist_500_ok": {"type": "boolean"},
        "unauthorized_endpoints": {"type": ["array", "string", "null"], "items": {"type": "string"},
                                   "x-fix": "a list of endpoint names, e.g. [followers, following]"},
        "hidden_likes_status": {"enum": [400, 403]},
        "empty_outage": {"enum": ["keyword", "all", None]},
        "empty_outage_requests": _int(0),
        "dense_fail_videos": _int(0),
        "fault_seed": {"type": ["integer", "null"]},
    },
    type=["object", "null"],
)

RETRY_SCHEMA: dict[str, Any] = _obj(
    {
        "max_tries": _int(1),
        "base_wait_s": {"type": "number", "minimum": 0},
        "max_wait_s": {"type": "number", "minimum": 0},
        "search_id_tries": _int(1),
        "search_id_wait_s": {"type": "number", "minimum": 0},
        "unparsable_tries": _int(1),
        "throttle_wait_s": {"type": "number", "minimum": 0},
        "throttle_cap_wait_s": {"type": "number", "minimum": 0},
    }
)

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://crawlspec.invalid/config.schema.json",
    **_obj(
        {
            "db": _obj({"url": {"type": "string", "x-fix": "an SQLAlchemy URL, e.g. sqlite:///crawlspec.db"}}),
            "api": _obj(
                {
                    "base_url": {"type": ["string", "null"]},
                    "credentials_file": {"type": ["string", "null"]},
                    "on_quota_exhausted": {"enum": list(QUOTA_POLICIES)},
                    "daily_quota": _int(1, fix="the daily request budget, 1000 for most projects"),
                    "index_lag_days": _int(0),
                    "timeout_s": {"type": ["number", "null"], "exclusiveMinimum": 0,
                                  "x-fix": "seconds for both connect and read, or null to use the two keys below"},
                    "connect_timeout_s": {"type": "number", "exclusiveMinimum": 0},
                    "read_timeout_s": {"type": "number", "exclusiveMinimum": 0,
                                       "x-fix": "seconds to wait for an answer; slow answers take minutes (330)"},
                    "throttle_max_wait_s": {"type": "number", "minimum": 0,
                                            "x-fix": "seconds of 429 throttling before the day counts as spent"},
                    "max_requests_per_minute": {"type": ["number", "null"], "exclusiveMinimum": 0,
                                                "x-fix": "a positive number, or null for no client-side pacing"},
                    "daily_quota_follow": _int(1, fix="the followers/following budget, 20000 per day"),
                    "user_info_max_age_days": _int(0, fix="days a stored creator profile counts as fresh (30)"),
                    "stats_lag_days": _int(0, fix="days after publication before a video's counts are final (10)"),
                    "retry": RETRY_SCHEMA,
                    "simulator": SIMULATOR_SCHEMA,
                }
            ),
            "storage": _obj({"raw_dir": {"type": ["string", "null"]}}),
            "log": _obj({"format": {"enum": list(LOG_FORMATS)}, "level": {"enum": list(LOG_LEVELS)}}),
            "run": _obj({"refetch": {"type": "boolean"}, "refetch_provisional": {"type": "boolean"},
                         "retry_failing": {"type": "boolean"},
                         "failing_retry_max_days": _int(1, 365, fix="days between retries of a failing day"),
                         "confirm_empty_after_hours": {"type": "number", "minimum": 0}}),
            "cluster": _obj({"shared_sqlite": {"type": "boolean"}}),
            "spec": SPEC_SCHEMA,
        }
    ),
}


def load_spec_defaults() -> dict[str, Any]:
    """Every spec key with its default: `conf/spec_defaults.yaml`, the file Hydra composes under `spec`."""
    return copy.deepcopy(_spec_defaults())


@functools.lru_cache(maxsize=1)
def _spec_defaults() -> dict[str, Any]:
    text = resources.files("crawlspec.conf").joinpath("spec_defaults.yaml").read_text(encoding="utf-8")
    defaults: dict[str, Any] = yaml.safe_load(text)
    return defaults


def with_spec_defaults(spec: Any) -> Any:
    """`spec` deep-merged onto the defaults (dicts merge; any other value replaces the default).
    Anything that is not a mapping is returned unchanged for the validator to reject."""
    if not isinstance(spec, dict):
        return spec
    return _merge(load_spec_defaults(), spec)


def _merge(base: dict[str, Any], override: dict[Any, Any]) -> dict[Any, Any]:
    merged: dict[Any, Any] = dict(base)
    for key, value in override.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
