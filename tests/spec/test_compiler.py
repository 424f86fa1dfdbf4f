"""Compiler: flag fields -> API query with the older tool's semantics (reference README, "Querying").

Every expected query below is written out by hand from the README's rules:
"any" = one IN condition, "all" = one EQ condition per value, include -> "and", exclude -> "not",
usernames IN (only_from in "and", exclude_from in "not"), regions IN region_code in "and",
video ids IN video_id in "and"; hashtags lowercased without '#', keywords lowercased, usernames
lowercased without '@'; values de-duplicated and sorted. Condition order in "and"/"not" is the
flag table's: hashtags (any, all), keywords (any, all), usernames, regions, video ids.
"""

from __future__ import annotations

from datetime import date

import pytest

from crawlspec.errors import SpecError
from crawlspec.spec.compile import compile_spec


def IN(field: str, *values: str) -> dict:
    return {"operation": "IN", "field_name": field, "field_values": list(values)}


def EQ(field: str, value: str) -> dict:
    return {"operation": "EQ", "field_name": field, "field_values": [value]}


CASES: list[tuple[str, dict, dict]] = [
    ("any_hashtags", {"include_any_hashtags": ["butter", "cheese"]},
     {"and": [IN("hashtag_name", "butter", "cheese")]}),
    ("any_hashtags_normalised", {"include_any_hashtags": ["#Cheese", "butter", "cheese"]},
     {"and": [IN("hashtag_name", "butter", "cheese")]}),
    ("all_hashtags", {"include_all_hashtags": ["cheese", "butter"]},
     {"and": [EQ("hashtag_name", "butter"), EQ("hashtag_name", "cheese")]}),
    ("all_hashtags_single", {"include_all_hashtags": ["garfield"]},
     {"and": [EQ("hashtag_name", "garfield")]}),
    ("exclude_any_hashtags", {"exclude_any_hashtags": ["tomato", "pasta"]},
     {"not": [IN("hashtag_name", "pasta", "tomato")]}),
    ("exclude_all_hashtags", {"exclude_all_hashtags": ["Pasta", "#tomato"]},
     {"not": [EQ("hashtag_name", "pasta"), EQ("hashtag_name", "tomato")]}),
    ("any_keywords", {"include_any_keywords": ["Shoe", "boots"]},
     {"and": [IN("keyword", "boots", "shoe")]}),
    ("all_keywords", {"include_all_keywords": ["cheese", "butter", "cheese"]},
     {"and": [EQ("keyword", "butter"), EQ("keyword", "cheese")]}),
    ("exclude_any_keywords", {"exclude_any_keywords": ["AD", "promo"]},
     {"not": [IN("keyword", "ad", "promo")]}),
    ("exclude_all_keywords", {"exclude_all_keywords": ["b", "a"]},
     {"not": [EQ("keyword", "a"), EQ("keyword", "b")]}),
    ("keyword_phrase", {"include_any_keywords": ["Red Shoes"]},
     {"and": [IN("keyword", "red shoes")]}),
    ("only_from_usernames", {"only_from_usernames": ["@Amuro", "roux"]},
     {"and": [IN("username", "amuro", "roux")]}),
    ("exclude_from_usernames", {"exclude_from_usernames": ["only-vegetables", "carb_hater"]},
     {"not": [IN("username", "carb_hater", "only-vegetables")]}),
    ("one_region_is_still_in", {"regions": ["US"]},
     {"and": [IN("region_code", "US")]}),
    ("regions_uppercased_deduplicated", {"regions": ["us", "FR", "US"]},
     {"and": [IN("region_code", "FR", "US")]}),
    ("video_ids", {"video_ids": ["7345557461438385450", "123456"]},
     {"and": [IN("video_id", "123456", "7345557461438385450")]}),
    ("video_ids_numbers_become_strings", {"video_ids": [123, "123", 45]},
     {"and": [IN("video_id", "123", "45")]}),
    ("readme_print_query_example",
     {"include_all_keywords": ["cheese", "butter"], "exclude_any_hashtags": ["pasta", "tomato"],
      "regions": ["US", "FR"], "exclude_from_usernames": ["carb_hater", "only-vegetables"]},
     {"and": [EQ("keyword", "butter"), EQ("keyword", "cheese"), IN("region_code", "FR", "US")],
      "not": [IN("hashtag_name", "pasta", "tomato"), IN("username", "carb_hater", "only-vegetables")]}),
    ("readme_advanced_query_example",
     {"include_any_keywords": ["shoe", "shoes", "sneakers", "pumps", "heels", "boots"]},
     {"and": [IN("keyword", "boots", "heels", "pumps", "shoe", "shoes", "sneakers")]}),
    ("include_and_exclude_hashtags",
     {"include_any_hashtags": ["cats"], "exclude_any_hashtags": ["dogs"]},
     {"and": [IN("hashtag_name", "cats")], "not": [IN("hashtag_name", "dogs")]}),
    ("all_hashtags_then_any_keywords",
     {"include_any_keywords": ["recipe"], "include_all_hashtags": ["butter", "cheese"]},
     {"and": [EQ("hashtag_name", "butter"), EQ("hashtag_name", "cheese"), IN("keyword", "recipe")]}),
    ("hashtags_keywords_regions_order",
     {"regions": ["GB"], "include_any_keywords": ["tea"], "include_any_hashtags": ["uk"]},
     {"and": [IN("hashtag_name", "uk"), IN("keyword", "tea"), IN("region_code", "GB")]}),
    ("exclude_all_of_both_kinds",
     {"exclude_all_keywords": ["spam"], "exclude_all_hashtags": ["ad", "paid"]},
     {"not": [EQ("hashtag_name", "ad"), EQ("hashtag_name", "paid"), EQ("keyword", "spam")]}),
    ("usernames_between_keywords_and_regions",
     {"regions": ["DE"], "only_from_usernames": ["bob"], "include_any_hashtags": ["bike"]},
     {"and": [IN("hashtag_name", "bike"), IN("username", "bob"), IN("region_code", "DE")]}),
    ("whitespace_and_case", {"include_any_hashtags": ["  Shoes ", "#SNEAKERS"]},
     {"and": [IN("hashtag_name", "shoes", "sneakers")]}),
    ("mixed_include_exclude_keywords_usernames",
     {"include_all_keywords": ["red", "dress"], "exclude_any_keywords": ["sale"],
      "exclude_from_usernames": ["@Shop"]},
     {"and": [EQ("keyword", "dress"), EQ("keyword", "red")],
      "not": [IN("keyword", "sale"), IN("username", "shop")]}),
    ("every_kind_at_once",
     {"include_any_hashtags": ["a"], "exclude_all_hashtags": ["b"], "include_all_keywords": ["c"],
      "exclude_any_keywords": ["d"], "only_from_usernames": ["e"], "regions": ["FR"]},
     {"and": [IN("hashtag_name", "a"), EQ("keyword", "c"), IN("username", "e"), IN("region_code", "FR")],
      "not": [EQ("hashtag_name", "b"), IN("keyword", "d")]}),
    ("empty_lists_are_omitted",
     {"include_any_hashtags": ["x"], "exclude_any_hashtags": [], "regions": []},
     {"and": [IN("hashtag_name", "x")]}),
    ("exclude_only_query", {"exclude_any_hashtags": ["x"], "exclude_from_usernames": ["y"]},
     {"not": [IN("hashtag_name", "x"), IN("username", "y")]}),
    ("lowercase_hashtag_duplicates_collapse", {"include_all_hashtags": ["Shoes", "shoes", "#shoes"]},
     {"and": [EQ("hashtag_name", "shoes")]}),
]


