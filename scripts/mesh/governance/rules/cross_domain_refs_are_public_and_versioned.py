from __future__ import annotations

from collections.abc import Iterator

from mesh.discovery.manifest import Manifest, Node
from mesh.governance.rules._base import Context, DomainState, Finding, Rule


def _problems(manifest: Manifest, node: Node, domain: str) -> Iterator[str]:
    for parent_id in node.depends_on.nodes:
        parent = manifest.nodes.get(parent_id)
        if parent is None or (package := parent.package_name) == domain:
            continue
        if not parent.is_public:
            yield (
                f"Model {node.label} depends on {parent_id}, which is not a public model of "
                f"{package}."
            )
        if not any(ref.package == package for ref in node.refs):
            yield (
                f"Model {node.label} refers to {package}'s {parent.label} without naming the "
                "domain and a version."
            )
    for ref in node.refs:
        if ref.package not in (None, domain) and ref.version is None:
            pinned = f"{ref.package}.{ref.name} without pinning a version"
            yield f"Model {node.label} refers to {pinned}."


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    for node in state.models:
        for message in _problems(state.manifest, node, state.name):
            yield node.unique_id, node.original_file_path, message


RULE = Rule(
    name="cross_domain_refs_are_public_and_versioned",
    summary="refs to another domain's non-public or unpinned models",
    flags="""Models that depend on a model of another domain that is not public, or that refer
        to it without naming the domain and pinning a version.""",
    why="""Only public models are a domain's promise to others, and a pinned version keeps a
        consumer on the shape it was built for when the producer publishes a new one.""",
    fix="Refer to another domain's product as `{{ ref('<domain>', '<product>', v=<N>) }}`.",
    example="""`Model stg_orders__orders refers to orders.orders without pinning a version.`

        ```sql
        -- models/staging/stg_orders__orders.sql
        select * from {{ ref('orders', 'orders', v=2) }}  -- not ref('orders', 'orders')
        ```""",
    waivable=False,  # access and versions are the producers' promise and its limits
    check=check,
)
