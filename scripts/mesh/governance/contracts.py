"""Breaking changes to data product contracts, and who they would break.

A domain's working tree is compared with its last published state, following the rules of
dbt's own state comparison (`state:modified` with contract checks): removing or renaming a
column, changing a column's base type, removing an enforced constraint, disabling the
contract, changing a table into a view, and deleting a model or a version are breaking.
Adding a column or a version is not. Unlike dbt, which stops at the first breaking change and
only warns for unversioned models, every change is listed and all are errors.

For each breaking change the consumers are found in their published manifests: every model
of another domain that depends on the changed product version and reads an affected column,
as its compiled SQL says (`column_reads`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial

from mesh import ids
from mesh.discovery.manifest import Manifest, Node
from mesh.governance.column_reads import Relation, columns_read

CONSTRAINED_MATERIALIZATIONS = {"table", "incremental"}


@dataclass(frozen=True)
class BreakingChange:
    domain: str
    model: str  # product name
    version: str | None
    kind: str  # column_removed, type_changed, constraint_removed, ...
    detail: str  # one sentence
    columns: tuple[str, ...] = ()

    @property
    def product(self) -> str:
        return f"{self.domain}.{self.model}" + (f" v{self.version}" if self.version else "")


@dataclass(frozen=True)
class Impact:
    """A consumer model that a breaking change would break.

    `columns_read`: the affected columns it reads (all of them when it reads every column of
    the product, or when its SQL could not be analysed: then `analysed` is false).
    """

    consumer: str
    model: str
    columns_read: tuple[str, ...]
    reads_all_columns: bool = False
    analysed: bool = True


@dataclass
class ChangeReport:
    change: BreakingChange
    impacts: list[Impact] = field(default_factory=list)


# Spellings of one type (DuckDB's and Spark's names): writing another is no change.
_ALIASES = {
    "int": "integer", "int4": "integer", "signed": "integer",
    "int8": "bigint", "long": "bigint",
    "int2": "smallint", "short": "smallint", "int1": "tinyint", "byte": "tinyint",
    "float8": "double", "double precision": "double",
    "float4": "float", "real": "float",
    "bool": "boolean", "logical": "boolean",
    "string": "varchar", "text": "varchar", "char": "varchar", "bpchar": "varchar",
    "numeric": "decimal", "dec": "decimal",
    "datetime": "timestamp", "timestamp without time zone": "timestamp",
    "timestamptz": "timestamp with time zone",
}  # fmt: skip
# Types whose parameters (precision, length) may change without breaking consumers.
_PARAMETERS_FREE = {"decimal", "varchar"}


def base_type(data_type: str | None) -> str:
    """The type as consumers depend on it: `decimal(18, 2)` -> `decimal` and `varchar(20)`
    -> `varchar` (parameters of those may change), `int` -> `integer` (one type, two
    names); a struct, map or list keeps its fields and element types."""
    text = " ".join((data_type or "").strip().lower().split())
    head, sep, rest = text.partition("(")
    name = _ALIASES.get(head.strip(), head.strip())
    if not sep or name in _PARAMETERS_FREE:
        return name
    return f"{name}({rest}"


def _constraints(node: Node) -> set[tuple[str, tuple[str, ...]]]:
    """Enforced constraints as (type, columns), model- and column-level alike."""
    found = {(c.type, tuple(c.columns)) for c in node.constraints}
    for column in node.columns.values():
        found.update((c.type, (column.name,)) for c in column.constraints)
    return found


# A deprecation date set while a consumer reads the version gives it at least this notice.
MIN_DEPRECATION_NOTICE_DAYS = 30
# Kinds of change that break only a version some consumer reads.
BREAK_ONLY_WHEN_READ = {"deprecation_shortened"}


def breaking_changes(
    domain: str, published: Manifest, working: Manifest, today: dt.date | None = None
) -> list[BreakingChange]:
    """Every breaking change from the published manifest to the working tree's manifest.
    A version past its deprecation date (`retired`) may go: that is its lifecycle."""
    today = today or ids.today()
    return [
        change
        for old in published.models(domain)
        if old.contract_enforced and not retired(old, today)
        for change in _changes(domain, old, working.nodes.get(old.unique_id), today)
    ]


def retired(node: Node, today: dt.date) -> bool:
    """Whether a product version is past its deprecation date: no longer published."""
    return bool(node.deprecation_date) and deprecation_day(node) < today


def deprecation_day(node: Node) -> dt.date:
    return dt.date.fromisoformat(str(node.deprecation_date)[:10])


def _changes(domain: str, old: Node, new: Node | None, today: dt.date) -> Iterator[BreakingChange]:
    """The breaking changes of one contracted model; `new` is None when it is gone."""
    name, version = old.name, old.version
    change = partial(BreakingChange, domain, name, version)
    if new is None:
        what = f"version {version} of {name}" if version else name
        yield change("deleted", f"The contracted model {what} was deleted or renamed.")
        return
    if new.deprecation_date and new.deprecation_date != old.deprecation_date:
        until = deprecation_day(old) if old.deprecation_date else None
        day = deprecation_day(new)
        notice = today + dt.timedelta(days=MIN_DEPRECATION_NOTICE_DAYS)
        if (until and day < until) or (not until and day < notice):
            detail = (
                f"The deprecation date of {new.label} moved from {until or '(none)'} to {day}, "
                f"which shortens its consumers' notice"
                + ("." if until else f" below {MIN_DEPRECATION_NOTICE_DAYS} days.")
            )
            yield change("deprecation_shortened", detail)
    if not new.contract_enforced:
        yield change("contract_disabled", f"The contract of {name} is no longer enforced.")
        return
    if old.is_public and not new.is_public:
        detail = f"{new.label} is no longer public (access: {new.access}): consumers lose it."
        yield change("access_narrowed", detail)
    removed = tuple(sorted(set(old.columns) - set(new.columns)))
    if removed:
        yield change(
            "column_removed", f"Columns removed or renamed: {', '.join(removed)}.", removed
        )
    for column in sorted(set(old.columns) & set(new.columns)):
        was, now = old.columns[column].data_type, new.columns[column].data_type
        if base_type(was) != base_type(now):
            detail = f"Column {column} changed type from {was} to {now}."
            yield change("type_changed", detail, (column,))
    for kind, columns in sorted(_constraints(old) - _constraints(new)):
        if not set(columns) <= set(removed):  # else reported with the column
            detail = f"The {kind} constraint on {', '.join(columns) or 'the model'} was removed."
            yield change("constraint_removed", detail, columns)
    old_mat, new_mat = old.materialized, new.materialized
    if old_mat in CONSTRAINED_MATERIALIZATIONS and new_mat not in CONSTRAINED_MATERIALIZATIONS:
        detail = f"{name} changed from {old_mat} to {new_mat}, which drops its constraints."
        yield change("materialization_changed", detail)


def consumer_impact(
    change: BreakingChange, consumer_manifests: dict[str, Manifest]
) -> list[Impact]:
    """The models of other domains that a breaking change to a product version would break.

    For a change that names columns (removed or renamed, retyped, a constraint removed), a
    model that depends on the version is listed only if its compiled SQL reads one of them,
    through any CTE, subquery, alias or join (`column_reads`); a star that reaches its output
    reads every column. For a change without columns (a deleted version, a disabled contract,
    a table turned into a view) every model that depends on the version is listed.

    SQL that cannot be analysed (never compiled, not parsed, not naming the product's
    relation) counts as reading every affected column, with `analysed` false: a consumer is
    never left out for want of an answer. Only the models that ref the product are analysed;
    what their own readers within the consumer domain use is not followed, so a model that
    passes an affected column on counts as reading it.

    The product's columns come from the producer's manifest among `consumer_manifests` (a
    consumer's copy carries those of the publish the consumer last read, which may be older:
    `mesh.runner.loom_docs`); its relation from the consumer's copy, as the consumer's
    compiled SQL names it.
    """
    target = f"model.{change.domain}.{change.model}" + (
        f".v{change.version}" if change.version else ""
    )
    producer = consumer_manifests.get(change.domain)
    product = producer.nodes.get(target) if producer else None
    impacts: list[Impact] = []
    for consumer, manifest in sorted(consumer_manifests.items()):
        if consumer == change.domain:
            continue
        for _, node in sorted(manifest.nodes.items()):
            if node.package_name != consumer or target not in node.depends_on.nodes:
                continue
            if not change.columns:
                impacts.append(Impact(consumer, node.name, ()))
                continue
            impact = _impact(consumer, node, manifest.nodes.get(target) or product, product, change)
            if impact.columns_read:
                impacts.append(impact)
        # Semantic models over the product, and so the metrics on them: an entity, dimension or
        # measure that names an affected column breaks.
        for _, semantic in sorted(manifest.semantic_models.items()):
            if semantic.package_name != consumer or target not in semantic.depends_on.nodes:
                continue
            label = manifest.semantic_label(semantic)
            read = tuple(column for column in change.columns if semantic.reads_column(column))
            if read or not change.columns:
                impacts.append(Impact(consumer, label, read))
    return impacts


def _impact(
    consumer: str, node: Node, copy: Node | None, product: Node | None, change: BreakingChange
) -> Impact:
    """Which of the change's columns one consumer model reads from the product's relation."""
    reads = None
    if copy is not None and node.compiled_code:
        relation = Relation(copy.database, copy.relation_schema, copy.relation_name)
        columns = (product.columns if product else {}) or copy.columns
        reads = columns_read(node.compiled_code, relation, list(columns) or None)
    if reads is None:
        return Impact(consumer, node.name, change.columns, analysed=False)
    if reads.every_column:
        return Impact(consumer, node.name, change.columns, reads_all_columns=True)
    read = tuple(column for column in change.columns if column.lower() in reads.columns)
    return Impact(consumer, node.name, read)


def describe_impact(change: BreakingChange, impact: Impact) -> str:
    """One line for people: `breaks analytics.stg_orders__orders: reads customer_id`."""
    where = f"breaks {impact.consumer}.{impact.model}"
    if not impact.analysed:
        return (
            f"{where}: its SQL could not be analysed, so it counts as reading "
            f"{', '.join(impact.columns_read) or change.product}"
        )
    if impact.reads_all_columns:
        return f"{where}: reads every column (select *)"
    if impact.columns_read:
        return f"{where}: reads {', '.join(impact.columns_read)}"
    return f"{where}: reads {change.product}"


@dataclass(frozen=True)
class DeprecatedUse:
    consumer: str
    model: str
    product: str
    version: str
    deprecation_date: str
    days_left: int


def _readers(
    manifest: Manifest, consumer: str, nodes: Iterable[Node]
) -> list[tuple[str, list[str]]]:
    """What of `consumer` reads products, with what it depends on: the `nodes` of its package,
    and its semantic models (named with the metrics they feed)."""
    return [
        *((node.name, node.depends_on.nodes) for node in nodes if node.package_name == consumer),
        *(
            (manifest.semantic_label(model), model.depends_on.nodes)
            for model in manifest.semantic_models.values()
            if model.package_name == consumer
        ),
    ]


def deprecated_uses(
    consumer_manifests: dict[str, Manifest], producer_manifests: dict[str, Manifest], today: dt.date
) -> list[DeprecatedUse]:
    """Every consumer model still reading a product version that has a deprecation date.

    The date comes from the producer's published manifest when there is one (the consumer's
    copy of the producer's node may be older).
    """
    found = []
    for consumer, manifest in sorted(consumer_manifests.items()):
        for name, parents in _readers(manifest, consumer, manifest.nodes.values()):
            for parent_id in parents:
                parent = manifest.nodes.get(parent_id)
                if parent is None:
                    continue
                producer = producer_manifests.get(parent.package_name)
                parent = producer.nodes.get(parent_id, parent) if producer else parent
                if parent.package_name == consumer or not parent.deprecation_date:
                    continue
                day = dt.date.fromisoformat(parent.deprecation_date[:10])
                found.append(
                    DeprecatedUse(
                        consumer,
                        name,
                        f"{parent.package_name}.{parent.name}",
                        str(parent.version),
                        day.isoformat(),
                        (day - today).days,
                    )
                )
    return sorted(found, key=lambda use: (use.days_left, use.consumer, use.model))


def reports(
    domain: str,
    published: Manifest,
    working: Manifest,
    consumer_manifests: dict[str, Manifest],
    today: dt.date,
) -> list[ChangeReport]:
    """The breaking changes from `published` to `working`, each with the consumer models it
    would break (`consumer_manifests`: what consumers run now). A change that breaks only a
    version someone reads (a shortened deprecation) is left out when nobody does."""
    found = [
        ChangeReport(change, consumer_impact(change, consumer_manifests))
        for change in breaking_changes(domain, published, working, today)
    ]
    return [r for r in found if r.impacts or r.change.kind not in BREAK_ONLY_WHEN_READ]


def retired_versions(domain: str, manifest: Manifest, today: dt.date) -> list[Node]:
    """The domain's public model versions past their deprecation date: a publish omits them."""
    return [node for node in manifest.public_models(domain) if retired(node, today)]


