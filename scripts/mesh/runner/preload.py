"""Imported by the dbt workers' fork server, once per `mesh` command, before it forks any
worker: dbt is imported and warmed up here, so every worker forked after starts warm.

multiprocessing's fork server can only preload modules by name; importing this one is the
warm-up (workers.warm_up: a tiny project of the platform's own, nothing of a domain).
"""

import signal

# Ctrl-C on a terminal reaches every process of the command; only the command acts on it
# (workers._context started this server with it blocked: ignored from now on).
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

from mesh.runner import sandbox  # noqa: E402 (after the signal, which dbt's import may outlast)
from mesh.runner.workers import warm_up  # noqa: E402

# Killed with the command that started it: its workers die with it (workers._die_with_parent).
# A command that died before this line closed the server's pipe: the server exits on that.
sandbox.die_with_parent()
warm_up()
