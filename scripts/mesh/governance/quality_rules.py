"""dbt data tests as ODCS quality rules that a standard tool runs as they are written.

A contract's rules run on consumers' machines (`datacontract test`), so each is either a rule
whose verdict equals dbt's on the same rows, or a `custom` rule the tools skip, marked with
the custom property `meshOnly` and the reason:

- unique, not_null, accepted_values (dbt's): library duplicateValues, nullValues,
  invalidValues; not_empty (shared_macros): library rowCount > 0;
- unique_combination (shared_macros): SQL counting the combinations seen twice (nulls as a
  value, as the macro groups them);
- accepted_range, expression_is_true (shared_macros), and any test with a `where`: SQL
  counting the failing rows;
- relationships (dbt's) to a product version: SQL reading the parent's Parquet output port;
- anything else: custom, meshOnly.

Also mesh-only: a failure threshold that is not dbt's default (`error_if`, `warn_if`,
`fail_calc`, `limit`: a rule says "must be 0"), and SQL that would read anything but the
product under test and the Parquet ports the mesh wrote (`unsafe`). The SQL comes from the
domain's YAML (`where`, expressions, values); a consumer's tool runs it with the consumer's
files, network and environment, which dbt's sandboxed build never offered it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import sqlglot
from sqlglot import exp

from mesh.discovery.manifest import Manifest, Node, TestMetadata
from mesh.discovery.registry import parquet_name, port_folder
from mesh.governance.expectations import string_literal

# The table under test in a quality rule: datacontract-cli (and other ODCS tools) put the
# schema's physical name in its place, on every server.
MODEL = "{model}"
# From a contract's folder (products/<product>/v<N>/ of a publish) to the publish folder.
PUBLISH_FOLDER = "../../.."
# The custom property of a rule that only the mesh runs (its description says why).
MESH_ONLY = "meshOnly"

_BUILT_IN = (None, "dbt")  # dbt's own generic tests
_SHARED = "shared_macros"  # the mesh's generic tests (shared_macros/macros/generic_tests)
_DEFAULTS = {"error_if": "!= 0", "warn_if": "!= 0", "fail_calc": "count(*)", "limit": None}
_NAME = re.compile(r"[\w-][\w.-]*")  # a folder or file name the mesh writes (not . or ..)
_SENTINEL = "mesh_model_under_test"  # `{model}` while the query is parsed


def custom_property(name: str, value: Any, **more: Any) -> dict[str, Any]:
    """An ODCS property: a custom property, or an SLA property with its unit."""
    return {"property": name, "value": value, **more}


def without_empty(item: dict[str, Any]) -> dict[str, Any]:
    """The mapping without empty values (None, empty lists and mappings)."""
    return {key: value for key, value in item.items() if value not in (None, [], {})}


def text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _severity(test: Node) -> str:
    severity = str(test.config.severity or "error").lower()
    return "warning" if severity.startswith("warn") else severity


def _literal(value: Any) -> str:
    """A test argument as dbt renders it into SQL (strings are written as they are)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _sql_value(value: Any, quote: bool = True) -> str:
    """An accepted value as dbt's accepted_values writes it: quoted unless `quote: false`."""
    if not quote or isinstance(value, bool | int | float):
        return _literal(value)
    return string_literal(str(value))


def parent_of(manifest: Manifest, node: Node, test: Node) -> Node | None:
    """The product version a relationships test points at: the test's other model, if it is
    a public model (an output port a standard tool can read)."""
    nodes = manifest.nodes
    others = [nodes[uid] for uid in test.depends_on.nodes if uid != node.unique_id and uid in nodes]
    if len(others) != 1 or not others[0].is_public:
        return None
    return others[0]


def parquet_port(node: Node, parent: Node, upstreams: Mapping[str, str]) -> str:
    """The path of `parent`'s Parquet output port from the folder of `node`'s contract: in
    the same publish for a product of the same domain, else in the upstream's publish the
    build read (`upstreams`: domain -> publish id; `current` when not given)."""
    port = f"{port_folder(parent.name, parent.version).as_posix()}/"
    port += parquet_name(parent.name, parent.version)
    if parent.package_name == node.package_name:
        return f"{PUBLISH_FOLDER}/{port}"
    publish = upstreams.get(parent.package_name, "current")
    return f"{PUBLISH_FOLDER}/../../{parent.package_name}/{publish}/{port}"


