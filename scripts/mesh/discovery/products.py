"""The data products of the mesh: public models of every domain, one entry per version.

Read from each domain's published manifest, so the list shows what consumers can use now.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from mesh.discovery.domains import discover
from mesh.discovery.registry import CONTRACT, parquet_name, port_folder, read_record
from mesh.workspace import Mesh


class Column(BaseModel):
    name: str
    data_type: str | None
    description: str


class Product(BaseModel):
    domain: str
    name: str
    version: str | None
    latest_version: str | None
    relation: str
    description: str
    owner: str | None
    archetype: str | None
    freshness: dict[str, Any] | None
    contract_enforced: bool
    deprecation_date: str | None
    published_at: str | None
    columns: list[Column]
    parquet: str | None = None  # output port: the product version as a Parquet file
    contract: str | None = None  # its ODCS contract

    @property
    def ref(self) -> str:
        version = f", v={self.version}" if self.version is not None else ""
        return f"ref('{self.domain}', '{self.name}'{version})"


def _owner(node: dict[str, Any], groups: dict[str, Any]) -> str | None:
    meta = node.get("config", {}).get("meta") or node.get("meta") or {}
    if meta.get("owner"):
        return str(meta["owner"])
    group = groups.get(f"group.{node['package_name']}.{node.get('group')}")
    if group:
        owner = group.get("owner") or {}
        return owner.get("email") or owner.get("name")
    return None


def _relation(node: dict[str, Any]) -> str:
    return ".".join(str(part) for part in (node["database"], node["schema"], node["alias"]))


def products_of(domain: str, manifest: dict[str, Any], published_at: str | None) -> list[Product]:
    groups = manifest.get("groups", {})
    found = []
    for node in manifest.get("nodes", {}).values():
        if (
            node.get("resource_type") != "model"
            or node.get("package_name") != domain
            or node.get("access") != "public"
        ):
            continue
        meta = node.get("config", {}).get("meta") or node.get("meta") or {}
        version = node.get("version")
        latest = node.get("latest_version")
        found.append(
            Product(
                domain=domain,
                name=node["name"],
                version=None if version is None else str(version),
                latest_version=None if latest is None else str(latest),
                relation=_relation(node),
                description=(node.get("description") or "").strip(),
                owner=_owner(node, groups),
                archetype=meta.get("archetype"),
                freshness=meta.get("freshness"),
                contract_enforced=bool(node.get("contract", {}).get("enforced")),
                deprecation_date=(
                    str(node["deprecation_date"])[:10] if node.get("deprecation_date") else None
                ),
                published_at=published_at,
                columns=[
                    Column(
                        name=column["name"],
                        data_type=column.get("data_type"),
                        description=(column.get("description") or "").strip(),
                    )
                    for column in node.get("columns", {}).values()
                ],
            )
        )
    return sorted(found, key=lambda p: (p.name, _version_key(p.version)))


def _version_key(version: str | None) -> tuple[int, str]:
    """Versions in numeric order where they are numbers (v2 before v10)."""
    if version is None:
        return (-1, "")
    return (int(version), "") if version.isdigit() else (1 << 30, version)


def list_products(mesh: Mesh) -> list[Product]:
    """Every published data product version, by domain, name and version."""
    products: list[Product] = []
    for name in sorted(discover(mesh)):
        manifest_path = mesh.published_manifest(name)
        if not manifest_path.exists():
            continue
        record = read_record(mesh, name)
        folder = mesh.published_dir(name).resolve()
        for product in products_of(
            name, json.loads(manifest_path.read_text()), record.published_at if record else None
        ):
            port = folder / port_folder(product.name, product.version)
            parquet = port / parquet_name(product.name, product.version)
            product.parquet = str(parquet) if parquet.exists() else None
            product.contract = str(port / CONTRACT) if (port / CONTRACT).exists() else None
            products.append(product)
    return products
