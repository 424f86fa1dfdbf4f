"""The shortcut that skips cleaning a page whose JSON text cannot decode to an unstorable string: it may
only ever say "storable" when cleaning would change nothing."""

from __future__ import annotations

import contextlib
import json

import pytest

from crawlspec.client.responses import parse_json
from crawlspec.text import json_is_storable, storable, without_nul_escapes

TEXTS = ["plain", "accents éü", "emoji \U0001F600", "nul \x00 inside", "lone \ud83d half", "lone \udc00 low",
         "pair \ud83d\ude00 as escapes", "backslash \\u0000 as text", "\\", "tab\tline\n", "",
         "backslash then nul \\\x00", "two backslashes then nul \\\\\x00\x00", "\x00\\u0000\x00"]


def pages_of(text: str) -> list[bytes]:
    record = {"data": {"videos": [{"id": 1, "video_description": text, "hashtag_names": [text]}], "has_more": False}}
    escaped = json.dumps(record)                                # ASCII, every non-ASCII char escaped
    literal = json.dumps(record, ensure_ascii=False)
    pages = [escaped.encode("ascii"), escaped.encode("utf-16")]
    with contextlib.suppress(UnicodeEncodeError):               # a lone surrogate has no UTF-8 form
        pages.append(literal.encode("utf-8"))
    return pages


@pytest.mark.parametrize("text", TEXTS)
def test_the_shortcut_never_skips_a_page_that_needs_cleaning(text: str) -> None:
    for raw in pages_of(text):
        body = parse_json(raw)
        if json_is_storable(raw):
            assert storable(body) == body


@pytest.mark.parametrize("text", TEXTS)
def test_removing_nul_escapes_from_the_json_text_equals_cleaning_the_decoded_value(text: str) -> None:
    for raw in pages_of(text):
        cleaned = without_nul_escapes(raw)
        assert storable(parse_json(cleaned)) == storable(parse_json(raw))
        if json_is_storable(cleaned):
            assert parse_json(cleaned) == storable(parse_json(raw))


def test_clean_pages_take_the_shortcut_and_unstorable_escapes_do_not() -> None:
    assert json_is_storable('{"a": "é \U0001F600 plain \\\\ \\n \\u00e9"}'.encode())
    for escape in ("\\u0000", "\\ud83d", "\\uDC00", "\\uD83D\\uDE00"):
        assert not json_is_storable(f'{{"a": "x{escape}y"}}'.encode())
    assert not json_is_storable('{"a": "x"}'.encode("utf-16"))
    assert json_is_storable(without_nul_escapes(b'{"a\\u0000": "x\\u0000y \\\\\\u0000"}'))
