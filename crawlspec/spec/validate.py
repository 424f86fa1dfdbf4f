"""Every problem of a composed config or spec at once, each as `path: what is wrong; how to fix`.

Two passes: the JSON Schema of `crawlspec.spec.schema` (types, unknown keys, ranges, enums), then
semantic checks a schema cannot express (exclusive fields, empty query, dates, region codes, the
rules of a `raw` query). Semantic checks only look at values whose type is right, so one mistake
is reported once.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from crawlspec.api import fields as api_fields
from crawlspec.api.regions import REGION_CODES
from crawlspec.sim.day_ranges import normalise_day_ranges
from crawlspec.spec.query import FLAG_RULES
from crawlspec.spec.schema import CONFIG_SCHEMA, FLAG_FIELDS, SPEC_SCHEMA, with_spec_defaults
from crawlspec.spec.users import users_problems

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
API_DATE = re.compile(r"^\d{8}$")
REGION_ALIASES = {"UK": "GB"}  # a common slip, even in TikTok's own examples
# spec flag -> the generate_query argument whose normaliser applies to it
FLAG_TO_ARGUMENT = {flag: flag for flag in FLAG_FIELDS} | {"regions": "region_codes", "video_ids": "video_ids"}
EXCLUSIVE_PAIRS: tuple[tuple[str, str], ...] = (
    ("include_any_hashtags", "include_all_hashtags"),
    ("exclude_any_hashtags", "exclude_all_hashtags"),
    ("include_any_keywords", "include_all_keywords"),
    ("exclude_any_keywords", "exclude_all_keywords"),
    ("only_from_usernames", "exclude_from_usernames"),
)


# ---- entry points -----------------------------------------------------------------------------


def validate_config(config: Any) -> list[str]:
    """Problems of the whole composed config (the plain dict hydra_app hands to commands)."""
    if not isinstance(config, Mapping):
        return [f"config: expected a mapping, got {describe(config)}"]
    config = dict(config)
    if "spec" not in config:
        return _schema_problems(_config_validator(), config, "") + [
            "spec: missing; choose a spec with +spec=NAME (./specs/NAME.yaml or a packaged example)"]
    spec = _prepared(config["spec"])
    problems = _schema_problems(_config_validator(), {**config, "spec": spec}, "")
    return problems + _simulator_problems(config.get("api")) + semantic_problems(spec, "spec")


def _simulator_problems(api: Any) -> list[str]:
    """`api.simulator` dates (api=sim): a date that does not exist is named here, not by the simulator."""
    simulator = api.get("simulator") if isinstance(api, Mapping) else None
    if not isinstance(simulator, Mapping):
        return []
    problems = []
    if isinstance(simulator.get("start"), str) and parse_window_date(simulator["start"]) is None:
        problems.append(f"api.simulator.start: {simulator['start']!r} is not a date; write YYYY-MM-DD")
    try:
        normalise_day_ranges(simulator.get("failing_days"))
    except (TypeError, ValueError) as err:
        problems.append(f"api.simulator.failing_days: {err}; write START..END[,START..END] in YYYY-MM-DD")
    return problems


def validate_spec(spec: Any, prefix: str = "spec") -> list[str]:
    """Problems of one spec (missing optional keys take their defaults)."""
    prepared = _prepared(with_spec_defaults(spec))
    return _schema_problems(_spec_validator(), prepared, prefix) + semantic_problems(prepared, prefix)


# ---- schema pass ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _config_validator() -> Draft202012Validator:
    return Draft202012Validator(CONFIG_SCHEMA)


@functools.lru_cache(maxsize=1)
def _spec_validator() -> Draft202012Validator:
    return Draft202012Validator({"$schema": CONFIG_SCHEMA["$schema"], **SPEC_SCHEMA})


def _prepared(spec: Any) -> Any:
    """Window dates given as YAML/Python dates become ISO strings (they are fine there)."""
    if isinstance(spec, Mapping) and isinstance(spec.get("window"), Mapping):
        window = dict(spec["window"])
        for key in ("start", "end"):
            if isinstance(window.get(key), date):
                value = window[key]
                window[key] = (value.date() if isinstance(value, datetime) else value).isoformat()
        return {**spec, "window": window}
    return spec


def _schema_problems(validator: Draft202012Validator, instance: Any, prefix: str) -> list[str]:
    problems: list[str] = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(_format_error(error, prefix))
    return problems


def join_path(prefix: str, parts: Iterable[Any]) -> str:
    path = prefix
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path or "config"


def _format_error(error: ValidationError, prefix: str) -> list[str]:
    path = join_path(prefix, error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    fix = schema.get("x-fix")
    kind = error.validator
    # jsonschema types these as "Any | Unset"; once a validator failed, both are set
    value: Any = error.instance
    expected: Any = error.validator_value
    if kind == "additionalProperties":
        known = list(schema.get("properties", {}))
        return [_unknown_key(path if error.absolute_path or prefix else "", key, known)
                for key in value if key not in known]
    if kind == "type":
        return [f"{path}: expected {_expected(expected)}, got {describe(value)}"
                f"{_type_fix(value, expected, fix)}"]
    if kind == "enum":
        return [f"{path}: {describe(value)} is not one of {', '.join(map(str, expected))}"
                f"{_closest_hint(value, expected)}"]
    if kind in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        bounds = f"outside {low}..{high}" if high is not None else f"below the minimum {low}"
        return [f"{path}: {value} is {bounds}{_fix(fix)}"]
    if kind == "exclusiveMinimum":
        return [f"{path}: {value} must be greater than {expected}"]
    if kind == "pattern":
        return [f"{path}: {describe(value)} is not allowed{_fix(fix)}"]
    if kind == "minItems":
        return [f"{path}: empty list{_fix(fix)}"]
    if kind == "required":
        missing = [key for key in expected if key not in value]
        return [f"{join_path(path, [key])}: missing" for key in missing]
    return [f"{path}: {error.message}"]


def _fix(fix: str | None) -> str:
    return f"; {fix}" if fix else ""


def _unknown_key(parent: str, key: Any, known: list[str]) -> str:
    where = f"{parent}.{key}" if parent else str(key)
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    if close:
        suggestion = join_path(parent, [close[0]]) if parent else close[0]
        return f"{where}: unknown key; did you mean {suggestion}?"
    return f"{where}: unknown key; remove it (known keys here: {', '.join(known)})"


def _closest_hint(value: Any, choices: Iterable[Any]) -> str:
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


_TYPE_NAMES = {"string": "a string", "array": "a list", "object": "a mapping", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "null"}


def _expected(types: str | list[str]) -> str:
    names = [types] if isinstance(types, str) else [t for t in types if t != "null"] or ["null"]
    return " or ".join(_TYPE_NAMES.get(t, t) for t in names)


def describe(value: Any) -> str:
    """How the value was read, in the words of a YAML user."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (read as a boolean)"
    if isinstance(value, (int, float)):
        return f"{value} (read as a number)"
    if isinstance(value, (date, datetime)):
        return f"{value} (read as a date)"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return repr(value)