def _successor(manifest: Manifest, node: Node, today: dt.date) -> str:
    """The version of `node`'s product a consumer should move to: the newest not retired."""
    versions = [
        other
        for other in manifest.models(node.package_name)
        if other.name == node.name and other.version is not None and not retired(other, today)
    ]
    newest = max(versions, key=lambda n: _version_order(str(n.version)), default=None)
    if newest is None:
        return "no version of it is published any more; find another product"
    return (
        f"move to v{newest.version}: ref('{node.package_name}', '{node.name}', v={newest.version})"
    )


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (-1, version)


def removed_reads(consumer: str, manifest: Manifest, today: dt.date) -> list[str]:
    """One line per model of `consumer` that reads another domain's product version past its
    deprecation date (which its producer no longer publishes): the date, and what to read."""
    found = []
    for name, parents in _readers(manifest, consumer, manifest.models(consumer)):
        for parent_id in parents:
            parent = manifest.nodes.get(parent_id)
            if parent is None or parent.package_name == consumer or not retired(parent, today):
                continue
            found.append(
                f"{consumer}.{name} reads {parent.package_name}.{parent.label}, removed "
                f"after its deprecation date {deprecation_day(parent)}; "
                f"{_successor(manifest, parent, today)}."
            )
    return sorted(found)


