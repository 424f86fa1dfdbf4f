"""Structured logging: pretty on a terminal, JSON lines under cron/CI, always on stderr.

Secrets are redacted here, at the edge, whatever code path produced the event: every value that
equals a registered secret, and every key that names one, is masked before rendering.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

import structlog

_SECRET_KEYS = frozenset({"client_secret", "client_key", "access_token", "authorization", "token",
                          "password", "secret"})
_secrets: set[str] = set()
_lock = threading.Lock()
REDACTED = "***"


def register_secret(value: str | None) -> None:
    """Remember a secret value (client secret, access token) so no log line can carry it."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact_text(text: str) -> str:
    """Mask every registered secret inside a string (also used for error messages and archives)."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: (REDACTED if str(k).lower() in _SECRET_KEYS else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v) for v in value)
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the last word before rendering."""
    return {k: (REDACTED if k.lower() in _SECRET_KEYS else _redact_value(v)) for k, v in event_dict.items()}


def wants_json(log_format: str = "auto", stream: Any = None) -> bool:
    """`auto` means JSON lines unless stderr is a terminal."""
    if log_format == "json":
        return True
    if log_format == "console":
        return False
    stream = stream if stream is not None else sys.stderr
    return not (hasattr(stream, "isatty") and stream.isatty())


def configure_logging(log_format: str = "auto", level: str = "info", stream: Any = None) -> None:
    """Configure structlog once per process; every event goes to stderr (stdout is for data)."""
    stream = stream if stream is not None else sys.stderr
    renderer: Any
    if wants_json(log_format, stream):
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=hasattr(stream, "isatty") and stream.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "crawlspec") -> Any:
    return structlog.get_logger(name)
