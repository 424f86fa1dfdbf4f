"""Strings every back end can store, applied where API data enters (the client) and again where rows are
written (storage: library users may store pages from elsewhere).

Two things in a JSON string cannot be stored as text:
- NUL characters: PostgreSQL rejects them in text; they are removed.
- Lone UTF-16 surrogates: JSON may escape half an emoji (`"\\ud83d"`, as a UTF-16 truncation leaves it);
  Python decodes it to a str that neither sqlite3 nor psycopg2 can encode, so one such description would
  fail its whole page, window after window. Each becomes U+FFFD, the Unicode replacement character.
  (A valid pair is one character by the time `json.loads` returns, so every surrogate left is lone.)
"""

from __future__ import annotations

import re
from typing import Any

NUL = "\x00"
REPLACEMENT_CHARACTER = "\ufffd"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# In a UTF-8 JSON text, the only ways to a NUL or a surrogate in a decoded string: a `\u0000` or
# `\uD800`..`\uDFFF` escape (raw control characters and invalid UTF-8 make `json.loads` fail instead).
# A NUL byte means another encoding (`json.loads` also reads UTF-16/32): no shortcut then.
_UNSTORABLE_JSON_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


# A `\u0000` escape preceded by an even number of backslashes (an odd one makes it literal text).
_NUL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def without_nul_escapes(raw: bytes) -> bytes:
    """The JSON text without its `\u0000` escapes: it decodes to the original's value with every NUL
    removed from every string (keys included), as `storable` would leave it, in one pass over the bytes."""
    if b"\\u0000" not in raw:
        return raw
    if b"\\\\u0000" not in raw:  # no backslash before any of them: each is an escape, a plain replace does
        return raw.replace(b"\\u0000", b"")
    return _NUL_ESCAPE.sub(rb"\1", raw)


def json_is_storable(raw: bytes) -> bool:
    """True when every string `json.loads(raw)` gives is already storable, so `storable` may be skipped:
    one scan of the bytes instead of a call per string. False also for escaped surrogate *pairs* (valid,
    but then the decoded value is cleaned the long way, which leaves valid characters as they are)."""
    return b"\x00" not in raw and _UNSTORABLE_JSON_ESCAPE.search(raw) is None


def storable_text(text: str) -> str:
    """`text` without NUL characters and with lone surrogates replaced; the same object when clean."""
    if NUL in text:
        text = text.replace(NUL, "")
    if not text.isascii() and _LONE_SURROGATE.search(text):
        text = _LONE_SURROGATE.sub(REPLACEMENT_CHARACTER, text)
    return text


def storable(value: Any) -> Any:
    """`value` with `storable_text` applied to every string in it, dict keys included, at any depth."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value
