"""Imported by the dbt workers' fork server, once per `mesh` command, before it forks any
worker: dbt and its DuckDB adapter are imported here (1.9 CPU-s), so every worker forked
after has them. multiprocessing's fork server can only preload modules by name.
"""

import signal

# Ctrl-C on a terminal reaches every process of the command; only the command acts on it
# (workers._context started this server with it blocked: ignored from now on).
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

import dbt.adapters.duckdb  # noqa: E402
import dbt.cli.main  # noqa: E402, F401

from mesh.runner import sandbox  # noqa: E402

# Killed with the command that started it: its workers die with it (workers._die_with_parent).
# A command that died before this line closed the server's pipe: the server exits on that.
sandbox.die_with_parent()