def describe_report(report: ChangeReport) -> list[str]:
    """A breaking change as `mesh check` and the gate print it: the change, each consumer
    model it breaks, and the remedy."""
    change = report.change
    lines = [f"[breaking_change:{change.kind}] {change.product}: {change.detail}"]
    lines += [f"  {describe_impact(change, impact)}" for impact in report.impacts]
    if not report.impacts:
        what = "the affected columns" if change.columns else "this product version"
        lines.append(f"  no published consumer reads {what}")
    lines.append(f"  remedy: {_remedy(change)}; in an emergency, --allow-breaking "
                 '"<reason>" publishes it anyway, recorded')  # fmt: skip
    return lines


def _remedy(change: BreakingChange) -> str:
    """What to do instead of a breaking change of this kind."""
    if change.kind == "deprecation_shortened":
        return (
            "keep the published deprecation date (or a later one) until its consumers have "
            f"moved, or give them at least {MIN_DEPRECATION_NOTICE_DAYS} days"
        )
    if change.kind in ("deleted", "access_narrowed") and change.version is not None:
        return (
            f"keep v{change.version} public until a deprecation date (deprecation_date) has "
            "passed: the publish then leaves it out"
        )
    if change.version is not None and str(change.version).isdigit():
        return (
            f"publish the change as v{int(change.version) + 1} of {change.model} and deprecate "
            f"v{change.version} (deprecation_date), so consumers move when they are ready"
        )
    return (
        f"version {change.model} (versions:, latest_version:) and publish the change as a new "
        "version"
    )