def _type_fix(value: Any, expected: str | list[str], fix: str | None) -> str:
    wants_string = expected == "string" or (isinstance(expected, list) and "string" in expected)
    if wants_string and isinstance(value, bool):
        return ("; YAML reads unquoted yes/no/on/off/true/false as booleans: quote the value, "
                "e.g. \"no\"")
    if wants_string and isinstance(value, (int, float, date)):
        kind = "date" if isinstance(value, date) else "number"
        return f"; YAML read the unquoted value as a {kind}: quote it, \"{value}\""
    if expected == "array" and isinstance(value, str):
        return f"; write a list, e.g. [{value}]"
    return _fix(fix)


# ---- semantic pass ----------------------------------------------------------------------------


def semantic_problems(spec: Any, prefix: str = "spec") -> list[str]:
    """Checks beyond the schema; values of the wrong type are skipped (the schema reported them)."""
    if not isinstance(spec, Mapping):
        return [f"{prefix}: expected a mapping of spec keys, got {describe(spec)}"]
    problems = _name_problems(spec.get("name"), prefix)
    if spec.get("users") is not None:   # a users spec: no query, no window (crawlspec.spec.users)
        return problems + users_problems(spec, prefix)
    query = spec.get("query")
    if isinstance(query, Mapping):
        problems += query_problems(query, f"{prefix}.query")
    window = spec.get("window")
    if isinstance(window, Mapping):
        problems += window_problems(window, f"{prefix}.window")
    return problems


