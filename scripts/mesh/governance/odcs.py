"""Open Data Contract Standard (ODCS v3) contracts of data products.

Generated from a domain's dbt manifest, so the dbt YAML beside each product stays the single
source of truth: the columns and their types and constraints, the data tests, the owner
(`config.meta.owner` and the domain's group) and the freshness promise
(`config.meta.freshness`). For one public model version, e.g. "model.orders.orders.v2":

    contract()    the ODCS document: schema, quality rules, team, SLA, terms of use
    validate()    errors against the ODCS JSON schema of the `open-data-contract-standard`
                  package (an empty list: valid)
    to_yaml()     the document as YAML, keys in the order they were built

A contract is written for a standard tool to run as it is (datacontract-cli's `test`, from
the contract's folder; docs/products.md): every path in it is relative to that folder and
points into the publish it belongs to (or into the upstream publish its build read), so it
tests exactly the data published with it. Its quality rules come from
`mesh.governance.quality_rules`. The data product around the contract is described in ODPS by
`mesh.governance.odps`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import quote

import yaml

from mesh.discovery.manifest import Group, Manifest, Node
from mesh.discovery.products import Product, products_of
from mesh.discovery.registry import OLDEST_DUCKDB_READER, parquet_name
from mesh.governance import json_schema, volume
from mesh.governance.quality_rules import PUBLISH_FOLDER, every_row, rule_of
from mesh.governance.quality_rules import custom_property as _property
from mesh.governance.quality_rules import text as _text
from mesh.governance.quality_rules import without_empty as _clean

API_VERSION = "v3.2.0"  # the newest apiVersion the packaged schema accepts
SCHEMA_PACKAGE = "open_data_contract_standard"

RESTRICTED = "restricted"  # PII, or a hash of PII
INTERNAL = "internal"  # everything else: data of the shop, for the shop
PII_HASHED = "pii-hashed"

# The base of a DuckDB type (without parameters) -> its ODCS logicalType and format.
_TYPES: dict[str, tuple[str, str | None]] = {
    **dict.fromkeys(("tinyint", "int1"), ("integer", "i8")),
    **dict.fromkeys(("smallint", "int2", "short"), ("integer", "i16")),
    **dict.fromkeys(("integer", "int", "int4", "signed"), ("integer", "i32")),
    **dict.fromkeys(("bigint", "int8", "long"), ("integer", "i64")),
    "hugeint": ("integer", "i128"),
    "utinyint": ("integer", "u8"),
    "usmallint": ("integer", "u16"),
    "uinteger": ("integer", "u32"),
    "ubigint": ("integer", "u64"),
    "uhugeint": ("integer", "u128"),
    **dict.fromkeys(("double", "float8"), ("number", "f64")),
    **dict.fromkeys(("float", "float4", "real"), ("number", "f32")),
    **dict.fromkeys(("decimal", "numeric"), ("number", None)),
    **dict.fromkeys(("blob", "bytea", "binary", "varbinary"), ("string", "binary")),
    "uuid": ("string", "uuid"),
    **dict.fromkeys(("boolean", "bool", "logical"), ("boolean", None)),
    "date": ("date", None),
    **dict.fromkeys(
        ("timestamp", "datetime", "timestamp_s", "timestamp_ms", "timestamp_ns", "timestamp_us"),
        ("timestamp", None),
    ),
    "time": ("time", None),
}

_FREQUENCIES = {"hourly": (1, "h"), "daily": (1, "d"), "weekly": (7, "d")}

# Reading the manifest -------------------------------------------------------------------------


def _model(manifest: Manifest, unique_id: str) -> Node:
    node = manifest.nodes.get(unique_id)
    if node is None or not node.is_model:
        raise ValueError(f"{unique_id} is not a model of the manifest.")
    return node


def product_of(domain: str, manifest: Manifest, unique_id: str) -> tuple[Node, Product]:
    """The model node and its entry in the product list (the same owner, relation, dates)."""
    node = _model(manifest, unique_id)
    for product in products_of(domain, manifest, published_at=None):
        if product.name == node.name and product.version == node.version:
            return node, product
    raise ValueError(f"{unique_id} is not a public model of {domain}.")


def product_id(domain: str, name: str, version: str | None) -> str:
    return f"{domain}.{name}" if version is None else f"{domain}.{name}.v{version}"


def contract_version(version: str | None) -> str:
    """The dbt version as the contract's major version; 0.0.0 (no promise) when unversioned."""
    if version is None:
        return "0.0.0"
    return f"{version}.0.0" if version.isdigit() else version


