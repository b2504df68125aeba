"""The cross-domain graph: which domain consumes which product version of which domain.

Read from the consumers' published manifests in one mesh snapshot: a consumer model that
depends on a node of another package is a cross-domain ref (dbt-loom injected that node from
the producer).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from mesh.discovery import manifest
from mesh.discovery.snapshots import View


@dataclass(frozen=True, order=True)
class Edge:
    producer: str
    product: str
    version: str | None
    consumer: str
    consumer_model: str

    @property
    def product_label(self) -> str:
        return f"{self.product} v{self.version}" if self.version else self.product


def edges(view: View) -> list[Edge]:
    """Every (product version -> consumer model) edge among the publishes of `view`."""
    found: set[Edge] = set()
    for consumer in sorted(view.publishes):
        path = view.manifest(consumer)
        if not path.exists():
            continue
        nodes = manifest.load(path).nodes
        for node in nodes.values():
            if node.package_name != consumer or not node.is_model:
                continue
            for parent_id in node.depends_on.nodes:
                parent = nodes.get(parent_id)
                if parent is not None and parent.package_name != consumer:
                    found.add(
                        Edge(parent.package_name, parent.name, parent.version, consumer, node.name)
                    )
    return sorted(found)


def as_text(found: list[Edge]) -> str:
    by_product: dict[tuple[str, str], list[str]] = defaultdict(list)
    for edge in found:
        consumer = f"{edge.consumer}.{edge.consumer_model}"
        by_product[(edge.producer, edge.product_label)].append(consumer)
    return "\n".join(
        f"{producer}.{product} -> {', '.join(consumers)}"
        for (producer, product), consumers in sorted(by_product.items())
    )


def as_mermaid(found: list[Edge]) -> str:
    """A Mermaid flowchart: domains as nodes, one labelled edge per product version used."""
    arrows = dict.fromkeys(
        f'    {edge.producer} -- "{edge.product_label}" --> {edge.consumer}' for edge in found
    )
    return "\n".join(["flowchart LR", *arrows])
