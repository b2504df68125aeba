"""Open Data Product Standard (ODPS v1.1.0, the companion of ODCS 3.2) product descriptors.

One descriptor per published product version, `product.odps.yaml` beside its contract,
generated from the domain's dbt manifest like the contract (`mesh.governance.odcs`):

    describe()     the data product: owner and team, its input ports (the upstream product
                   versions it reads, each by its contract id), its output ports (the DuckDB
                   table and the Parquet file, each bound to its own contract) and the rest of
                   what the catalog shows
    validate()     errors against ODPS's published JSON schema, kept in this package
                   (schemas/, SCHEMA_SOURCE and SCHEMA_SHA256 say where it is from)
    input_ports()  the upstream product versions a descriptor names (for the catalog)

ODPS rejects keys it does not define, so what it has no field for (the dbt ref, the
relation, the latest version, the deprecation date...) is in `customProperties`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from mesh.discovery.manifest import Manifest
from mesh.discovery.registry import CONTRACT, OLDEST_DUCKDB_READER, parquet_name
from mesh.governance import json_schema, odcs
from mesh.governance.quality_rules import PUBLISH_FOLDER

API_VERSION = "v1.1.0"
SCHEMA_FILE = "odps-json-schema-v1.1.0.json"
# Where the schema file is from, byte for byte (tests/unit/test_odps.py checks the hash).
SCHEMA_SOURCE = (
    "https://github.com/bitol-io/open-data-product-standard/blob/"
    "0362bb118cb27c6c11e3a633fde479609de211bd/schema/odps-json-schema-v1.1.0.json"
)
SCHEMA_SHA256 = "b19298d9fb94720e9cd145d6dc215c5a144daca3633253913641fc9c4352dec5"

# The mesh's archetypes as ODPS spells the common ones (its `type`).
_TYPES = {
    "source-aligned": "sourceAligned",
    "consumer-aligned": "consumerAligned",
    "aggregate": "aggregate",
}


def _custom(**values: Any) -> list[dict[str, Any]]:
    return [{"property": key, "value": value} for key, value in values.items() if value is not None]


def describe(
    domain: str, manifest: Manifest, unique_id: str, *, published_at: str | None = None
) -> dict[str, Any]:
    """The ODPS descriptor of one public product version, e.g. "model.orders.orders.v2"."""
    node, product = odcs.product_of(domain, manifest, unique_id)
    contract_id = odcs.product_id(domain, product.name, product.version)
    version = odcs.contract_version(product.version)
    deprecated = product.deprecation_date is not None
    archetype = [product.archetype] if product.archetype else []
    inputs = [
        {
            "name": port["id"],
            "version": odcs.contract_version(port.get("version")),
            "contractId": port["id"],
            "customProperties": _custom(
                domain=port["domain"], product=port["product"], dbtVersion=port.get("version")
            ),
        }
        for port in odcs.input_ports(domain, manifest, unique_id)
    ]
    input_contracts = [{"id": port["contractId"], "version": port["version"]} for port in inputs]
    parquet = parquet_name(product.name, product.version)
    outputs = [
        {
            "name": "duckdb",
            "description": f"The table {product.relation} in the domain's DuckDB file of the "
            f"publish: `mesh query` and other domains' dbt projects read it (DuckDB "
            f"{OLDEST_DUCKDB_READER} and newer open the file).",
            "type": "duckdb",
            "version": version,
            "contractId": contract_id,
            "inputContracts": input_contracts,
            "customProperties": _custom(
                relation=product.relation,
                dbtRef=product.ref,
                path=f"{PUBLISH_FOLDER}/{node.database}.duckdb",
            ),
        },
        {
            "name": "parquet",
            "description": f"The product version as a Parquet file, {parquet}, beside this "
            "descriptor: readable without dbt or the mesh.",
            "type": "parquet",
            "version": version,
            "contractId": contract_id,
            "inputContracts": input_contracts,
            "customProperties": _custom(path=parquet),
        },
    ]
    document = {
        "apiVersion": API_VERSION,
        "kind": "DataProduct",
        "id": contract_id,
        "name": product.name,
        "version": version,
        "status": "deprecated" if deprecated else "active",
        "deprecated": deprecated or None,
        "domain": domain,
        "type": _TYPES.get(product.archetype or "", product.archetype),
        "description": {"purpose": product.description} if product.description else None,
        "tags": list(dict.fromkeys(["data-product", *archetype, *node.tags])),
        "inputPorts": inputs,
        "outputPorts": outputs,
        "team": odcs.team(manifest, node, product),
        "support": odcs.support(product),
        "productCreatedTs": published_at,
        "customProperties": _custom(
            title=odcs.title(product.name),
            owner=product.owner,
            archetype=product.archetype,
            dbtVersion=product.version,
            latestVersion=product.latest_version,
            deprecationDate=product.deprecation_date,
            contract=CONTRACT,
            contractStandard=f"ODCS {odcs.API_VERSION}",
        ),
    }
    return {key: value for key, value in document.items() if value not in (None, [], {})}


def input_ports(document: dict[str, Any]) -> list[dict[str, str | None]] | None:
    """The upstream product versions a descriptor names (domain, product, version), or None
    when it names none the way `describe` writes them."""
    ports = document.get("inputPorts")
    if not isinstance(ports, list):
        return None
    found = []
    for port in ports:
        domain, product = custom_property(port, "domain"), custom_property(port, "product")
        if not isinstance(domain, str) or not isinstance(product, str):
            return None
        version = custom_property(port, "dbtVersion")
        found.append(
            {
                "domain": domain,
                "product": product,
                "version": None if version is None else str(version),
            }
        )
    return found


def custom_property(item: object, name: str) -> Any:
    """The value of one of the custom properties of a descriptor (or of one of its ports),
    or None; whatever shape a published file has, this reads it without failing."""
    properties = item.get("customProperties") if isinstance(item, dict) else None
    for entry in properties if isinstance(properties, list) else []:
        if isinstance(entry, dict) and entry.get("property") == name:
            return entry.get("value")
    return None


@cache
def _schema() -> json_schema.Schema:
    schema = resources.files("mesh.governance").joinpath("schemas", SCHEMA_FILE)
    return json_schema.Schema.of(schema.read_text(encoding="utf-8"))


def validate(document: dict[str, Any]) -> list[str]:
    """Errors of the descriptor against the ODPS JSON schema; empty when it is valid."""
    return _schema().errors(document)
