"""Mesh-wide governance rules, checked on every domain's dbt manifest.

In the style of dbt-project-evaluator: a rule is data (what it flags, why that matters in a
mesh, how to fix it) plus a check. A check reads one domain's manifest and looks only at the
domain's own nodes (`package_name` equal to the domain); dbt-loom's injected upstream nodes
are read only for what they tell about the domain's own models (PII tags, access of what a
model refers to). The rules are documented for people in docs/policies.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mesh.discovery.domains import discover
from mesh.discovery.manifest import is_pii, primary_key
from mesh.workspace import Mesh

Node = dict[str, Any]

ARCHETYPES = frozenset({"source-aligned", "aggregate", "consumer-aligned"})


@dataclass(frozen=True)
class Violation:
    """One thing in one domain that breaks one rule."""

    rule: str  # the rule's name
    domain: str
    node: str  # e.g. "model.orders.orders.v2" or "group.orders.orders"
    path: str  # the file to fix, relative to the domain folder
    message: str  # one sentence naming the model or column


@dataclass(frozen=True)
class DomainState:
    """What the rules read of a domain: its dbt project folder and its parsed manifest."""

    name: str
    path: Path
    manifest: dict[str, Any]


@dataclass(frozen=True)
class Rule:
    """A governance rule: what it flags, why that matters in a mesh, how to fix it, and the
    check, called with a domain and the names of all domains of the mesh."""

    name: str
    flags: str
    why: str
    fix: str
    check: Callable[[DomainState, frozenset[str]], Iterable[Violation]]


# Reading the manifest -------------------------------------------------------------------------


def _models(state: DomainState) -> Iterator[tuple[str, Node]]:
    """The domain's own models, in a stable order."""
    for unique_id, node in sorted(state.manifest.get("nodes", {}).items()):
        if node.get("resource_type") == "model" and node.get("package_name") == state.name:
            yield unique_id, node


def _public_models(state: DomainState) -> Iterator[tuple[str, Node]]:
    return ((uid, node) for uid, node in _models(state) if node.get("access") == "public")


def _label(node: Node) -> str:
    version = node.get("version")
    return node["name"] if version is None else f"{node['name']} v{version}"


def _sql_path(node: Node) -> str:
    return str(node.get("original_file_path") or "")


def _yaml_path(node: Node) -> str:
    """The properties file of a node (where contracts, docs and meta live), else its SQL."""
    patch = node.get("patch_path")
    return patch.split("://", 1)[-1] if patch else _sql_path(node)


def _meta(item: Node) -> dict[str, Any]:
    config_meta = (item.get("config") or {}).get("meta")
    return dict(config_meta or item.get("meta") or {})


