"""Entry points: argv -> settings -> one call -> exit code. This package is where errors become messages
and exit codes; `entry.main` dispatches to one module per command."""

from crawlspec import logs
from crawlspec.cli import progress

# every command's console logs on a terminal draw the progress line
logs.use_terminal_sink(progress.install, progress.uninstall)
