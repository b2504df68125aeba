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
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial

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


def base_type(data_type: str | None) -> str:
    """`decimal(18, 2)` -> `decimal`: parameters may change without breaking consumers."""
    return re.sub(r"\(.*\)", "", (data_type or "").strip().lower()).strip()


def _constraints(node: Node) -> set[tuple[str, tuple[str, ...]]]:
    """Enforced constraints as (type, columns), model- and column-level alike."""
    found = {(c.type, tuple(c.columns)) for c in node.constraints}
    for column in node.columns.values():
        found.update((c.type, (column.name,)) for c in column.constraints)
    return found


def breaking_changes(domain: str, published: Manifest, working: Manifest) -> list[BreakingChange]:
    """Every breaking change from the published manifest to the working tree's manifest."""
    return [
        change
        for old in published.models(domain)
        if old.contract_enforced
        for change in _changes(domain, old, working.nodes.get(old.unique_id))
    ]


def _changes(domain: str, old: Node, new: Node | None) -> Iterator[BreakingChange]:
    """The breaking changes of one contracted model; `new` is None when it is gone."""
    name, version = old.name, old.version
    change = partial(BreakingChange, domain, name, version)
    if new is None:
        what = f"version {version} of {name}" if version else name
        yield change("deleted", f"The contracted model {what} was deleted or renamed.")
        return
    if not new.contract_enforced:
        yield change("contract_disabled", f"The contract of {name} is no longer enforced.")
        return
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

    The product's columns come from the producer's manifest among `consumer_manifests` (the
    consumers' copies of its nodes carry none); its relation from the consumer's copy, as
    the consumer's compiled SQL names it.
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


def deprecated_uses(
    consumer_manifests: dict[str, Manifest], producer_manifests: dict[str, Manifest], today: dt.date
) -> list[DeprecatedUse]:
    """Every consumer model still reading a product version that has a deprecation date.

    The date comes from the producer's published manifest when there is one (the consumer's
    copy of the producer's node may be older).
    """
    found = []
    for consumer, manifest in sorted(consumer_manifests.items()):
        for node in manifest.nodes.values():
            if node.package_name != consumer:
                continue
            for parent_id in node.depends_on.nodes:
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
                        node.name,
                        f"{parent.package_name}.{parent.name}",
                        str(parent.version),
                        day.isoformat(),
                        (day - today).days,
                    )
                )
    return sorted(found, key=lambda use: (use.days_left, use.consumer, use.model))
