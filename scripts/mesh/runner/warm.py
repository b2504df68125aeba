"""Imported by the dbt workers' fork server, after preload.py, for a pool that will run
several tasks (`DbtWorkers(warm=True)`): dbt builds the platform's own warm-up project once,
so each task's child starts past dbt's first-invocation costs (workers.warm_up).
"""

from mesh.runner.workers import warm_up

warm_up()