def _is_port(path: str) -> bool:
    """Whether `path` is one `parquet_port` writes: up to the publish folder, or on to
    another domain's publish, then products/<product>/<version>/<file>.parquet."""
    parts = path.split("/")
    if parts[:3] != [".."] * 3:
        return False
    rest = parts[3:]
    if rest[:2] == ["..", ".."]:
        rest = rest[4:] if len(rest) >= 4 and all(_NAME.fullmatch(p) for p in rest[2:4]) else []
    return (
        len(rest) == 4
        and rest[0] == "products"
        and all(_NAME.fullmatch(part) for part in rest[1:])
        and rest[3].endswith(".parquet")
    )


def unsafe(query: str) -> str | None:
    """Why a rule's SQL must not be handed to consumers' tools, or None: it must be one
    SELECT reading only `{model}` and Parquet ports of the mesh's publishes."""
    if "${" in query:
        return "it holds `${`, which datacontract-cli replaces with the consumer's environment"
    named = query.replace(MODEL, _SENTINEL)
    if "{" in named or "}" in named:
        return "it holds a placeholder other than {model}, which tools would replace"
    try:
        statements = [s for s in sqlglot.parse(named, read="duckdb") if s is not None]
    except sqlglot.errors.SqlglotError:
        return "it is not SQL that DuckDB's dialect reads"
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        return "it is not a single SELECT"
    for table in statements[0].find_all(exp.Table):
        source = table.this
        if isinstance(source, exp.ReadParquet):
            paths = [arg for arg in (source.this, *source.expressions) if arg is not None]
            literal = paths[0] if len(paths) == 1 else None
            if isinstance(literal, exp.Literal) and literal.is_string and _is_port(literal.this):
                continue
            return f"it reads {source.sql('duckdb')}, which is not a Parquet port of the mesh"
        if isinstance(source, exp.Identifier) and table.name == _SENTINEL and not table.db:
            continue
        return f"it reads {table.sql('duckdb')}, not only the product and the mesh's ports"
    return None


def _changed_thresholds(test: Node) -> list[str]:
    return [key for key, value in _DEFAULTS.items() if getattr(test.config, key) != value]


def every_row(test: Node) -> bool:
    """Whether a test holds for every row when it passes: no `where`, dbt's thresholds."""
    return not test.config.where and not _changed_thresholds(test)


