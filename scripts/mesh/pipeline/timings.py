"""Where build time goes: per-node timings of each domain's current publish.

dbt's run_results.json of every build is published with it; this reads them back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

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
    found = []
    for domain in domains:
        path = mesh.published_dir(domain) / "run_results.json"
        if not path.exists():
            continue
        for result in json.loads(path.read_text()).get("results", []):
            unique_id = str(result.get("unique_id", ""))
            resource_type = unique_id.split(".", 1)[0]
            if models_only and resource_type != "model":
                continue
            found.append(
                NodeTiming(
                    domain,
                    unique_id,
                    resource_type,
                    float(result.get("execution_time") or 0.0),
                    str(result.get("status", "")),
                )
            )
    return sorted(found, key=lambda timing: (-timing.seconds, timing.node))