_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/|\{#.*?#\}", re.DOTALL)


def _code(node: Node) -> str:
    """A model's raw code without SQL and Jinja comments."""
    return _COMMENTS.sub(" ", str(node.get("raw_code") or ""))


def _version_key(version: Any) -> tuple[int, float, str]:
    try:
        return (0, float(version), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(version))


def _violation(rule: str, state: DomainState, node: str, path: str, message: str) -> Violation:
    return Violation(rule, state.name, node, path, message)


# The checks -----------------------------------------------------------------------------------


def _check_contract(state: DomainState, domains: frozenset[str]) -> Iterator[Violation]:
    for uid, node in _public_models(state):
        contract = node.get("contract") or (node.get("config") or {}).get("contract") or {}
        if not contract.get("enforced"):
            yield _violation(
                "public_model_has_enforced_contract",
                state,
                uid,
                _yaml_path(node),
                f"Public model {_label(node)} does not enforce a contract.",
            )


def _check_documented(state: DomainState, domains: frozenset[str]) -> Iterator[Violation]:
    rule = "public_model_is_documented"
    for uid, node in _public_models(state):
        path = _yaml_path(node)
        if not str(node.get("description") or "").strip():
            yield _violation(
                rule, state, uid, path, f"Public model {_label(node)} has no description."
            )
        columns = node.get("columns") or {}
        if not columns:
            yield _violation(
                rule, state, uid, path, f"Public model {_label(node)} documents no columns."
            )
        for name, column in columns.items():
            missing = [
                field
                for field in ("data_type", "description")
                if not str(column.get(field) or "").strip()
            ]
            if missing:
                yield _violation(
                    rule,
                    state,
                    uid,
                    path,
                    f"Column {name} of public model {_label(node)} "
                    f"has no {' and no '.join(missing)}.",
                )


def _column_tests(manifest: dict[str, Any], model_id: str) -> set[tuple[str, str]]:
    """(test name, column) of every generic data test on a column of the model."""
    found = set()
    for test in manifest.get("nodes", {}).values():
        if test.get("resource_type") != "test" or not test.get("column_name"):
            continue
        attached = test.get("attached_node")
        if attached != model_id and not (
            attached is None and model_id in (test.get("depends_on") or {}).get("nodes", [])
        ):
            continue
        name = (test.get("test_metadata") or {}).get("name")
        if name:
            found.add((str(name), str(test["column_name"]).lower()))
    return found


def _tests_combination(manifest: dict[str, Any], model_id: str, key: list[str]) -> bool:
    """Whether a `unique_combination` data test of the model covers exactly `key`."""
    wanted = sorted(column.lower() for column in key)
    for test in manifest.get("nodes", {}).values():
        metadata = test.get("test_metadata") or {}
        if (
            test.get("resource_type") == "test"
            and test.get("attached_node") == model_id
            and metadata.get("name") == "unique_combination"
            and sorted(str(c).lower() for c in metadata.get("kwargs", {}).get("columns") or [])
            == wanted
        ):
            return True
    return False


def _constraint_tests(node: Node) -> dict[str, set[str]]:
    """Column -> the data tests that check what its constraints promise (`not_null`,
    `unique`), except those of a public model's single key column, which
    public_model_primary_key_is_tested asks for."""
    key = [column.lower() for column in primary_key(node)]
    product_key = key if len(key) == 1 and node.get("access") == "public" else []
    wanted: dict[str, set[str]] = {}
    model_level: dict[str, set[str]] = {}  # `constraints: [{type: not_null, columns: [...]}]`
    for constraint in node.get("constraints") or []:
        if constraint.get("type") in ("not_null", "unique"):
            for column in constraint.get("columns") or []:
                model_level.setdefault(str(column).lower(), set()).add(constraint["type"])
    for name, column in (node.get("columns") or {}).items():
        types = {c.get("type") for c in column.get("constraints") or []}
        types |= model_level.get(name.lower(), set())
        tests = set()
        if name.lower() in key or types & {"not_null", "primary_key"}:
            tests.add("not_null")
        if "unique" in types or key == [name.lower()]:
            tests.add("unique")
        if tests and name.lower() not in product_key:
            wanted[name] = tests
    return wanted


UNTESTABLE_CONSTRAINTS = ("check", "foreign_key")


def _check_constraints_tested(state: DomainState, domains: frozenset[str]) -> Iterator[Violation]:
    rule = "constraints_are_tested"
    for uid, node in _models(state):
        if not ((node.get("config") or {}).get("contract") or {}).get("enforced"):
            continue
        path = _yaml_path(node)
        tests = _column_tests(state.manifest, uid)
        for name, wanted in _constraint_tests(node).items():
            for test in sorted(wanted):
                if (test, name.lower()) not in tests:
                    yield _violation(
                        rule,
                        state,
                        uid,
                        path,
                        f"Column {name} of {_label(node)} has a constraint that a {test} data "
                        f"test must check, and no {test} test.",
                    )
        key = primary_key(node)
        public = node.get("access") == "public"  # its key: public_model_primary_key_is_tested
        if len(key) > 1 and not public and not _tests_combination(state.manifest, uid, key):
            yield _violation(
                rule,
                state,
                uid,
                path,
                f"Primary key ({', '.join(key)}) of {_label(node)} has no "
                "shared_macros.unique_combination data test over its columns.",
            )
        constraints = list(node.get("constraints") or [])
        for column in (node.get("columns") or {}).values():
            constraints += column.get("constraints") or []
        for kind in sorted({str(c.get("type")) for c in constraints} & set(UNTESTABLE_CONSTRAINTS)):
            yield _violation(
                rule,
                state,
                uid,
                path,
                f"{_label(node)} has a {kind} constraint, which not every engine enforces; "
                "state it as a data test instead.",
            )


def _check_primary_key(state: DomainState, domains: frozenset[str]) -> Iterator[Violation]:
    rule = "public_model_primary_key_is_tested"
    for uid, node in _public_models(state):
        key = primary_key(node)
        if not key:
            yield _violation(
                rule,
                state,
                uid,
                _yaml_path(node),
                f"Public model {_label(node)} declares no primary_key constraint.",
            )
            continue
        if len(key) > 1:
            if not _tests_combination(state.manifest, uid, key):
                yield _violation(
                    rule,
                    state,
                    uid,
                    _yaml_path(node),
                    f"Primary key ({', '.join(key)}) of public model {_label(node)} has no "
                    "shared_macros.unique_combination data test over its columns.",
                )
            continue
        tests = _column_tests(state.manifest, uid)
        for test in ("unique", "not_null"):
            if (test, key[0].lower()) not in tests:
                yield _violation(
                    rule,
                    state,
                    uid,
                    _yaml_path(node),
                    f"Primary key column {key[0]} of public model {_label(node)} "
                    f"has no {test} data test.",
                )


def _check_groups(state: DomainState, domains: frozenset[str]) -> Iterator[Violation]:
    rule = "group_has_owner"
    for uid, group in sorted(state.manifest.get("groups", {}).items()):
        if group.get("package_name") != state.name:
            continue
        owner = group.get("owner") or {}
        missing = [field for field in ("name", "email") if not str(owner.get(field) or "").strip()]
        if missing:
            yield _violation(
                rule,
                state,
                uid,
                str(group.get("original_file_path") or ""),
                f"Group {group.get('name')} has no owner {' and no owner '.join(missing)}.",
            )
    for uid, node in _models(state):
        if not (node.get("group") or (node.get("config") or {}).get("group")):
            yield _violation(
                rule, state, uid, _yaml_path(node), f"Model {_label(node)} belongs to no group."
            )


def _check_product_meta(state: DomainState, domains: frozenset[str]) -> Iterator[Violation]:
    rule = "public_model_has_product_meta"
    for uid, node in _public_models(state):
        meta = _meta(node)
        label = _label(node)
        problems = []
        if not str(meta.get("owner") or "").strip():
            problems.append(f"Public model {label} has no meta owner.")
        if meta.get("domain") != state.name:
            problems.append(
                f"Public model {label} has meta domain {meta.get('domain')!r}, not {state.name!r}."
            )
        if meta.get("archetype") not in ARCHETYPES:
            problems.append(
                f"Public model {label} has meta archetype {meta.get('archetype')!r}, "
                f"not one of {', '.join(sorted(ARCHETYPES))}."
            )
        if not isinstance(meta.get("freshness"), dict):
            problems.append(f"Public model {label} has no meta freshness mapping.")
        for message in problems:
            yield _violation(rule, state, uid, _yaml_path(node), message)


_PREFIXES = {"staging": "stg_", "intermediate": "int_"}


def _layer(node: Node) -> str | None:
    """The folder right under the model path: staging, intermediate, marts or another."""
    parts = PurePosixPath(_sql_path(node)).parts
    return parts[1] if len(parts) > 2 else None


def _check_naming(state: DomainState, domains: frozenset[str]) -> Iterator[Violation]:
    rule = "model_naming_and_layer"
    for uid, node in _models(state):
        name, layer, path = node["name"], _layer(node), _sql_path(node)
        problems = []
        for folder, prefix in _PREFIXES.items():
            if layer == folder and not name.startswith(prefix):
                problems.append(f"Model {name} is in models/{folder}/ but not named {prefix}*.")
            if name.startswith(prefix) and layer != folder:
                problems.append(f"Model {name} is named {prefix}* but is not in models/{folder}/.")
        if node.get("access") == "public" and layer != "marts":
            problems.append(f"Public model {_label(node)} is not in models/marts/.")
        sources = [
            n for n in (node.get("depends_on") or {}).get("nodes", []) if n.startswith("source.")
        ]
        if sources and layer != "staging":
            where = "a marts model" if layer == "marts" else "not a staging model"
            problems.append(
                f"Model {_label(node)} reads source {sources[0].split('.', 2)[-1]} "
                f"directly but is {where}."
            )
        for message in problems:
            yield _violation(rule, state, uid, path, message)


def _pii_columns(state: DomainState) -> dict[str, str]:
    """PII column names (lower case) and the node that tags them, the domain's own first."""
    found: dict[str, str] = {}
    manifest = state.manifest
    items = [*manifest.get("nodes", {}).items(), *manifest.get("sources", {}).items()]
    items.sort(key=lambda item: (item[1].get("package_name") != state.name, item[0]))
    for uid, item in items:
        if item.get("resource_type") not in ("model", "source"):
            continue
        for name, column in (item.get("columns") or {}).items():
            if is_pii(column):
                found.setdefault(name.lower(), uid)
    return found


_HASH_PII = re.compile(r"\bhash_pii\s*\(")


def _hashes_pii(state: DomainState, uid: str) -> bool:
    """Whether the model or one of its upstream models in the domain calls hash_pii()."""
    nodes = state.manifest.get("nodes", {})
    seen: set[str] = set()
    stack = [uid]
    while stack:
        current = stack.pop()
        node = nodes.get(current)
        if current in seen or node is None or node.get("package_name") != state.name:
            continue
        seen.add(current)
        if _HASH_PII.search(_code(node)):
            return True
        stack.extend((node.get("depends_on") or {}).get("nodes", []))
    return False


def _check_pii(state: DomainState, domains: frozenset[str]) -> Iterator[Violation]:
    rule = "pii_not_exposed_in_public_models"
    pii = _pii_columns(state)
    for uid, node in _public_models(state):
        for name in node.get("columns") or {}:
            origin = pii.get(name.lower())
            if origin is not None:
                yield _violation(
                    rule,
                    state,
                    uid,
                    _yaml_path(node),
                    f"Public model {_label(node)} exposes column {name}, tagged PII in {origin}.",
                )
            elif name.lower().endswith("_hash") and not _hashes_pii(state, uid):
                yield _violation(
                    rule,
                    state,
                    uid,
                    _sql_path(node),
                    f"Public model {_label(node)} has column {name}, but neither it nor its "
                    "upstream models in the domain call hash_pii().",
                )


def _check_cross_domain_refs(state: DomainState, domains: frozenset[str]) -> Iterator[Violation]:
    rule = "cross_domain_refs_are_public_and_versioned"
    nodes = state.manifest.get("nodes", {})
    for uid, node in _models(state):
        label, path = _label(node), _sql_path(node)
        refs = node.get("refs") or []
        for parent_id in (node.get("depends_on") or {}).get("nodes", []):
            parent = nodes.get(parent_id)
            if parent is None or parent.get("package_name") == state.name:
                continue
            package = parent.get("package_name")
            if parent.get("resource_type") != "model" or parent.get("access") != "public":
                yield _violation(
                    rule,
                    state,
                    uid,
                    path,
                    f"Model {label} depends on {parent_id}, which is not a public model of "
                    f"{package}.",
                )
            if not any(ref.get("package") == package for ref in refs):
                yield _violation(
                    rule,
                    state,
                    uid,
                    path,
                    f"Model {label} refers to {package}'s {_label(parent)} without naming the "
                    "domain and a version.",
                )
        for ref in refs:
            package = ref.get("package")
            if package not in (None, state.name) and ref.get("version") is None:
                yield _violation(
                    rule,
                    state,
                    uid,
                    path,
                    f"Model {label} refers to {package}.{ref.get('name')} without pinning a "
                    "version.",
                )


_EXTERNAL_READ = re.compile(
    r"\b(?:read_parquet|read_csv\w*|read_json\w*|attach)\b[^;]*?(?:warehouse/published|\.duckdb)",
    re.IGNORECASE,
)


def _direct_reads(code: str, others: Iterable[str]) -> list[str]:
    found = []
    for other in sorted(others):
        name = re.escape(other)
        pattern = rf"\b{name}\.\w+\.\w+\b|\"{name}\"\s*\."
        found += [match.group(0) for match in re.finditer(pattern, code, re.IGNORECASE)]
    found += [match.group(0) for match in _EXTERNAL_READ.finditer(code)]
    return found


def _check_direct_reads(state: DomainState, domains: frozenset[str]) -> Iterator[Violation]:
    others = domains - {state.name}
    for uid, node in _models(state):
        for text in _direct_reads(_code(node), others):
            shown = " ".join(text.split())
            yield _violation(
                "no_direct_reads_of_other_domains",
                state,
                uid,
                _sql_path(node),
                f"Model {_label(node)} reads another domain's data directly ({shown}) "
                "instead of through a ref.",
            )


def _check_deprecation(state: DomainState, domains: frozenset[str]) -> Iterator[Violation]:
    for uid, node in _models(state):
        version, latest = node.get("version"), node.get("latest_version")
        if version is None or latest is None or node.get("deprecation_date"):
            continue
        if _version_key(version) < _version_key(latest):
            yield _violation(
                "old_versions_have_deprecation_date",
                state,
                uid,
                _yaml_path(node),
                f"Model {_label(node)} is older than latest version {latest} "
                "but has no deprecation_date.",
            )


# The rules ------------------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    Rule(
        name="public_model_has_enforced_contract",
        flags="Public models whose contract is not enforced.",
        why=(
            "Other domains build on a public model's columns and types. Without an enforced "
            "contract, a change to its SQL can rename, drop or retype a column and break every "
            "consumer at their next build, instead of failing the producer's build."
        ),
        fix=(
            "Set `contract: {enforced: true}` in the model's config and give every column a "
            "`data_type`."
        ),
        check=_check_contract,
    ),
    Rule(
        name="public_model_is_documented",
        flags=(
            "Public models without a description, and columns of public models without a "
            "`description` or a `data_type`."
        ),
        why=(
            "A data product is used by people who cannot ask its authors: its description and "
            "its columns' meanings and types are its interface."
        ),
        fix=(
            "Describe the model and each of its columns, with a `data_type`, in the model's YAML "
            "file beside its SQL."
        ),
        check=_check_documented,
    ),
    Rule(
        name="public_model_primary_key_is_tested",
        flags=(
            "Public models without a `primary_key` constraint, single-column keys without both "
            "a `unique` and a `not_null` data test, and keys of several columns without a "
            "`shared_macros.unique_combination` data test over them."
        ),
        why=(
            "Consumers join data products on their keys; a duplicated or missing key silently "
            "multiplies or drops rows in every domain downstream. The tests keep that promise "
            "on every engine: DuckDB enforces a primary key, Spark does not."
        ),
        fix=(
            "Add `constraints: [{type: primary_key, columns: [...]}]` to the model, "
            "`data_tests: [unique, not_null]` to a single key column, and "
            "`shared_macros.unique_combination: {arguments: {columns: [...]}}` to the model's "
            "`data_tests` for a key of several columns."
        ),
        check=_check_primary_key,
    ),
    Rule(
        name="constraints_are_tested",
        flags=(
            "Constraints of contracted models without the data test that checks the same: "
            "`not_null` (also for key columns), `unique` (also for a single key column), "
            "`shared_macros.unique_combination` for a key of several columns; and `check` or "
            "`foreign_key` constraints, which no test stands in for."
        ),
        why=(
            "A constraint is only as good as the engine that enforces it: DuckDB refuses a "
            "null or a duplicate key, Spark's Parquet tables accept both. The data test makes "
            "the same promise hold on every engine the domain runs on."
        ),
        fix=(
            "Add the data test beside the constraint (`data_tests: [not_null]` on the column); "
            "state a `check` as `shared_macros.expression_is_true` and a `foreign_key` as a "
            "`relationships` test."
        ),
        check=_check_constraints_tested,
    ),
    Rule(
        name="group_has_owner",
        flags="Groups without an owner name and email, and models that belong to no group.",
        why=(
            "Domain ownership means every model has a team that answers for it; consumers and "
            "the platform need to know whom to ask when a product breaks."
        ),
        fix=(
            "Give the domain's group in `models/_groups.yml` an `owner` with `name` and `email`, "
            "and set `+group` for all models in `dbt_project.yml`."
        ),
        check=_check_groups,
    ),
    Rule(
        name="public_model_has_product_meta",
        flags=(
            "Public models whose `config.meta` lacks `owner`, `domain` (the domain's name), "
            "`archetype` (source-aligned, aggregate or consumer-aligned) or a `freshness` mapping."
        ),
        why=(
            "The product list and consumers read these to find who owns a product, which domain "
            "it belongs to, what kind of product it is and how fresh it is promised to be."
        ),
        fix=(
            "Add `owner`, `domain`, `archetype` and `freshness` under `config: meta:` in the "
            "model's YAML."
        ),
        check=_check_product_meta,
    ),
    Rule(
        name="model_naming_and_layer",
        flags=(
            "Models in models/staging/ not named `stg_*` or in models/intermediate/ not named "
            "`int_*` (and the other way round), public models outside models/marts/, and models "
            "outside models/staging/ that read a source."
        ),
        why=(
            "One layout in every domain lets anyone find their way in another team's project: "
            "staging is where data enters (sources and other domains' products), intermediate "
            "is private logic, and marts hold the products."
        ),
        fix=(
            "Rename or move the model; read a source in a staging model and ref that model instead."
        ),
        check=_check_naming,
    ),
    Rule(
        name="pii_not_exposed_in_public_models",
        flags=(
            "Public models with a column named like a column tagged `pii` (or with `meta: {pii: "
            "true}`) in any model or source the domain sees, and public `*_hash` columns that "
            "are not made by `hash_pii()`."
        ),
        why=(
            "A data product is read by every domain; personal data must stay in the domain that "
            "collects it. Hashing it with the shared macro keeps it joinable without exposing it."
        ),
        fix=(
            "Drop the column from the product, or publish `shared_macros.hash_pii(column)` as "
            "`<column>_hash` instead."
        ),
        check=_check_pii,
    ),
    Rule(
        name="cross_domain_refs_are_public_and_versioned",
        flags=(
            "Models that depend on a model of another domain that is not public, or that refer "
            "to it without naming the domain and pinning a version."
        ),
        why=(
            "Only public models are a domain's promise to others, and a pinned version keeps a "
            "consumer on the shape it was built for when the producer publishes a new one."
        ),
        fix="Refer to another domain's product as `{{ ref('<domain>', '<product>', v=<N>) }}`.",
        check=_check_cross_domain_refs,
    ),
    Rule(
        name="no_direct_reads_of_other_domains",
        flags=(
            "Models whose SQL names another domain's database (`<domain>.<schema>.<table>` or "
            '`"<domain>".`) or reads a published `.duckdb` or `warehouse/published` file.'
        ),
        why=(
            "A direct read bypasses the ref: dbt cannot see the dependency, access and version "
            "rules do not apply, and the build order no longer knows the domain consumes another."
        ),
        fix=(
            "Add the domain to `dbt_loom.config.yml` and use "
            "`{{ ref('<domain>', '<product>', v=<N>) }}`."
        ),
        check=_check_direct_reads,
    ),
    Rule(
        name="old_versions_have_deprecation_date",
        flags="Versions of a model older than its `latest_version` without a `deprecation_date`.",
        why=(
            "Consumers need to know how long an old version will stay, and dbt warns them about "
            "deprecated versions they still use only when a date is set."
        ),
        fix="Set `deprecation_date` on every old version under the model's `versions:`.",
        check=_check_deprecation,
    ),
)