def rule_of(
    manifest: Manifest, node: Node, test: Node, upstreams: Mapping[str, str]
) -> dict[str, Any]:
    """One ODCS quality rule for one dbt data test of the model, without empty values."""
    metadata = test.test_metadata or TestMetadata()
    name, kwargs, column = metadata.name, metadata.arguments, test.column_name
    namespace, where = metadata.namespace, test.config.where
    built_in, shared = namespace in _BUILT_IN, namespace == _SHARED

    def counting(failing: str, dimension: str, description: str) -> dict[str, Any]:
        """A SQL rule counting the rows that fail the test (and match its `where`)."""
        query = f"select count(*) from {MODEL} where {failing}"
        rule = {"type": "sql", "query": query + (f" and ({where})" if where else ""), "mustBe": 0}
        return rule | {"dimension": dimension, "description": description}

    rule: dict[str, Any] | None = None
    if name == "unique" and built_in and where:
        groups = (
            f"select {column} from {MODEL} where {column} is not null and ({where}) "
            f"group by {column} having count(*) > 1"
        )
        rule = {"type": "sql", "query": f"select count(*) from ({groups})", "mustBe": 0}
        rule |= {"dimension": "uniqueness", "description": f"{column} is unique."}
    elif name == "unique" and built_in:
        rule = {"type": "library", "metric": "duplicateValues", "mustBe": 0}
        rule |= {"dimension": "uniqueness", "description": f"{column} is unique."}
    elif name == "unique_combination" and shared and kwargs.get("columns"):
        keys = ", ".join(str(c) for c in kwargs["columns"])
        filtered = f" where {where}" if where else ""
        groups = f"select {keys} from {MODEL}{filtered} group by {keys} having count(*) > 1"
        rule = {"type": "sql", "query": f"select count(*) from ({groups})", "mustBe": 0}
        rule |= {"dimension": "uniqueness", "description": f"The combination of {keys} is unique."}
    elif name == "not_null" and built_in and where:
        rule = counting(f"{column} is null", "completeness", f"{column} is never null.")
    elif name == "not_null" and built_in:
        rule = {"type": "library", "metric": "nullValues", "mustBe": 0}
        rule |= {"dimension": "completeness", "description": f"{column} is never null."}
    elif name == "accepted_values" and built_in:
        values = list(kwargs.get("values") or [])
        quote = kwargs.get("quote", True) is not False
        description = f"{column} is one of: {', '.join(str(v) for v in values)}."
        if where or not quote:
            listed = ", ".join(_sql_value(value, quote) for value in values)
            rule = counting(f"{column} not in ({listed})", "conformity", description)
        else:
            rule = {"type": "library", "metric": "invalidValues"}
            rule |= {"arguments": {"validValues": values}, "mustBe": 0, "dimension": "conformity"}
            rule["description"] = description
    elif name == "not_empty" and shared:
        if where:
            query = f"select count(*) from {MODEL} where {where}"
            rule = {"type": "sql", "query": query, "mustBeGreaterThan": 0}
        else:
            rule = {"type": "library", "metric": "rowCount", "mustBeGreaterThan": 0}
        rule |= {"dimension": "completeness", "description": "The product has rows."}
    elif name == "accepted_range" and shared:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        inclusive = kwargs.get("inclusive", True) is not False
        bounds = [
            f"{column} {'>=' if inclusive else '>'} {_literal(low)}" if low is not None else "",
            f"{column} {'<=' if inclusive else '<'} {_literal(high)}" if high is not None else "",
        ]
        condition = " and ".join(bound for bound in bounds if bound) or "true"
        description = f"{condition} wherever {column} is not null."
        rule = counting(f"{column} is not null and not ({condition})", "accuracy", description)
    elif name == "expression_is_true" and shared:
        expression = text(kwargs.get("expression"))
        description = f"Every row satisfies: {expression}."
        rule = counting(f"not ({expression})", "consistency", description)
    elif name == "relationships" and built_in:
        parent = parent_of(manifest, node, test)
        if parent is not None:
            field = kwargs.get("field")
            port = string_literal(parquet_port(node, parent, upstreams))
            keys = f"(select {field} from read_parquet({port}) where {field} is not null)"
            description = (
                f"Every {column} is a {field} of {parent.relation}, read from its Parquet "
                f"output port {port}."
            )
            failing = f"{column} is not null and {column} not in {keys}"
            rule = counting(failing, "consistency", description)

    reason = None
    if rule is None:
        reason = (
            "ODCS has no rule for this dbt test that a standard tool would run with dbt's "
            "verdict (a generic test other than dbt's and shared_macros', or a relationship to "
            "a model that is not a product version)"
        )
    elif changed := _changed_thresholds(test):
        reason = f"its {', '.join(changed)} is not dbt's default, and a rule says must be 0"
    elif rule["type"] == "sql" and (why := unsafe(rule["query"])):
        reason = f"its SQL is not handed to consumers' tools: {why}"

    properties = [custom_property("dbtTest", test.name, vendor="dbt")]
    if reason is not None:
        arguments = {k: v for k, v in kwargs.items() if k not in ("model", "column_name")}
        subject = f"{column}." if column else "the model."
        rule = {
            "type": "custom",
            "engine": "dbt",
            "implementation": {
                "test": f"{namespace}.{name}" if namespace else name,
                "arguments": json.loads(json.dumps(arguments, default=str)),
            },
            "description": f"dbt data test {name} on {subject}",
        }
        properties.append(
            custom_property(
                MESH_ONLY,
                True,
                description=f"dbt runs it in every build and a failure stops the publish; "
                f"standard tools skip it: {reason}.",
            )
        )
    assert rule is not None
    if where:
        properties.append(custom_property("where", where, vendor="dbt"))
        rule["description"] += f" Rows where {where}."
    unit = None if rule["type"] == "custom" else "rows"
    rule = {"name": name, **rule, "severity": _severity(test), "unit": unit}
    return without_empty(rule | {"customProperties": properties})