def title(name: str) -> str:
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def input_ports(domain: str, manifest: Manifest, unique_id: str) -> list[dict[str, str]]:
    """The product versions of other domains the model reads, through its models in the domain.

    Walks `depends_on` within the domain; a model of another package is an upstream product
    version (dbt-loom injected it from the producer's published manifest).
    """
    found: dict[str, dict[str, str]] = {}
    seen: set[str] = set()
    stack = list(_model(manifest, unique_id).depends_on.nodes)
    while stack:
        node = manifest.nodes.get(stack.pop())
        if node is None or node.unique_id in seen:
            continue
        seen.add(node.unique_id)
        package = node.package_name
        if package == domain:
            stack.extend(node.depends_on.nodes)
        elif node.is_model:
            port_id = product_id(package, node.name, node.version)
            version = {} if node.version is None else {"version": node.version}
            found[port_id] = {"id": port_id, "domain": package, "product": node.name, **version}
    return [found[key] for key in sorted(found)]


# Types ----------------------------------------------------------------------------------------


def logical_type(data_type: str | None) -> tuple[str, dict[str, Any]]:
    """The ODCS logicalType (and logicalTypeOptions) of a DuckDB data type.

    Every property needs one: the packaged schema rejects a property without a logicalType.
    A map is an object (its JSON form); any other type it has no word for is a string (its
    text form); physicalType keeps the exact type.
    """
    text = " ".join(str(data_type or "").lower().split())
    if text.endswith("]") or text.startswith(("list", "array")):
        return "array", {}
    if text.startswith(("struct", "map")):
        return "object", {}
    if text in ("timestamptz", "timestamp with time zone"):
        return "timestamp", {"timezone": True}
    if text in ("timetz", "time with time zone"):
        return "time", {}
    logical, option = _TYPES.get(re.split(r"[(\s]", text, maxsplit=1)[0], ("string", None))
    return logical, {"format": option} if option else {}


# The contract ---------------------------------------------------------------------------------


def _properties(
    manifest: Manifest, node: Node, tests: list[Node], upstreams: Mapping[str, str]
) -> Iterator[dict[str, Any]]:
    key = [column.lower() for column in node.primary_key]
    pii = manifest.pii_columns()
    hashes = manifest.hashes_pii(node)
    for name, column in node.columns.items():
        lower = name.lower()
        own = [t for t in tests if (t.column_name or "").lower() == lower]
        # What a tool checks on every row (required, unique): only tests of every row.
        test_names = {t.test_name for t in own if every_row(t)}
        logical, options = logical_type(column.data_type)
        required = column.has_constraint("not_null") or "not_null" in test_names or lower in key
        tags = [tag for tag in column.tags if tag != "pii"]
        transform = None
        if lower.endswith("_hash") and hashes:
            classification, tags = RESTRICTED, [PII_HASHED, *tags]
            transform = (
                "A keyed hash (HMAC-SHA-256, shared_macros.hash_pii) of the trimmed, "
                "lower-cased personal value, with a key held by the mesh, not in the "
                "repository: join on it; it does not reveal the value."
            )
        elif lower in pii:
            classification, tags = RESTRICTED, ["pii", *tags]
        else:
            classification = INTERNAL
        yield _clean(
            {
                "name": name,
                "logicalType": logical,
                "logicalTypeOptions": options,
                "physicalType": column.data_type,
                "description": _text(column.description) or None,
                "required": required,
                "primaryKey": True if lower in key else None,
                "primaryKeyPosition": key.index(lower) + 1 if lower in key else None,
                "unique": True if "unique" in test_names or key == [lower] else None,
                "classification": classification,
                "tags": tags,
                "transformDescription": transform,
                "quality": [rule_of(manifest, node, t, upstreams) for t in own],
            }
        )


