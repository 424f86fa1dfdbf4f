"""Reading the validation download (the ids still valid), whose format is published nowhere.

Accepted: one id a line or several separated by commas or spaces, optional double quotes around an id,
LF or CRLF line ends, blank lines anywhere, a byte-order mark, and one header line before the first id
(a line without any id, such as `video_id`). Anything else is refused with the offending text: a
file misread as "no id is valid" would delete every stored record of its task.
"""

from __future__ import annotations

BOM = "\ufeff"


class UnreadableIdFile(ValueError):
    """The download holds text that is neither an id nor a leading header line."""


def _tokens(line: str) -> list[str]:
    return [token.strip('"') for token in line.replace(",", " ").replace(";", " ").split()]


def parse_valid_ids(text: str) -> set[int]:
    """The ids in a validation download (see the module docstring for the shapes accepted)."""
    ids: set[int] = set()
    seen_content = False
    for line in text.lstrip(BOM).splitlines():
        tokens = [token for token in _tokens(line) if token]
        if not tokens:
            continue
        numeric = [token.isdigit() for token in tokens]
        if not seen_content and not any(numeric):
            seen_content = True     # the header line
            continue
        seen_content = True
        bad = next((token for token, ok in zip(tokens, numeric, strict=True) if not ok), None)
        if bad is not None:
            raise UnreadableIdFile(f"{bad[:40]!r} is not an id")
        ids.update(int(token) for token in tokens)
    return ids
