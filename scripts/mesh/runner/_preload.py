"""Imported by the dbt workers' fork server (`workers._context`) before it forks a worker:
dbt is imported and warmed there once, and every worker forked from it starts warm."""

import signal

# The server shares the terminal: Ctrl-C is the parent's to handle (workers.py).
signal.signal(signal.SIGINT, signal.SIG_IGN)

from mesh.runner.workers import warm  # noqa: E402

warm()