def team(manifest: Manifest, node: Node, product: Product) -> dict[str, Any] | None:
    group = manifest.group_of(node) or Group(name="")
    owner = group.owner
    members = []
    if username := owner.email or owner.name:
        members.append(_clean({"username": username, "name": owner.name, "role": "owner"}))
    meta_owner = node.meta.get("owner")
    if meta_owner and meta_owner not in (owner.email, owner.name):
        members.append({"username": str(meta_owner), "role": "productOwner"})
    if not members and product.owner is None:
        return None
    name, description = owner.name or group.name or product.owner, _text(group.description)
    return _clean({"name": name, "description": description or None, "members": members})


def support(product: Product) -> list[dict[str, Any]]:
    if product.owner is None or "@" not in product.owner:
        return []
    return [
        {
            "channel": product.owner,
            "tool": "email",
            # A URI (RFC 3986), as ODPS's `format: uri` asks: an owner such as "Jane Doe
            # (jane@example.com)" or with accents is percent-encoded, an address unchanged.
            "url": "mailto:" + quote(product.owner, safe="@+"),
            "scope": "issues",
            "description": "The owning team: questions, incidents and change requests.",
        }
    ]


def _sla(freshness: dict[str, Any]) -> list[dict[str, Any]]:
    """The freshness promise of `config.meta.freshness`."""
    found = []
    if (max_age := freshness.get("max_age_hours")) is not None:
        description = f"The published data is at most {max_age} hours old."
        found.append(_property("freshness", max_age, unit="h", description=description))
    if (expected := freshness.get("expected_update")) is not None:
        value, unit = _FREQUENCIES.get(str(expected).lower(), (str(expected), None))
        description = f"Updated {expected}."
        found.append(_clean(_property("frequency", value, unit=unit, description=description)))
    return found


def _usage(domain: str, product: Product, retired: bool) -> str:
    parquet = parquet_name(product.name, product.version)
    usage = (
        f"Query it read-only as {product.relation} with `mesh query` (every domain's published "
        f"database is attached under its domain name). In another domain's dbt project, add "
        f"{domain} to dbt_loom.config.yml and select from {{{{ {product.ref} }}}}, always "
        f"with the version. Without dbt or the mesh, read the Parquet output port {parquet} "
        f"beside this contract, or the DuckDB file of the publish (DuckDB "
        f"{OLDEST_DUCKDB_READER} or newer)."
    )
    if retired:
        return usage
    return usage + (
        " Test the data against this contract from the contract's folder, e.g. "
        "`datacontract test contract.odcs.yaml`: every path in it is relative to that folder."
    )


def _limitations(product: Product, hashed: list[str], retired: bool = False) -> str:
    parts = [
        "Internal to the shop: for its domains and analysts only, not to be shared outside it.",
        "Personal data stays in the domain that collects it; products publish PII only as "
        "keyed hashes (shared_macros.hash_pii) to join on, never to re-identify a person"
        + (f" (here: {', '.join(hashed)})." if hashed else "."),
        "Consumers pin a version (ref with v=) and move off a deprecated version before its "
        "deprecation date: after it the version is removed and builds that still use it fail.",
    ]
    if product.deprecation_date:
        latest = product.latest_version
        successor = f" Use v{latest}." if latest and latest != product.version else ""
        parts.append(
            f"This version was removed after its deprecation date {product.deprecation_date}: "
            f"it is no longer published.{successor}"
            if retired
            else f"This version is deprecated and removed after {product.deprecation_date}."
            f"{successor}"
        )
    return " ".join(parts)


