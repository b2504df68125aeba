"""The data products of the mesh: public models of every domain, one entry per version.

Read from the published manifest of each domain's publish in one mesh snapshot, so the list
shows what consumers can read together now.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import BaseModel

from mesh.discovery import manifest
from mesh.discovery.manifest import Manifest
from mesh.discovery.registry import CONTRACT, parquet_name, port_folder, record_in
from mesh.discovery.snapshots import View
from mesh.errors import MeshError


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
    publish_id: str | None = None  # the publish it is read from
    snapshot_id: str | None = None  # the mesh snapshot that publish is read in

    @property
    def ref(self) -> str:
        version = f", v={self.version}" if self.version is not None else ""
        return f"ref('{self.domain}', '{self.name}'{version})"


def products_of(
    domain: str, manifest: Manifest, published_at: str | None, omit: Collection[str] = ()
) -> list[Product]:
    """The domain's public model versions, in name and version order, but those whose
    relation `omit` names (versions past their deprecation date, left out of a publish)."""
    found = [
        Product(
            domain=domain,
            name=node.name,
            version=node.version,
            latest_version=node.latest_version,
            relation=node.relation,
            description=node.description.strip(),
            owner=manifest.owner(node),
            archetype=node.meta.get("archetype"),
            freshness=node.meta.get("freshness"),
            contract_enforced=node.contract_enforced,
            deprecation_date=node.deprecation_date[:10] if node.deprecation_date else None,
            published_at=published_at,
            columns=[
                Column(
                    name=column.name,
                    data_type=column.data_type,
                    description=column.description.strip(),
                )
                for column in node.columns.values()
            ],
        )
        for node in manifest.public_models(domain)
        if node.relation_name not in omit
    ]
    return sorted(found, key=lambda p: (p.name, _version_key(p.version)))


def _version_key(version: str | None) -> tuple[int, str]:
    """Versions in numeric order where they are numbers (v2 before v10)."""
    if version is None:
        return (-1, "")
    return (int(version), "") if version.isdigit() else (1 << 30, version)


def list_products(view: View) -> list[Product]:
    """Every data product version of `view`'s publishes, by domain, name and version."""
    products: list[Product] = []
    for name in sorted(view.publishes):
        manifest_path = view.manifest(name)
        if not manifest_path.exists():
            continue
        folder = view.folder(name)
        try:
            record = record_in(folder)
        except OSError as error:
            raise MeshError(
                f"{view.label} reads {name}'s publish {folder.name}, whose record cannot be "
                f"read ({error.strerror}); run `mesh build {name} --full`."
            ) from None
        found = products_of(name, manifest.load(manifest_path), record.published_at, record.retired)
        for product in found:
            port = folder / port_folder(product.name, product.version)
            parquet = port / parquet_name(product.name, product.version)
            product.parquet = str(parquet) if parquet.exists() else None
            product.contract = str(port / CONTRACT) if (port / CONTRACT).exists() else None
            product.publish_id = view.publishes[name]
            product.snapshot_id = view.snapshot.snapshot_id if view.snapshot else None
            products.append(product)
    return products