def spec_with(query: dict, **extra) -> dict:
    return {"name": "t", "query": query, "window": {"start": "2024-03-01", "end": "2024-03-31"}, **extra}


@pytest.mark.parametrize(("flags", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_flag_combination_compiles_to_the_older_tools_query(flags, expected):
    assert compile_spec(spec_with(flags)).query == expected


def test_raw_query_is_passed_through_in_canonical_key_order():
    raw = {"not": [{"field_values": ["SHORT"], "field_name": "video_length", "operation": "EQ"}],
           "or": [],
           "and": [{"operation": "IN", "field_name": "region_code", "field_values": ["DE", "AT"]}]}
    compiled = compile_spec(spec_with({"raw": raw}))
    assert compiled.query == {"and": [IN("region_code", "DE", "AT")], "not": [EQ("video_length", "SHORT")]}
    assert list(compiled.query) == ["and", "not"]
    assert list(compiled.query["not"][0]) == ["operation", "field_name", "field_values"]


def test_document_has_spec_fingerprint_query_and_windows():
    doc = compile_spec(spec_with({"regions": ["US"]}, window={"start": "2024-03-01", "end": "2024-03-10",
                                                              "days_per_query": 4})).to_document()
    assert list(doc) == ["spec", "fingerprint", "query", "windows"]
    assert doc["windows"] == [{"start_date": "20240301", "end_date": "20240304"},
                              {"start_date": "20240305", "end_date": "20240308"},
                              {"start_date": "20240309", "end_date": "20240310"}]
    assert len(doc["fingerprint"]) == 64 and int(doc["fingerprint"], 16) >= 0


def test_fingerprint_ignores_key_order_window_tags_and_value_order():
    a = compile_spec(spec_with({"include_any_hashtags": ["b", "a"], "regions": ["US"]}, tags=["x"]))
    b = compile_spec({"window": {"end": "2024-05-31", "start": "2024-05-01", "days_per_query": 3},
                      "query": {"regions": ["us"], "include_any_hashtags": ["#A", "b"]},
                      "name": "other", "tags": ["y", "z"]})
    assert a.fingerprint == b.fingerprint


@pytest.mark.parametrize("change", [
    {"query": {"include_any_hashtags": ["a", "c"], "regions": ["US"]}},
    {"fields": "all"},
    {"fields": ["id", "username"]},
])
def test_fingerprint_changes_with_query_or_fields(change):
    base = spec_with({"include_any_hashtags": ["a", "b"], "regions": ["US"]})
    assert compile_spec({**base, **change}).fingerprint != compile_spec(base).fingerprint


@pytest.mark.parametrize("fetch", [
    {"comments": True}, {"user_info": True}, {"comment_replies": True, "comments": True}, {"playlists": True},
])
def test_fingerprint_ignores_the_stage_flags(fetch):
    base = spec_with({"include_any_hashtags": ["a", "b"], "regions": ["US"]})
    assert compile_spec({**base, "fetch": fetch}).fingerprint == compile_spec(base).fingerprint


def test_fields_default_all_and_list_always_include_id_in_canonical_order():
    from crawlspec.api.fields import VIDEO_FIELDS_ALL, VIDEO_FIELDS_DEFAULT

    assert compile_spec(spec_with({"regions": ["US"]})).fields == VIDEO_FIELDS_DEFAULT
    assert compile_spec(spec_with({"regions": ["US"]}, fields="all")).fields == VIDEO_FIELDS_ALL
    listed = compile_spec(spec_with({"regions": ["US"]}, fields=["video_duration", "username", "username"]))
    assert listed.fields == ("id", "username", "video_duration")


def test_compiled_spec_carries_limits_fetch_and_tags():
    compiled = compile_spec(spec_with({"regions": ["US"]}, tags=["a", "b", "a"], fetch={"comments": True},
                                      limits={"max_api_requests": 5, "max_count": 50}))
    assert compiled.tags == ("a", "b")
    assert compiled.fetch == {"comments": True, "user_info": False}
    assert (compiled.max_api_requests, compiled.max_count) == (5, 50)
    assert (compiled.start, compiled.end, compiled.days_per_query) == (date(2024, 3, 1), date(2024, 3, 31), 30)
    assert compiled.auto_windows   # the default: sizes chosen by the crawl, starting at 30 days
    fixed = compile_spec(spec_with({"regions": ["US"]}, window={"start": "2024-03-01", "end": "2024-03-31",
                                                                 "days_per_query": 7}))
    assert (fixed.auto_windows, fixed.days_per_query, len(fixed.windows)) == (False, 7, 5)


def test_relative_dates_resolve_against_today():
    spec = spec_with({"regions": ["US"]}, window={"start": "${days_ago:9}", "end": "${days_ago:2}"})
    compiled = compile_spec(spec, today=date(2024, 4, 10))
    assert (compiled.start, compiled.end) == (date(2024, 4, 1), date(2024, 4, 8))


def test_today_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CRAWLSPEC_TODAY", "2024-01-05")
    compiled = compile_spec(spec_with({"regions": ["US"]}, window={"start": "${days_ago:4}", "end": "${days_ago:0}"}))
    assert [w.api_dates() for w in compiled.windows] == [("20240101", "20240105")]


def test_window_dates_may_be_yaml_dates():
    compiled = compile_spec(spec_with({"regions": ["US"]}, window={"start": date(2024, 3, 1), "end": date(2024, 3, 2)}))
    assert compiled.windows[0].api_dates() == ("20240301", "20240302")


def test_invalid_spec_raises_spec_error_with_every_problem():
    with pytest.raises(SpecError) as caught:
        compile_spec(spec_with({"regions": ["XX"]}, window={"start": "2024-03-10", "end": "2024-03-01",
                                                            "days_per_query": 45}))
    text = str(caught.value)
    assert "spec.query.regions[0]" in text
    assert "spec.window.end" in text
    assert "spec.window.days_per_query: 45 is outside 1..30" in text
    assert caught.value.exit_code == 2
