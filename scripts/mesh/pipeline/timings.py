"""Where build time goes: per-node timings of each domain's current publish.

dbt's run_results.json of every build is published with it; this reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.discovery.manifest import load_run_results
from mesh.workspace import Mesh


@dataclass(frozen=True)
class NodeTiming:
    domain: str
    node: str  # e.g. model.orders.orders.v2
    resource_type: str  # model, test, unit_test, seed
    seconds: float
    status: str


def timings(mesh: Mesh, domains: list[str], models_only: bool = True) -> list[NodeTiming]:
    """Every node's execution time in the current publishes of `domains`, slowest first."""
    found = [
        NodeTiming(domain, result.unique_id, kind, result.execution_time, result.status)
        for domain in domains
        if (path := mesh.published_dir(domain) / "run_results.json").exists()
        for result in load_run_results(path).results
        if (kind := result.unique_id.split(".", 1)[0]) == "model" or not models_only
    ]
    return sorted(found, key=lambda timing: (-timing.seconds, timing.node))
