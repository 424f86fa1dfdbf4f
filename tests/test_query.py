"""crawlspec.spec.query: the older tool's library API (README examples with the import renamed)."""

from __future__ import annotations

import json

import pytest

from crawlspec.spec.query import (
    Cond,
    F,
    Fields,
    Op,
    VideoQuery,
    VideoQueryJSONEncoder,
    generate_query,
    generate_video_id_query,
    get_normalized_username_set,
)


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


def test_the_older_tools_keyword_names_make_the_same_condition():
    older = Cond(field=Fields.region_code, field_values=["US", "GB"], operation=Op.IN)
    assert older == Cond(Fields.region_code, ["US", "GB"], Op.IN) == Cond(Fields.region_code, value=["US", "GB"], op="IN")
    assert older.as_dict() == {"operation": "IN", "field_name": "region_code", "field_values": ["US", "GB"]}
    with pytest.raises(TypeError):
        Cond(Fields.region_code, "US", Op.EQ, operation=Op.IN)
    with pytest.raises(TypeError):
        Cond(Fields.region_code, "US")
    with pytest.raises(ValueError):
        Cond(field=Fields.region_code, field_values="ZZ", operation=Op.EQ)


def test_a_condition_appended_after_the_query_was_made_is_part_of_it():
    conditions = [Cond(Fields.hashtag_name, "garfield", Op.EQ)]
    query = VideoQuery(and_=conditions, not_=[])
    assert query.is_empty() is False
    query.and_.append(Cond(Fields.region_code, "US", Op.EQ))
    query.not_.append(Cond(Fields.video_length, "SHORT", Op.EQ))
    assert query.as_dict() == {
        "and": [{"operation": "EQ", "field_name": "hashtag_name", "field_values": ["garfield"]},
                {"operation": "EQ", "field_name": "region_code", "field_values": ["US"]}],
        "not": [{"operation": "EQ", "field_name": "video_length", "field_values": ["SHORT"]}],
    }
    assert json.loads(json.dumps(query, cls=VideoQueryJSONEncoder)) == query.as_dict()


def test_fields_cover_the_eleven_query_fields_of_todays_docs():
    assert {f.value for f in Fields} == {
        "create_date", "username", "region_code", "video_id", "hashtag_name", "keyword", "music_id",
        "effect_id", "video_length", "view_count", "comment_count",
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


@pytest.mark.parametrize(("field", "value"), [
    (Fields.region_code, "invalid"), (Fields.region_code, "us"), (Fields.region_code, ["US", "UK"]),
    (Fields.create_date, "2024-03-01"), (Fields.create_date, "20240231"),
    (Fields.video_length, "TINY"),
    (Fields.view_count, "1e6"), (Fields.view_count, "-1"), (Fields.comment_count, "ten"),
    (Fields.comment_count, 10),
])
def test_cond_rejects_values_the_field_cannot_take_with_value_error(field: Fields, value: object) -> None:
    with pytest.raises(ValueError):
        Cond(field, value, Op.EQ)  # type: ignore[arg-type]


def test_cond_rejects_an_unknown_operation_and_accepts_count_conditions() -> None:
    with pytest.raises(ValueError):
        Cond(Fields.keyword, "x", "LIKE")  # type: ignore[arg-type]
    cond = Cond(Fields.view_count, "1000", Op.GTE)
    assert cond.operation is Op.GTE
    assert cond.as_dict() == {"operation": "GTE", "field_name": "view_count", "field_values": ["1000"]}
    assert Cond(Fields.comment_count, ["0", "5"], Op.IN).field_values == ["0", "5"]


def test_json_encoder_video_id_query_and_username_normalisation_match_the_older_library() -> None:
    query = generate_video_id_query([7345557461438385450, 123])
    assert json.loads(json.dumps(query, cls=VideoQueryJSONEncoder)) == {
        "and": [{"operation": "IN", "field_name": "video_id", "field_values": ["7345557461438385450", "123"]}]
    }
    assert get_normalized_username_set("@Mark,sally@, kai ,") == {"mark", "sally", "kai"}


def test_generate_query_keeps_the_older_positional_order_region_codes_first() -> None:
    query = generate_query(["us"], "shoes")
    assert query.as_dict() == {"and": [
        {"operation": "IN", "field_name": "hashtag_name", "field_values": ["shoes"]},
        {"operation": "IN", "field_name": "region_code", "field_values": ["US"]},
    ]}
