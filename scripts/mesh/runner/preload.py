"""Imported by the dbt workers' fork server, once per `mesh` command, before it forks any
worker: dbt and its DuckDB adapter are imported here (1.9 CPU-s), so every worker forked
after has them. multiprocessing's fork server can only preload modules by name.
"""

import os
import signal

from mesh.runner import sandbox
from mesh.runner.workers import COMMAND_PID, SERVER_PID

# Ctrl-C on a terminal reaches every process of the command; only the command acts on it
# (workers._start_server started this server with it blocked: ignored from now on).
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

# Killed with the command that started it, and its workers with it (workers._die_with_parent).
# A command that died before the request is not this server's parent any more: exit.
sandbox.die_with_parent()
if str(os.getppid()) != os.environ.get(COMMAND_PID):
    os._exit(1)
os.environ[SERVER_PID] = str(os.getpid())  # what the workers check their parent against

import dbt.adapters.duckdb  # noqa: E402
import dbt.cli.main  # noqa: E402, F401
