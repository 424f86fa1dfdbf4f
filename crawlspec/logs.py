"""Structured logging: pretty on a terminal, JSON lines under cron/CI, always on stderr.

Secrets are redacted here, at the edge, whatever code path produced the event: the last processor
before rendering runs every event through `crawlspec.redaction` (registered secrets, URL passwords,
keys that name a secret). Records of the standard library's `logging` (urllib3, alembic, SQLAlchemy,
warnings) are routed through the same processors, so no library can print around the redaction or
break the JSON-lines stream.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog

from crawlspec.redaction import REDACTED, names_a_secret, redact, register_secret

__all__ = ["REDACTED", "configure_logging", "get_logger", "json_output", "redact_text", "register_secret",
           "use_terminal_sink", "wants_json"]

# The live display drawn on a terminal (the CLI's progress line): installed by whoever owns it, so that
# logging, which every module imports, depends on no display code.
_terminal_sink: dict[str, Callable[..., Any]] = {}


def use_terminal_sink(install: Callable[[Any], Any], uninstall: Callable[[], None]) -> None:
    """Register the processor factory `install(stream)` that `configure_logging` adds on a terminal with
    the console format, and `uninstall()` that it calls otherwise (the CLI registers its progress line)."""
    _terminal_sink.update(install=install, uninstall=uninstall)


def redact_text(text: str) -> str:
    """`text` with every secret masked (see `crawlspec.redaction.redact`)."""
    return str(redact(text))


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """structlog processor: the last word before rendering."""
    return {k: (REDACTED if names_a_secret(k) else redact(v)) for k, v in event_dict.items()}


def wants_json(log_format: str = "auto", stream: Any = None) -> bool:
    """`auto` means JSON lines unless stderr is a terminal."""
    if log_format == "json":
        return True
    if log_format == "console":
        return False
    return not _is_terminal(stream if stream is not None else sys.stderr)


def _is_terminal(stream: Any) -> bool:
    return bool(hasattr(stream, "isatty") and stream.isatty())


def json_output() -> bool:
    """Whether the last `configure_logging` chose JSON lines (then plain-text summaries are left out:
    under cron/CI stderr carries JSON lines only)."""
    return _state["json"]


_state = {"json": False}
# Libraries log through the standard library (urllib3, alembic, sqlalchemy, ...); their records go
# through the same processors (redaction included) at WARNING and above.
LIBRARY_LOG_LEVEL = logging.WARNING


class _CurrentStderr:
    """A file-like object that always writes to the current `sys.stderr`."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return _is_terminal(sys.stderr)


def _level_number(level: str) -> int:
    """The logging level named `level`; INFO for a name that is none (the spec validator reports it:
    the error message must still be logged)."""
    number = logging.getLevelName(str(level).upper())
    return number if isinstance(number, int) else logging.INFO


def configure_logging(log_format: str = "auto", level: str = "info", stream: Any = None) -> None:
    """Configure structlog, and route the standard library's logging into it, once per run.

    Every event goes to stderr (stdout is for data) through `redact_secrets`. On a terminal with the
    console format, the registered terminal sink (the CLI's progress line) turns the runner's page
    events into a live status line."""
    as_json = wants_json(log_format, stream if stream is not None else sys.stderr)
    terminal = _is_terminal(stream if stream is not None else sys.stderr)
    # Without an explicit stream, write to whatever sys.stderr is at write time: a library user (or a
    # test harness) may replace sys.stderr after configuring, and a closed old stream must not break logging.
    stream = stream if stream is not None else _CurrentStderr()
    _state["json"] = as_json
    renderer: Any
    if as_json:
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=terminal)
    finishing: list[Any] = [redact_secrets]
    if not as_json and terminal and "install" in _terminal_sink:
        finishing.append(_terminal_sink["install"](stream))
    elif "uninstall" in _terminal_sink:
        _terminal_sink["uninstall"]()
    structlog.configure(
        processors=[*_enrichers(), structlog.processors.format_exc_info, *finishing, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(_level_number(level)),
        # one write per line (PrintLogger writes the newline separately): parallel sweep jobs share
        # one stderr pipe, and a line must not be split by another process's line
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(stream, [*finishing, renderer])


def _enrichers() -> list[Any]:
    return [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True)]


def _route_standard_logging(stream: Any, finishing: list[Any]) -> None:
    """Replace the root logger's handlers with one that renders records like structlog events, so a
    library's warning is a JSON line under cron and is redacted like everything else."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_enrichers(), structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, *finishing])
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LIBRARY_LOG_LEVEL)
    if warnings.showwarning is not getattr(logging, "_showwarning", None):
        logging.captureWarnings(False)  # forget a stale capture (something restored showwarning since)
        logging.captureWarnings(True)


def get_logger(name: str = "crawlspec") -> Any:
    return structlog.get_logger(name)


class _LibraryLogger:
    """Where events go before any `configure_logging` (crawlspec used as a library): through the
    standard `logging` module when the host application configured it, else to stderr. Never stdout:
    that belongs to the host's own output."""

    def __init__(self, name: str = "crawlspec") -> None:
        self._logger = logging.getLogger(name if name.startswith("crawlspec") else "crawlspec")

    def _emit(self, level: int, message: str) -> None:
        if self._logger.hasHandlers():
            self._logger.log(level, message)
        else:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    def debug(self, message: str) -> None:
        self._emit(logging.DEBUG, message)

    def info(self, message: str) -> None:
        self._emit(logging.INFO, message)

    def warning(self, message: str) -> None:
        self._emit(logging.WARNING, message)

    def error(self, message: str) -> None:
        self._emit(logging.ERROR, message)

    def critical(self, message: str) -> None:
        self._emit(logging.CRITICAL, message)

    msg = log = info
    warn = warning
    err = exception = error
    fatal = critical


def _library_logger_factory(*args: Any) -> _LibraryLogger:
    return _LibraryLogger(str(args[0]) if args else "crawlspec")


def _configure_library_default() -> None:
    """Safe defaults for library use, replaced by `configure_logging` (the CLI) or by a host that
    configures structlog itself."""
    structlog.configure(
        processors=[*_enrichers(), structlog.processors.format_exc_info, redact_secrets,
                    structlog.dev.ConsoleRenderer(colors=False)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=_library_logger_factory,
        cache_logger_on_first_use=False,
    )


if not structlog.is_configured():
    _configure_library_default()
