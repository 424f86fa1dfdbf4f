"""`crawlspec` entry point: dispatches to the command modules, importing only what a command needs.

Commands that compose a spec (`run`, `compile`, `validate`, `test`) go through Hydra
(`crawlspec.cli.hydra_app`); the others (`status`, `export`, `sim`, `db`, `init`) use plain argparse and never
import Hydra, so they start fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import signal
import sys

from crawlspec import __version__, exit_codes

# command -> (module, one-line help). Each module exposes `main(argv: list[str]) -> int`,
# except the Hydra commands, which share `crawlspec.cli.hydra_app.main(command, argv)`.
HYDRA_COMMANDS: dict[str, str] = {
    "run": "validate, compile and run one spec (-m for sweeps)",
    "compile": "print the compiled plan as JSON on stdout; sends nothing",
    "validate": "report every problem in the composed spec (exit 2 if any)",
    "test": "one-request smoke test of credentials and database",
}
PLAIN_COMMANDS: dict[str, tuple[str, str]] = {
    "status": ("crawlspec.cli.status", "crawls, windows done/pending, videos stored, quota used today"),
    "export": ("crawlspec.cli.export", "stream stored data to csv / jsonl / parquet"),
    "report": ("crawlspec.cli.report", "one self-contained HTML page picturing every crawl (calendar, quota, stages)"),
    "refresh": ("crawlspec.cli.refresh", "15-day compliance refresh: delete what the API no longer serves"),
    "sim": ("crawlspec.sim.cli", "run the local Research API simulator"),
    "db": ("crawlspec.cli.db", "database maintenance (`crawlspec db upgrade` applies migrations)"),
    "init": ("crawlspec.cli.init", "write a commented starter spec to ./specs/NAME.yaml"),
}


def _usage() -> str:
    lines = [f"crawlspec {__version__}: declarative, resumable crawls of the TikTok Research API", "",
             "usage: crawlspec COMMAND [options | Hydra overrides]", "", "commands:"]
    for name, text in HYDRA_COMMANDS.items():
        lines.append(f"  {name:<10} {text}")
    for name, (module, text) in PLAIN_COMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            lines.append(f"  {name:<10} {text}")
    lines += ["", "Spec commands take Hydra overrides, e.g. `crawlspec run +spec=demo api=sim`.",
              "`crawlspec COMMAND --help` shows a command's options. Exit codes: 0 complete, 2 invalid input,",
              "75 stopped with resumable work left, 77 credentials rejected, 1 anything else."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    if argv is None and hasattr(signal, "SIGPIPE"):
        # `crawlspec compile ... | head`: end quietly like other Unix tools, not with a BrokenPipeError
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(argv)
    except KeyboardInterrupt:
        return _interrupted(argv)


def _interrupted(argv: list[str]) -> int:
    """Ctrl-C outside a command's own signal handling (while starting up, or a second one while the summary
    is written): one line (a JSON event under JSON logging), exit 75, no traceback. (SIGTERM there keeps
    its default: the process ends at once, even inside a blocking call; open transactions roll back.)"""
    import json  # lazy: only an interrupted command needs it

    from crawlspec.cli.hydra_app import command_line_log_format  # lazy: pulls in structlog
    from crawlspec.logs import wants_json  # lazy: pulls in structlog

    message = "crawlspec: interrupted; committed work is safe, run the same command again"
    if wants_json(command_line_log_format(argv)):
        print(json.dumps({"event": "command_failed", "message": message, "exit_code": exit_codes.RESUMABLE,
                          "outcome": "interrupted", "level": "warning"}), file=sys.stderr, flush=True)
    else:
        print(message, file=sys.stderr, flush=True)
    return exit_codes.RESUMABLE


def _dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return exit_codes.OK if argv else exit_codes.INVALID_INPUT
    if argv[0] in ("-V", "--version"):
        print(f"crawlspec {__version__}")
        return exit_codes.OK
    command, rest = argv[0], argv[1:]
    if command in HYDRA_COMMANDS:
        from crawlspec.cli import hydra_app  # lazy: Hydra, OmegaConf and jsonschema are slow to import

        return hydra_app.main(command, rest)
    if command in PLAIN_COMMANDS:
        module_name = PLAIN_COMMANDS[command][0]
        if importlib.util.find_spec(module_name) is None:
            print(f"crawlspec: `{command}` is not available in this version", file=sys.stderr)
            return exit_codes.INVALID_INPUT
        return int(importlib.import_module(module_name).main(rest))
    print(f"crawlspec: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
    return exit_codes.INVALID_INPUT
