"""The table of rejected specs and overrides (each with the key paths its message must name), and the
working directory each case runs in."""

from __future__ import annotations

from pathlib import Path

WINDOW = 'window: {start: "2024-03-01", end: "2024-03-31"}\n'


def spec_file(query: str, *, name: str = "case", window: str = WINDOW, extra: str = "") -> str:
    return f"name: {name}\nquery:\n{query}\n{window}{extra}"


# id -> (spec file text or None, overrides, substrings that must all appear on stderr)
REJECTIONS: dict[str, tuple[str | None, list[str], list[str]]] = {
    "unknown_spec_key": (spec_file("  regions: [US]", extra="qeury: {}\n"), [],
                         ["spec.qeury: unknown key", "did you mean spec.query"]),
    "unknown_nested_key": (spec_file("  regions: [US]", window='window: {start: "2024-03-01", end: "2024-03-31", '
                                     "dayz_per_query: 3}\n"), [],
                           ["spec.window.dayz_per_query: unknown key", "spec.window.days_per_query"]),
    "yaml_boolean_hashtag": (spec_file("  include_any_hashtags: [no, shoes]"), [],
                             ["spec.query.include_any_hashtags[0]", "boolean", "quote"]),
    "yaml_number_hashtag": (spec_file("  include_any_hashtags: [1234]"), [],
                            ["spec.query.include_any_hashtags[0]", "number", "quote"]),
    "scalar_instead_of_list": (spec_file("  regions: US"), [], ["spec.query.regions", "write a list"]),
    "unknown_region": (spec_file("  regions: [US, UK]"), [], ["spec.query.regions[1]", "'UK'", "GB"]),
    "any_and_all_hashtags": (spec_file("  include_any_hashtags: [a]\n  include_all_hashtags: [b]"), [],
                             ["spec.query.include_all_hashtags", "include_any_hashtags"]),
    "any_and_all_keywords": (spec_file("  exclude_any_keywords: [a]\n  exclude_all_keywords: [b]"), [],
                             ["spec.query.exclude_all_keywords"]),
    "only_from_and_exclude_from": (spec_file("  only_from_usernames: [a]\n  exclude_from_usernames: [b]"), [],
                                   ["spec.query.exclude_from_usernames", "only_from_usernames"]),
    "video_ids_with_flags": (spec_file('  video_ids: ["123"]\n  regions: [US]'), [],
                             ["spec.query.video_ids", "regions"]),
    "raw_with_flags": (spec_file("  regions: [US]\n  raw: {and: [{operation: EQ, field_name: keyword, "
                                 "field_values: [a]}]}"), [], ["spec.query.raw", "regions"]),
    "empty_query": (spec_file("  regions: []"), [], ["spec.query: empty"]),
    "unparseable_date": (spec_file("  regions: [US]", window='window: {start: "March 1st", end: "2024-03-31"}\n'),
                         [], ["spec.window.start", "YYYY-MM-DD"]),
    "end_before_start": (spec_file("  regions: [US]", window='window: {start: "2024-03-31", end: "2024-03-01"}\n'),
                         [], ["spec.window.end", "before"]),
    "days_per_query_too_big": (None, ["+spec=demo", "spec.window.days_per_query=45"],
                               ["spec.window.days_per_query: 45 is outside 1..30"]),
    "days_per_query_zero": (None, ["+spec=demo", "spec.window.days_per_query=0"], ["spec.window.days_per_query"]),
    "unknown_field_name": (spec_file("  regions: [US]", extra="fields: [id, view_cnt]\n"), [],
                           ["spec.fields[1]", "view_count"]),
    "fields_bad_keyword": (None, ["+spec=demo", "spec.fields=some"], ["spec.fields", "default, all"]),
    "max_count_out_of_range": (None, ["+spec=demo", "spec.limits.max_count=101"], ["spec.limits.max_count"]),
    "max_api_requests_below_one": (None, ["+spec=demo", "spec.limits.max_api_requests=0"],
                                   ["spec.limits.max_api_requests"]),
    "quota_policy": (None, ["+spec=demo", "api.on_quota_exhausted=sleep"], ["api.on_quota_exhausted"]),
    "log_format": (None, ["+spec=demo", "log.format=xml"], ["log.format"]),
    "bad_name": (spec_file("  regions: [US]", name='"Shoes 2024"'), [], ["spec.name"]),
    "fetch_not_boolean": (None, ["+spec=demo", "spec.fetch.comments=maybe"], ["spec.fetch.comments"]),
    "raw_unknown_field": (spec_file("  raw: {and: [{operation: IN, field_name: hashtag, field_values: [a]}]}"), [],
                          ["spec.query.raw.and[0].field_name", "hashtag_name"]),
    "raw_unknown_operation": (spec_file("  raw: {and: [{operation: LIKE, field_name: keyword, field_values: [a]}]}"),
                              [], ["spec.query.raw.and[0].operation"]),
    "raw_eq_two_values": (spec_file("  raw: {and: [{operation: EQ, field_name: keyword, field_values: [a, b]}]}"),
                          [], ["spec.query.raw.and[0].field_values", "exactly one"]),
    "raw_non_string_value": (spec_file("  raw: {and: [{operation: EQ, field_name: video_id, field_values: [123]}]}"),
                             [], ["spec.query.raw.and[0].field_values[0]", "number"]),
    "raw_unknown_region": (spec_file("  raw: {or: [{operation: IN, field_name: region_code, field_values: [US, EU]}]}"),
                           [], ["spec.query.raw.or[0].field_values[1]", "'EU'"]),
    "raw_bad_video_length": (spec_file("  raw: {not: [{operation: EQ, field_name: video_length, "
                                       "field_values: [TINY]}]}"), [], ["spec.query.raw.not[0].field_values[0]"]),
    "raw_bad_create_date": (spec_file("  raw: {and: [{operation: GT, field_name: create_date, "
                                      "field_values: [2024-03-01]}]}"), [],
                            ["spec.query.raw.and[0].field_values[0]", "YYYYMMDD"]),
    "raw_empty": (spec_file("  raw: {and: [], not: []}"), [], ["spec.query.raw: empty"]),
    "raw_unknown_bool_op": (spec_file("  raw: {andd: [{operation: EQ, field_name: keyword, field_values: [a]}]}"),
                            [], ["spec.query.raw.andd: unknown key", "spec.query.raw.and"]),
    "spec_file_not_yaml": ("name: x\nquery: [\n", [], ["specs/case.yaml is not valid YAML"]),
    "spec_file_is_a_list": ("- name: x\n", [], ["specs/case.yaml", "mapping of spec keys", "not a list"]),
    "spec_file_is_a_boolean": ("no\n", [], ["specs/case.yaml", "mapping of spec keys"]),
    "misspelled_override": (None, ["+spec=demo", "spec.qeury.x=1"], ["spec.qeury", "did you mean spec.query"]),
    "unknown_group_option": (None, ["+spec=demo", "api=tiktokk"], ["api=tiktokk", "sim, tiktok"]),
    "missing_spec": (None, ["+spec=nope"], ["nope", "./specs/nope.yaml", "demo"]),
    "misspelled_spec_group": (None, ["+spce=demo"], ["spce: unknown key", "did you mean spec"]),
    "no_spec_at_all": (None, [], ["spec.name: missing", "+spec=NAME"]),
    "bad_relative_date": (None, ["+spec=demo", "spec.window.end=${days_ago:x}"], ["spec.window.end", "days_ago"]),
    "override_syntax": (None, ["+spec=demo", "spec.query.regions=[US"], ["spec.query.regions=[US"]),
}


def arrange(tmp_path: Path, spec_text: str | None, overrides: list[str]) -> list[str]:
    (tmp_path / "specs").mkdir(exist_ok=True)
    if spec_text is None:
        return overrides
    (tmp_path / "specs" / "case.yaml").write_text(spec_text)
    return ["+spec=case", *overrides]


def listing(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))
