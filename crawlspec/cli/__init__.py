"""Entry points: argv -> settings -> one call -> exit code. This package is where errors become messages
and exit codes; `entry.main` dispatches to one module per command."""
