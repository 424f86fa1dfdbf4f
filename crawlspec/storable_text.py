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
