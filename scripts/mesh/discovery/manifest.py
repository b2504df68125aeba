"""Reading dbt manifests: the facts several platform modules need about a node.

Shared by the policies, the ODCS contracts and the catalog, so that "primary key" and
"PII" mean the same thing everywhere.
"""

from __future__ import annotations

from typing import Any

Node = dict[str, Any]


def primary_key(node: Node) -> list[str]:
    """The model's primary key columns: a model-level constraint, or column constraints."""
    for constraint in node.get("constraints") or []:
        if constraint.get("type") == "primary_key" and constraint.get("columns"):
            return [str(column) for column in constraint["columns"]]
    return [
        name
        for name, column in (node.get("columns") or {}).items()
        if any(c.get("type") == "primary_key" for c in column.get("constraints") or [])
    ]


def is_pii(column: Node) -> bool:
    """A column tagged `pii`, or with `pii: true` in its meta (top level or under config)."""
    config = column.get("config") or {}
    tags = [*(column.get("tags") or []), *(config.get("tags") or [])]
    metas = [column.get("meta") or {}, config.get("meta") or {}]
    return "pii" in tags or any(meta.get("pii") is True for meta in metas)


def pii_columns(manifest: dict[str, Any]) -> set[str]:
    """Names (lower case) of the columns tagged PII in any model or source of the manifest."""
    items = [*manifest.get("nodes", {}).values(), *manifest.get("sources", {}).values()]
    return {
        name.lower()
        for item in items
        if item.get("resource_type") in ("model", "source")
        for name, column in (item.get("columns") or {}).items()
        if is_pii(column)
    }
