"""The one cursor rule (`crawlspec.crawl.paging.Paginator`): a normal walk, a cursor that repeats, goes
back, or is missing while `has_more` is true, the comment ceiling, and cursors that count down
(unix seconds). Pure, in-process: no HTTP, no database, no waits."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawlspec import exit_codes
from crawlspec.crawl.paging import Direction, Paginator
from crawlspec.errors import ApiError, CursorNotAdvancing


class RecordingLog:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str):
        return lambda event, **fields: self.events.append((level, event, fields))


def walk(pages: Paginator, answers: list[tuple[int | None, bool]]) -> list[int | None]:
    """The cursors a crawl would send for `answers`, one (next cursor, has_more) per page."""
    sent = [pages.cursor]
    for cursor, has_more in answers:
        if not pages.advance(cursor, has_more):
            break
        sent.append(pages.cursor)
    return sent


def test_a_normal_walk_asks_each_next_cursor_once_and_ends_on_has_more_false() -> None:
    pages = Paginator("videos 20240301-20240301")
    assert walk(pages, [(100, True), (200, True), (245, False)]) == [None, 100, 200]
    assert pages.finished and pages.cursor == 245


@pytest.mark.parametrize("start,answer", [(100, 100), (100, 40), (0, 0)], ids=["repeats", "goes_back", "stays_at_0"])
def test_a_cursor_that_does_not_advance_is_refused_and_changes_nothing(start: int, answer: int) -> None:
    pages = Paginator("comments of video 7", cursor=start, endpoint="/v2/research/video/comment/list/")
    with pytest.raises(CursorNotAdvancing) as refused:
        pages.advance(answer, True)
    assert (pages.cursor, pages.finished) == (start, False), "the listing stays at its last cursor"
    err = refused.value
    assert isinstance(err, ApiError) and err.exit_code == exit_codes.FAILURE
    assert "comments of video 7" in str(err) and f"({start} -> {answer})" in str(err)
    assert err.endpoint == "/v2/research/video/comment/list/" and err.code == "cursor_not_advancing"


def test_a_missing_cursor_with_has_more_ends_the_listing_and_says_so() -> None:
    log = RecordingLog()
    pages = Paginator("playlist 5", cursor=100, log=log)
    assert pages.advance(None, True) is False
    assert (pages.finished, pages.cursor) == (True, 100)
    assert [(level, event) for level, event, _ in log.events] == [("warning", "cursor_missing")]
    assert log.events[0][2]["listing"] == "playlist 5"


def test_a_last_page_may_carry_any_cursor() -> None:
    """has_more false ends the listing whatever the cursor says: nothing more is asked for."""
    for last in (None, 50, 100):
        pages = Paginator("videos w", cursor=100)
        assert pages.advance(last, False) is False and pages.finished


def test_the_comment_ceiling_ends_the_listing_without_asking_beyond_it() -> None:
    pages = Paginator("comments of video 1", cursor=0, ceiling=1000)
    answers = [(cursor, True) for cursor in range(100, 1300, 100)]
    assert walk(pages, answers) == list(range(0, 1000, 100)), "ten pages, the 11th is never asked for"
    assert pages.finished and pages.cursor == 1000


def test_a_seconds_cursor_counts_down_and_refuses_to_go_up() -> None:
    pages = Paginator("followers of alice", direction=Direction.DOWN)
    assert walk(pages, [(1_709_300_000, True), (1_709_200_000, True)]) == [None, 1_709_300_000, 1_709_200_000]
    with pytest.raises(CursorNotAdvancing):
        pages.advance(1_709_250_000, True)
    assert pages.cursor == 1_709_200_000


def test_a_finished_listing_takes_no_more_pages() -> None:
    pages = Paginator("videos w")
    pages.advance(10, False)
    with pytest.raises(RuntimeError):
        pages.advance(20, True)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(answers=st.lists(st.tuples(st.one_of(st.none(), st.integers(-5, 50)), st.booleans()), max_size=40),
       direction=st.sampled_from(list(Direction)))
def test_whatever_the_api_answers_every_cursor_asked_for_is_new_and_the_walk_ends(answers, direction) -> None:
    """No answer sequence makes the paginator ask a cursor twice or loop: it ends, or it refuses."""
    pages = Paginator("any listing", direction=direction)
    sent: list[int | None] = [None]
    try:
        for cursor, has_more in answers:
            if not pages.advance(cursor, has_more):
                break
            sent.append(pages.cursor)
    except CursorNotAdvancing:
        assert not pages.finished
    moved = sent[1:]
    assert len(set(moved)) == len(moved)
    assert moved == sorted(moved, reverse=direction is Direction.DOWN)
