"""A window resumed with a search_id from an earlier run: restarted at the first rejection only while
fetching its stored pages again costs no more than the search_id retries would (the end-to-end case is
`tests/crawl/test_resume.py::test_stale_search_id_restarts_the_window_from_cursor_zero`)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crawlspec.client.retry import RetryPolicy
from crawlspec.crawl.videos import VideoCrawler


@pytest.mark.parametrize(("search_id", "cursor", "restart_at_once"), [
    ("7354367454467855403", 200, True),    # 2 stored pages < 5 retries
    ("7354367454467855403", 500, True),    # 5 pages = 5 retries
    ("7354367454467855403", 600, False),   # 6 pages: retrying the search_id is cheaper
    (None, 0, False),                      # a new search: nothing stored
])
def test_a_stored_search_is_restarted_at_once_only_when_that_is_cheaper(search_id, cursor, restart_at_once):
    crawler = SimpleNamespace(ctx=SimpleNamespace(client=SimpleNamespace(retry_policy=RetryPolicy(search_id_tries=5))),
                              plan=SimpleNamespace(max_count=100))
    state = SimpleNamespace(search_id=search_id, cursor=cursor)
    assert VideoCrawler._restart_is_cheaper_than_retries(crawler, state) is restart_at_once  # type: ignore[arg-type]
