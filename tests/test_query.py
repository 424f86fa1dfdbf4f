"""crawlspec.query: the older tool's library API (README examples with the import renamed)."""

from __future__ import annotations

from crawlspec.query import Cond, F, Fields, Op, VideoQuery, generate_query


def test_readme_example_single_values_become_one_element_lists():
    query = VideoQuery(
        and_=[
            Cond(Fields.hashtag_name, "garfield", Op.EQ),
            Cond(Fields.region_code, "US", Op.EQ),
        ],
    )
    assert query.as_dict() == {
        "and": [
            {"operation": "EQ", "field_name": "hashtag_name", "field_values": ["garfield"]},
            {"operation": "EQ", "field_name": "region_code", "field_values": ["US"]},
        ]
    }


def test_readme_example_single_condition_in_or_with_a_list():
    query = VideoQuery(or_=Cond(Fields.video_id, ["7345557461438385450", "123456"], Op.IN))
    assert query.as_dict() == {
        "or": [{"operation": "IN", "field_name": "video_id", "field_values": ["7345557461438385450", "123456"]}]
    }


def test_empty_parts_are_left_out_and_f_is_an_alias_of_fields():
    query = VideoQuery(and_=[], or_=None, not_=[Cond(F.video_length, "SHORT", Op.EQ)])
    assert F is Fields
    assert query.as_dict() == {"not": [{"operation": "EQ", "field_name": "video_length", "field_values": ["SHORT"]}]}
    assert VideoQuery().is_empty()


def test_fields_cover_the_nine_query_fields():
    assert {f.value for f in Fields} == {
        "create_date", "username", "region_code", "video_id", "hashtag_name", "keyword", "music_id",
        "effect_id", "video_length",
    }
    assert [op.value for op in Op] == ["EQ", "IN", "GT", "GTE", "LT", "LTE"]


def test_generate_query_accepts_the_older_cli_comma_separated_form():
    from_strings = generate_query(include_all_keywords="cheese,butter", exclude_any_hashtags="pasta,tomato",
                                  region_codes=["US", "FR"], exclude_from_usernames="carb_hater,only-vegetables")
    from_lists = generate_query(include_all_keywords=["butter", "cheese"], exclude_any_hashtags=["tomato", "pasta"],
                                region_codes="FR,US", exclude_from_usernames=["only-vegetables", "carb_hater"])
    expected = {
        "and": [
            {"operation": "EQ", "field_name": "keyword", "field_values": ["butter"]},
            {"operation": "EQ", "field_name": "keyword", "field_values": ["cheese"]},
            {"operation": "IN", "field_name": "region_code", "field_values": ["FR", "US"]},
        ],
        "not": [
            {"operation": "IN", "field_name": "hashtag_name", "field_values": ["pasta", "tomato"]},
            {"operation": "IN", "field_name": "username", "field_values": ["carb_hater", "only-vegetables"]},
        ],
    }
    assert from_strings.as_dict() == expected
    assert from_lists.as_dict() == expected


def test_generate_query_without_flags_is_empty():
    assert generate_query().as_dict() == {}
