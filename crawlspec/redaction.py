"""Secret redaction: the one place that knows what a secret looks like.

`redact(value)` is what every other module calls before a text or a structure leaves the process (a log
line, an error message, an archived response, a stored override). It masks, whatever the escaping:
- every registered secret (client secret, client key, access tokens), also in its Hydra-escaped form;
- the password of any `scheme://user:password@host` URL, also when Hydra wrote it escaped
  (`postgresql\\://u\\:pw@host`);
- the value of `KEY=VALUE` when KEY names a secret (`+api.client_secret=...`, `db.password=...`);
- in a mapping, the value of every key that names a secret.

`redact_override(override)` is `redact` for one Hydra override: it parses the override, and when the
parsed value would still show a secret after masking the text (an unusual quoting or escaping), the
whole value is masked.

Nothing here imports Hydra at module level (`status` and `export` never load it).
"""

from __future__ import annotations

import re
import threading
from typing import Any

REDACTED = "***"
_SECRET_NAME = re.compile(r"(?:^|[_\-])(?:secret|password|passwd|pwd|token|authorization|client_key|api_key|"
                          r"access_key|private_key)$", re.IGNORECASE)
# `scheme://user:PASSWORD@`, each `:` and `/` possibly escaped with a backslash (Hydra's sweep overrides)
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][\w+.\-]*\\?:\\?/\\?/(?:\\[^:]|[^:/@\s\\])*\\?:)"
                           r"(?:\\\s|[^@\s])+(?=@)")
# the same in an unescaped value: the password runs up to the first `@`, spaces included
_PLAIN_URL_PASSWORD = re.compile(r"\b[a-zA-Z][\w+.\-]*://[^:/@]*:(?P<password>[^@]*)@")
# `KEY=VALUE` where the last part of KEY names a secret; VALUE quoted, or up to an unescaped space
_SECRET_ASSIGNMENT = re.compile(r"(?P<head>(?<![\w.\-/])[+~]*(?:[\w\-]+[./])*(?P<leaf>[\w\-]+)(?:@[\w.]+)?=)"
                                r"(?P<value>'[^']*'|\"[^\"]*\"|(?:\\.|[^\s\\])+)")
# the characters Hydra escapes with a backslash in an override value
_HYDRA_SPECIAL = re.compile(r"([\\()\[\]{}:=, \t])")

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret value (client secret, access token) so no output can carry it."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def names_a_secret(key: Any) -> bool:
    """Whether a key (`client_secret`, `api.client_secret`, `db/password`, `Authorization`) names a secret."""
    leaf = re.split(r"[./]", str(key).lstrip("+~"))[-1]
    return bool(_SECRET_NAME.search(leaf))


def redact(value: Any) -> Any:
    """`value` with every secret masked: strings, and mappings, lists and tuples of them (recursively);
    anything else is returned unchanged."""
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, dict):
        return {k: (REDACTED if names_a_secret(k) else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    return value


def _redact_text(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        for form in {secret, _hydra_escaped(secret)}:
            if form in text:
                text = text.replace(form, REDACTED)
    if "=" in text:
        text = _SECRET_ASSIGNMENT.sub(_mask_assignment, text)
    if "/" in text:
        text = _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    return text


def _mask_assignment(match: re.Match[str]) -> str:
    if not names_a_secret(match.group("leaf")):
        return match.group(0)
    return match.group("head") + REDACTED


def _hydra_escaped(text: str) -> str:
    return _HYDRA_SPECIAL.sub(r"\\\1", text)


def redact_override(override: str) -> str:
    """One Hydra override (`db.url=postgresql://u:pw@host/db`, escaped or quoted as Hydra records it)
    with its secrets masked; the whole value is masked when masking the text is not enough."""
    masked = _redact_text(override)
    parsed = _parse_override(masked)
    if parsed is None:
        return masked if _parse_override(override) is None else _masked_value(override)
    key, value = parsed
    return _masked_value(override) if names_a_secret(key) or _shows_a_secret(value) else masked


def _masked_value(override: str) -> str:
    head, _, _ = override.partition("=")
    return f"{head}={REDACTED}"


def _parse_override(override: str) -> tuple[str, Any] | None:
    """The key and the parsed value (escapes and quotes removed), or None when it does not parse."""
    # lazy: Hydra is slow to import; only overrides need it
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_override(override)
        return parsed.key_or_group, parsed.value()
    except Exception:  # not an override Hydra can read: text masking is all there is
        return None


def _shows_a_secret(value: Any) -> bool:
    """Whether a parsed override value still holds something `redact` would mask."""
    from hydra.core.override_parser.types import (  # lazy: Hydra is slow to import; only overrides need it
        ChoiceSweep,
        IntervalSweep,
        RangeSweep,
    )

    if isinstance(value, ChoiceSweep):
        return any(_shows_a_secret(v) for v in value.list)
    if isinstance(value, (RangeSweep, IntervalSweep)):
        return False
    if isinstance(value, dict):
        return any(names_a_secret(k) and v != REDACTED or _shows_a_secret(k) or _shows_a_secret(v)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(_shows_a_secret(v) for v in value)
    if not isinstance(value, str):
        return False
    passwords = [m.group("password") for m in _PLAIN_URL_PASSWORD.finditer(value)]
    return _redact_text(value) != value or any(p not in ("", REDACTED) for p in passwords)