def _name_problems(name: Any, prefix: str) -> list[str]:
    if name is None:
        return [f"{prefix}.name: missing; choose a spec with +spec=NAME, or give the spec a `name:`"]
    return []


def _strings(value: Any) -> list[str] | None:
    """The list if it is a list of strings (else None: the schema reports it)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _is_set(value: Any) -> bool:
    return value not in (None, [], {})


def query_problems(query: Mapping[str, Any], path: str) -> list[str]:
    problems: list[str] = []
    set_keys = [key for key in query if _is_set(query[key])]
    for first, second in EXCLUSIVE_PAIRS:
        if first in set_keys and second in set_keys:
            problems.append(f"{path}.{second}: cannot be combined with {path}.{first}; keep one of the two")
    for exclusive in ("video_ids", "raw"):
        others = [key for key in set_keys if key != exclusive]
        if exclusive in set_keys and others:
            problems.append(f"{path}.{exclusive}: cannot be combined with {', '.join(others)}; "
                            f"a spec with {exclusive} uses nothing else in its query")
    if not set_keys:
        problems.append(f"{path}: empty; set at least one of {', '.join(FLAG_FIELDS)}, video_ids or raw")
    for flag in FLAG_FIELDS:
        problems += _flag_value_problems(flag, query.get(flag), f"{path}.{flag}")
    problems += _video_id_problems(query.get("video_ids"), f"{path}.video_ids")
    if isinstance(query.get("raw"), Mapping):
        problems += raw_query_problems(query["raw"], f"{path}.raw")
    return problems


def _flag_value_problems(flag: str, values: Any, path: str) -> list[str]:
    strings = _strings(values)
    if strings is None:
        return []
    normalise = FLAG_RULES[FLAG_TO_ARGUMENT[flag]][3]
    problems = [f"{path}[{i}]: {value!r} is empty once normalised; remove it"
                for i, value in enumerate(strings) if not normalise(value)]
    if flag == "regions":
        problems += [_region_problem(f"{path}[{i}]", value) for i, value in enumerate(strings)
                     if normalise(value) and normalise(value) not in REGION_CODES]
    return problems


def _region_problem(path: str, code: str) -> str:
    hint = REGION_ALIASES.get(code.strip().upper())
    if hint is None:
        close = difflib.get_close_matches(code.strip().upper(), sorted(REGION_CODES), n=3, cutoff=0.5)
        hint = " or ".join(close)
    suggestion = f"; did you mean {hint}?" if hint else ""
    return (f"{path}: {code!r} is not a region code of the API{suggestion} "
            "(the 245 codes are listed in docs/reference/spec.md, \"Regions\")")


def _video_id_problems(values: Any, path: str) -> list[str]:
    if not isinstance(values, list):
        return []
    return [f"{path}[{i}]: {value!r} is not a video id; video ids are strings of digits"
            for i, value in enumerate(values)
            if not isinstance(value, bool) and isinstance(value, (str, int)) and not str(value).strip().isdigit()]


def raw_query_problems(raw: Mapping[str, Any], path: str) -> list[str]:
    """A raw API query: known fields and operations (schema), plus the value rules per field."""
    parts = [op for op in api_fields.BOOL_OPS if isinstance(raw.get(op), list) and raw[op]]
    if not parts:
        return [f"{path}: empty; give at least one condition under and, or, not"]
    problems: list[str] = []
    for op in parts:
        for i, condition in enumerate(raw[op]):
            if isinstance(condition, Mapping):
                problems += condition_problems(condition, f"{path}.{op}[{i}]")
    return problems


def condition_problems(condition: Mapping[str, Any], path: str) -> list[str]:
    operation, field_name = condition.get("operation"), condition.get("field_name")
    values = _strings(condition.get("field_values"))
    if values is None or operation not in api_fields.OPERATIONS or field_name not in api_fields.QUERY_FIELD_NAMES:
        return []  # reported by the schema
    problems: list[str] = []
    if operation != "IN" and len(values) != 1:
        problems.append(f"{path}.field_values: {operation} takes exactly one value, got {len(values)}; "
                        "use IN for several values")
    if operation in ("GT", "GTE", "LT", "LTE") and field_name not in api_fields.ORDERED_QUERY_FIELDS:
        problems.append(f"{path}.operation: {operation} only applies to "
                        f"{', '.join(api_fields.ORDERED_QUERY_FIELDS)}; use EQ or IN for {field_name}")
    problems += [problem for i, value in enumerate(values)
                 if (problem := _raw_value_problem(field_name, value, f"{path}.field_values[{i}]"))]
    return problems


def _raw_value_problem(field_name: str, value: str, path: str) -> str | None:
    if field_name == "region_code" and value not in REGION_CODES:
        return _region_problem(path, value)
    if field_name == "video_length" and value not in api_fields.VIDEO_LENGTHS:
        return f"{path}: {value!r} is not a video length; use one of {', '.join(api_fields.VIDEO_LENGTHS)}"
    if field_name == "create_date" and _api_date(value) is None:
        return f"{path}: {value!r} is not a date as the API wants it; write YYYYMMDD, e.g. 20240301"
    if field_name in ("video_id", "music_id", "effect_id") and not value.isdigit():
        return f"{path}: {value!r} is not an id; {field_name} values are strings of digits"
    if field_name in api_fields.COUNT_QUERY_FIELDS and not (value.isascii() and value.isdigit()):
        return f"{path}: {value!r} is not a count; {field_name} values are integers written as strings, e.g. \"1000\""
    if not value.strip():
        return f"{path}: empty value; remove it"
    return None


def _api_date(value: str) -> date | None:
    if not API_DATE.match(value):
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None


def parse_window_date(value: Any) -> date | None:
    """A window date: a date object or an ISO `YYYY-MM-DD` string; None if it is neither."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and ISO_DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def window_problems(window: Mapping[str, Any], path: str) -> list[str]:
    problems: list[str] = []
    dates: dict[str, date] = {}
    for key in ("start", "end"):
        value = window.get(key)
        if value is None:
            problems.append(f"{path}.{key}: missing; set it to an ISO date such as \"2024-03-01\" "
                            "or a relative one such as ${days_ago:2}")
        elif isinstance(value, (str, date)):
            parsed = parse_window_date(value)
            if parsed is None:
                problems.append(f"{path}.{key}: {value!r} is not a date; write YYYY-MM-DD, e.g. \"2024-03-01\"")
            else:
                dates[key] = parsed
    if len(dates) == 2 and dates["end"] < dates["start"]:
        problems.append(f"{path}.end: {dates['end']} is before {path}.start {dates['start']}; "
                        "the window runs from start to end, both included")
    return problems


def closest_known_key(dotted: str) -> str | None:
    """For a misspelled dotted key (`spec.qeury.x`), the known key it most likely meant, up to the
    first misspelled part (`spec.query`); None when nothing is close."""
    schema: Any = CONFIG_SCHEMA
    known: list[str] = []
    for part in dotted.split("."):
        properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
        if part in properties:
            known.append(part)
            schema = properties[part]
            continue
        close = difflib.get_close_matches(part, list(properties), n=1, cutoff=0.6)
        return ".".join([*known, close[0]]) if close else None
    return None
