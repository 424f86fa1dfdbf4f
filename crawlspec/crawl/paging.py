"""Cursor paging: one rule for every listing the crawler pages (video windows, comments and replies,
user lists, playlists, and the library's in-memory iteration).

A listing starts at a cursor (None: the API's default start) and each page answers `has_more` and the
next cursor. `Paginator.advance()` takes those two and decides, here and nowhere else:

- `has_more` false: the listing is complete;
- the cursor reaches the listing's `ceiling` (the 1,000 comments the API lets anyone read): complete;
- `has_more` true without a cursor: complete, logged as `cursor_missing` (the API ends some listings
  this way; a next cursor is never guessed);
- `has_more` true with a cursor that does not move in the listing's direction (the same cursor again,
  or one going back): `CursorNotAdvancing` is raised before anything of the page is committed. The
  caller records the listing as failed at its last committed cursor and the next run asks again:
  following such a cursor could fetch the same pages forever, and ending there would mark an
  unfinished listing complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from crawlspec.errors import CursorNotAdvancing
from crawlspec.logs import get_logger


class Direction(str, Enum):
    """How a listing's cursor moves from page to page."""

    UP = "up"        # a start index (video windows, comments, reposted videos, playlists)
    DOWN = "down"    # unix seconds, "on or before" (liked videos, followers, following)


@dataclass
class Paginator:
    """The cursor of one listing; `advance()` refuses a cursor that does not move (see the module doc)."""

    listing: str                       # what is paged, for logs and errors: "comments of video 42"
    cursor: int | None = None          # the cursor the next request sends (None: the API's default start)
    direction: Direction = Direction.UP
    ceiling: int | None = None         # an UP cursor at or beyond it ends the listing
    endpoint: str | None = None
    finished: bool = False
    log: Any = field(default=None, repr=False, compare=False)

    def advance(self, next_cursor: int | None, has_more: bool) -> bool:
        """Take one page's paging keys: True while another page is to be asked for (at `self.cursor`).
        Raises CursorNotAdvancing (and changes nothing) for a cursor that repeats or goes back."""
        if self.finished:
            raise RuntimeError(f"{self.listing}: the listing is already complete")
        if not has_more:
            return self._finish(next_cursor)
        if next_cursor is None:
            self._logger().warning("cursor_missing", listing=self.listing, cursor=self.cursor,
                                   endpoint=self.endpoint,
                                   note="has_more without a next cursor: the listing ends here")
            return self._finish(None)
        if not self.moves_to(next_cursor):
            raise CursorNotAdvancing(
                f"{self.listing}: the API answered has_more with a cursor that does not advance "
                f"({self.cursor} -> {next_cursor}); the listing stops at its last committed cursor",
                code="cursor_not_advancing", endpoint=self.endpoint)
        self.cursor = next_cursor
        if self.direction is Direction.UP and self.ceiling is not None and next_cursor >= self.ceiling:
            return self._finish(None)
        return True

    def moves_to(self, next_cursor: int) -> bool:
        """Whether `next_cursor` is a step forward from the current cursor."""
        if self.cursor is None:
            return True
        return next_cursor > self.cursor if self.direction is Direction.UP else next_cursor < self.cursor

    def _finish(self, last_cursor: int | None) -> bool:
        if last_cursor is not None:
            self.cursor = last_cursor   # recorded as the API gave it; never asked for
        self.finished = True
        return False

    def _logger(self) -> Any:
        return self.log if self.log is not None else get_logger("crawlspec.crawl.paging")