def contract(
    domain: str,
    manifest: Manifest,
    unique_id: str,
    *,
    published_at: str | None = None,
    retired: bool = False,
    upstreams: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ODCS v3 contract of one public product version, e.g. "model.orders.orders.v2";
    `retired`: past its deprecation date, removed (status retired, no server); `upstreams`:
    the publish id the build read of each upstream domain (where a rule reading an upstream
    product finds its Parquet port)."""
    node, product = product_of(domain, manifest, unique_id)
    limits = volume.limits(node)
    tests = manifest.attached_tests(unique_id)
    columns = {name.lower() for name in node.columns}
    upstreams = upstreams or {}
    properties = list(_properties(manifest, node, tests, upstreams))
    hashed = [p["name"] for p in properties if PII_HASHED in p.get("tags", [])]
    deprecated = product.deprecation_date is not None
    archetype = [product.archetype] if product.archetype else []
    freshness = node.meta.get("freshness")
    custom = [
        ("archetype", product.archetype),
        ("latestVersion", product.latest_version),
        ("deprecationDate", product.deprecation_date),
        ("relation", product.relation),
        ("dbtRef", product.ref),
        ("dbtUniqueId", unique_id),
        ("contractEnforced", product.contract_enforced),
        ("definedIn", f"domains/{domain}/{node.yaml_path}" if node.yaml_path else None),
        # The publish gate holds a publish whose row count changes more than this.
        ("volumeMaxShrink", limits.max_shrink),
        ("volumeMaxGrowth", limits.max_growth),
    ]
    model_rules = [
        rule_of(manifest, node, test, upstreams)
        for test in tests
        if (test.column_name or "").lower() not in columns
    ]
    schema_object = {
        # The table's name: tools load and check a Parquet port under `name` and a database
        # table under `physicalName`, so the two are the same (businessName is the title).
        "name": str(node.alias),
        "physicalName": str(node.alias),
        "logicalType": "object",
        "physicalType": "view" if node.materialized == "view" else "table",
        "businessName": title(product.name),
        "description": product.description or None,
        "deprecated": True if deprecated else None,
        "tags": node.tags,
        "properties": properties,
        "quality": model_rules,
    }
    servers = (
        []
        if retired
        else [
            {
                "server": "mesh",
                "type": "duckdb",
                "database": f"{PUBLISH_FOLDER}/{node.database}.duckdb",
                "schema": str(node.relation_schema),
                "description": "The domain's DuckDB file of this publish (`mesh query` attaches "
                f"it under the domain's name): DuckDB {OLDEST_DUCKDB_READER} and newer read it.",
            },
            {
                "server": "parquet",
                "type": "local",
                "path": f"./{parquet_name(product.name, product.version)}",
                "format": "parquet",
                "description": "The Parquet output port, in the folder of this contract.",
            },
        ]
    )
    document = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": product_id(domain, product.name, product.version),
        "name": product.name,
        "version": contract_version(product.version),
        "status": "retired" if retired else "deprecated" if deprecated else "active",
        "domain": domain,
        "dataProduct": product.name,
        "description": _clean(
            {
                "purpose": product.description or None,
                "usage": _usage(domain, product, retired),
                "limitations": _limitations(product, hashed, retired),
            }
        ),
        "tags": list(dict.fromkeys(["data-product", *archetype, *node.tags])),
        "servers": servers or None,
        "schema": [_clean(schema_object)],
        "team": team(manifest, node, product),
        "support": support(product),
        "roles": [
            {
                "role": "mesh-reader",
                "access": "read",
                "description": "Every domain and analyst of the shop reads published products "
                "read-only: through cross-domain refs, `mesh query` or the Parquet port.",
            }
        ],
        "slaProperties": _sla(freshness if isinstance(freshness, dict) else {}),
        "customProperties": [_property(key, value) for key, value in custom if value is not None],
        "contractCreatedTs": published_at,
    }
    return _clean(document)


# Validation and output ------------------------------------------------------------------------


@cache
def _schema() -> json_schema.Schema:
    text = resources.files(SCHEMA_PACKAGE).joinpath("schema.json").read_text(encoding="utf-8")
    return json_schema.Schema.of(text)


def validate(document: dict[str, Any]) -> list[str]:
    """Errors of the document against the packaged ODCS JSON schema; empty when it is valid."""
    return _schema().errors(document)


# libyaml's emitter writes the same YAML as PyYAML's own (the same data; a long quoted string
# may break at other points) in a sixth of its time (the mesh's 18 contracts and descriptors:
# 15 ms against 84 ms), on the way of every publish.
_SafeDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_SafeDumper):  # type: ignore[misc]
    """Writes a value used twice twice, not as a YAML anchor and alias (`&id001`)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