def mesh_domains(domains: Sequence[DomainState]) -> frozenset[str]:
    """The names of all domains in the mesh the given domains belong to.

    That is the given domains, the dbt projects beside them (domain folders are siblings) and
    the upstream packages dbt-loom injected into their manifests, so a check of one domain
    still knows the others.
    """
    names = {domain.name for domain in domains}
    for domain in domains:
        if domain.path.parent.is_dir():
            names.update(p.parent.name for p in domain.path.parent.glob("*/dbt_project.yml"))
        names.update(
            str(node["package_name"])
            for node in domain.manifest.get("nodes", {}).values()
            if node.get("resource_type") == "model" and node.get("package_name")
        )
    return frozenset(names)


def evaluate(domains: Sequence[DomainState], rules: Sequence[Rule] = RULES) -> list[Violation]:
    """Every violation of `rules` in `domains`, sorted by domain, rule and node."""
    names = mesh_domains(domains)
    found = [v for domain in domains for rule in rules for v in rule.check(domain, names)]
    return sorted(found, key=lambda v: (v.domain, v.rule, v.node, v.path, v.message))


def published_states(mesh: Mesh) -> list[DomainState]:
    """The state of every domain of `mesh` that has a published manifest (others are left out)."""
    states = []
    for name, domain in discover(mesh).items():
        path = mesh.published_manifest(name)
        if path.exists():
            states.append(DomainState(name, domain.path, json.loads(path.read_text())))
    return states
