"""A domain's semantic layer, from its publish: MetricFlow compiles a metric query to SQL over
the products it names (`compile_sql`), and the CLI runs that SQL with the engine's read-only
query (`mesh query`'s sandbox).

A domain declares semantic models over product versions (its own or, through dbt-loom refs,
its upstreams') and metrics on them (domains/analytics/models/semantic/); dbt writes them to
`semantic_manifest.json`, which is published with the domain (pipeline.publish). Reading the
one in the domain's publish of a mesh snapshot, a metric query reads the products of that
same snapshot: MetricFlow's SQL names `<domain>.main.<product>_v<N>`, the names `mesh query`
attaches each domain's publish under. MetricFlow only compiles (its `explain`): its own
client never runs a statement, so results keep DuckDB's exact types, and the limits, the
read-only guard and the snapshot are `mesh query`'s. Offline: MetricFlow makes no network
calls (its telemetry is a debug log line), unlike dbt's `mf` command.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesh.discovery import integrity, manifest
from mesh.discovery.snapshots import View
from mesh.errors import MeshError

SEMANTIC_MANIFEST = "semantic_manifest.json"
GRAINS = ("day", "week", "month", "quarter", "year")  # metric_time__<grain>


class MetricsError(MeshError):
    """A metric query names what no metric or dimension is, or cannot be compiled."""


@dataclass(frozen=True)
class Metric:
    name: str
    domain: str  # the domain that declares (owns) it
    type: str  # simple, ratio, derived, cumulative, conversion
    label: str
    description: str
    reads: list[str]  # the products its measures read: `<domain>.<product>_v<N>`
    dimensions: list[str] = field(default_factory=list)  # what it can be grouped by
    owner: str | None = None  # its meta's owner, else its domain's
    definition: str = ""  # how it is computed, e.g. "sum(net_amount_usd) of orders.order_lines_v1"


@dataclass(frozen=True)
class SavedQuery:
    """A metric query a domain keeps under a name (dbt's `saved_queries:`)."""

    name: str
    domain: str
    label: str
    description: str
    metrics: list[str]
    group_by: list[str]  # as declared: "TimeDimension('metric_time', 'month')", ...
    where: list[str] = field(default_factory=list)


@dataclass
class Layer:
    """One domain's semantic layer in one snapshot: MetricFlow's engine over its manifest,
    and its metrics (MetricFlow lists them once, dimensions included)."""

    domain: str
    engine: Any  # metricflow.engine.metricflow_engine.MetricFlowEngine
    metrics: dict[str, Metric]  # by name
    saved_queries: dict[str, SavedQuery] = field(default_factory=dict)  # by name


def _metrics(domain: str, engine: Any, semantic: Any) -> dict[str, Metric]:
    """The metrics MetricFlow's `engine` knows, over the semantic manifest `semantic`."""
    relations = {
        model.name: _product(model.node_relation.relation_name)
        for model in semantic.semantic_models
    }
    definitions = _definitions(semantic, relations)
    found = {}
    for metric in engine.list_metrics(include_dimensions=True):
        found[metric.name] = Metric(
            name=metric.name,
            domain=domain,
            type=str(metric.type.value).lower(),
            label=metric.label or metric.name,
            description=" ".join((metric.description or "").split()),
            reads=sorted({relations[m.semantic_model_name] for m in metric.semantic_models}),
            dimensions=sorted(_group_bys(metric)),
            definition=definitions.get(metric.name, ""),
        )
    return dict(sorted(found.items()))


def _definitions(semantic: Any, relations: dict[str, str]) -> dict[str, str]:
    """How each metric of `semantic` is computed, in one line a reader can check against the
    products: `sum(net_amount_usd) of orders.order_lines_v1 where line_status <> 'cancelled'`,
    `order_revenue / order_count`."""
    measures = {
        measure.name: f"{_aggregate(measure.agg.value, measure.expr or measure.name)} "
        f"of {relations[model.name]}"
        for model in semantic.semantic_models
        for measure in model.measures
    }
    found = {}
    for metric in semantic.metrics:
        params = metric.type_params
        if params.measure is not None:
            text = measures.get(params.measure.name, params.measure.name)
        elif params.numerator is not None and params.denominator is not None:
            text = f"{params.numerator.name} / {params.denominator.name}"
        elif params.expr:
            text = params.expr
        else:
            text = ", ".join(m.name for m in params.metrics or [])
        filters = metric.filter.where_filters if metric.filter else []
        where = " and ".join(_plain(f.where_sql_template) for f in filters)
        found[metric.name] = " ".join(f"{text} where {where}".split()) if where else text
    return found


def _aggregate(agg: str, expr: str) -> str:
    """`sum(x)`; a count as declared, `count(x)`, where dbt wrote it as a sum of a CASE."""
    counted = re.fullmatch(r"(?i)case when (\w+) is not null then 1 else 0 end", expr.strip())
    if agg.lower() == "sum" and counted:
        return f"count({counted.group(1)})"
    return f"{agg.lower()}({expr})"


def _plain(template: str) -> str:
    """A MetricFlow filter as a reader writes it: `{{ Dimension('a__b') }}` -> `a__b`, and
    `{{ Dimension('customer__region', entity_path=['order']) }}` -> `order__customer__region`
    (the name `--group-by` takes)."""

    def name(found: re.Match[str]) -> str:
        path = re.findall(r"'([^']*)'", found.group(2) or "")
        return "__".join([*path, found.group(1)])

    pattern = r"\{\{\s*\w+\(\s*'([^']*)'\s*(?:,\s*entity_path\s*=\s*\[([^\]]*)\])?[^}]*\}\}"
    return re.sub(pattern, name, template)


def _saved_queries(domain: str, semantic: Any) -> dict[str, SavedQuery]:
    found = {}
    for saved in semantic.saved_queries:
        params = saved.query_params
        where = [f.where_sql_template for f in params.where.where_filters] if params.where else []
        found[saved.name] = SavedQuery(
            name=saved.name,
            domain=domain,
            label=saved.label or saved.name,
            description=" ".join((saved.description or "").split()),
            metrics=list(params.metrics),
            group_by=list(params.group_by),
            where=where,
        )
    return dict(sorted(found.items()))


def _group_bys(metric: Any) -> set[str]:
    """The names a metric groups by: its dimensions, a time dimension at its own grain and at
    every coarser one (`metric_time`, `metric_time__day`, ..., `order__ordered_date__month`)."""
    names = set()
    for dimension in metric.dimensions:
        name = dimension.dunder_name
        names.add(name)
        if str(dimension.type.value).lower() == "time":
            base = name.removesuffix("__day")
            names.update({base, *(f"{base}__{grain}" for grain in GRAINS)})
    return names


def layers(view: View) -> dict[str, Layer]:
    """The semantic layer of every domain of `view` whose publish declares metrics."""
    found = {}
    for domain in sorted(view.publishes):
        path = view.folder(domain) / SEMANTIC_MANIFEST
        if path.is_file():  # published only where the domain declares one (publish.py)
            _require_intact(view, domain)
            found[domain] = _published(domain, str(path))
    return found


def _require_intact(view: View, domain: str) -> None:
    """Refuse a semantic manifest that is not the one published (its record's stamp; a stat,
    hashing only when the stat differs): it decides which SQL runs over the products."""
    stamps = [s for s in view.record(domain).files if s.path == SEMANTIC_MANIFEST]
    damage = integrity.changed(view.folder(domain), stamps)
    if damage:
        raise MetricsError(
            f"{domain}'s semantic layer is damaged ({damage[0].describe()}); run "
            f"`mesh verify {domain}`, then `mesh repair {domain}` or `mesh rollback {domain}`."
        )


@functools.lru_cache(maxsize=32)
def _published(domain: str, path: str) -> Layer:
    """The layer of a publish's semantic manifest, loaded once per command: a publish folder
    never changes once it is in place (pipeline.publish), and each publish has its own."""
    return _load(domain, Path(path).read_text(encoding="utf-8"), path)


def _load(domain: str, text: str, origin: str) -> Layer:
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantic_interfaces.validations.semantic_manifest_validator import (
        SemanticManifestValidator,
    )
    from metricflow_semantics.model.dbt_manifest_parser import (
        parse_manifest_from_dbt_generated_manifest,
    )
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    logging.getLogger("metricflow").setLevel(logging.WARNING)  # its debug "telemetry" lines
    try:
        semantic = parse_manifest_from_dbt_generated_manifest(text)
    except Exception as error:  # pydantic's, on a file that is not dbt's semantic manifest
        message = " ".join(str(error).split())[:400]  # pydantic's spans many lines
        raise MetricsError(f"{origin} is not a semantic manifest dbt wrote: {message}") from None
    issues = SemanticManifestValidator().validate_semantic_manifest(semantic)
    if issues.has_blocking_issues:
        first = issues.errors[0].as_readable_str()
        raise MetricsError(f"{domain}'s semantic layer ({origin}) is not valid: {first}")
    engine = MetricFlowEngine(SemanticManifestLookup(semantic), _Client())
    return Layer(
        domain, engine, _metrics(domain, engine, semantic), _saved_queries(domain, semantic)
    )


def _product(relation_name: str) -> str:
    """`"orders"."main"."orders_v2"` -> `orders.orders_v2`."""
    parts = [part.strip('"') for part in relation_name.split(".")]
    return f"{parts[0]}.{parts[-1]}"


def metrics(view: View) -> list[Metric]:
    """Every metric the domains of `view` declare, with its owner (its meta's, else its
    domain's, from the domain's manifest); a name declared twice is an error."""
    found = []
    for domain, layer in layers(view).items():
        dbt = manifest.load(view.manifest(domain))
        declared = {m.name: m for m in dbt.metrics.values()}
        for metric in layer.metrics.values():
            if metric.name in declared:
                metric = dataclasses.replace(metric, owner=dbt.metric_owner(declared[metric.name]))
            found.append((metric, layer))
    return [metric for metric, _ in _by_name("metric", found).values()]


def saved_queries(view: View) -> list[SavedQuery]:
    """Every saved query the domains of `view` declare, by name."""
    return [saved for saved, _ in _saved_by_name(view).values()]


def _saved_by_name(view: View) -> dict[str, tuple[SavedQuery, Layer]]:
    found = [(s, layer) for layer in layers(view).values() for s in layer.saved_queries.values()]
    return _by_name("saved query", found)


def _by_name(kind: str, found: list[tuple[Any, Layer]]) -> dict[str, tuple[Any, Layer]]:
    """Declarations (metrics, saved queries) by name, in name order, with the layer that
    declares each; a name two domains declare is refused, naming both."""
    named: dict[str, tuple[Any, Layer]] = {}
    for item, layer in found:
        if item.name in named:
            raise MetricsError(
                f"The {kind} {item.name} is declared by both {named[item.name][1].domain} and "
                f"{layer.domain}; rename one of them ({kind} names are the mesh's)."
            )
        named[item.name] = (item, layer)
    return dict(sorted(named.items()))


def compile_saved(view: View, name: str) -> str:
    """The SQL MetricFlow writes for the saved query `name` over the products of `view`."""
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    declared = _saved_by_name(view)
    if name not in declared:
        raise MetricsError(
            f"There is no saved query {name!r}{_close(name, declared)}; "
            "`mesh metrics list --saved` lists them."
        )
    return _explain(declared[name][1], MetricFlowQueryRequest.create(saved_query_name=name))


@dataclass(frozen=True)
class MetricQuery:
    metrics: list[str]
    group_by: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)  # MetricFlow filters: {{ Dimension('x') }} = 'y'
    order_by: list[str] = field(default_factory=list)  # "-name" descending
    limit: int | None = None


def compile_sql(view: View, request: MetricQuery) -> str:
    """The SQL MetricFlow writes for `request` over the products of `view`. Unknown metric or
    dimension names raise MetricsError listing the close matches."""
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    layer = _layer_of(view, request.metrics)
    shared = set.intersection(*(set(layer.metrics[n.lower()].dimensions) for n in request.metrics))
    for name in request.group_by:
        if name.lower() not in shared:
            raise MetricsError(
                f"{name!r} is not a dimension of {', '.join(request.metrics)}"
                f"{_close(name, shared)}; `mesh metrics list` shows each metric's dimensions."
            )
    selected = {*request.metrics, *request.group_by}
    for name in request.order_by:
        if name.lstrip("-").lower() not in {s.lower() for s in selected}:
            raise MetricsError(
                f"--order-by {name!r} names neither a metric nor a dimension of the query"
                f"{_close(name.lstrip('-'), selected)}."
            )
    return _explain(
        layer,
        MetricFlowQueryRequest.create(
            metric_names=request.metrics,
            group_by_names=request.group_by,
            where_constraints=request.where or None,
            order_by_names=request.order_by or None,
            limit=request.limit,
        ),
    )


def _explain(layer: Layer, request: Any) -> str:
    """The SQL MetricFlow writes for a MetricFlowQueryRequest on `layer`."""
    try:
        explained = layer.engine.explain(request)
    except Exception as error:  # MetricFlow's InvalidQueryException and kin: its message
        raise MetricsError(f"MetricFlow cannot compile the query: {_first_lines(error)}") from None
    sql: str = explained.sql_statement.sql
    return sql


def _layer_of(view: View, names: list[str]) -> Layer:
    """The one domain's layer that declares every metric of `names`."""
    if not names:
        raise MetricsError("Name at least one metric: --metrics revenue,order_count.")
    declaring = {metric: layer for layer in layers(view).values() for metric in layer.metrics}
    if not declaring:
        raise MetricsError(
            f"No domain declares metrics in {view.label}: declare semantic models and metrics "
            "in a domain (docs/analysis.md) and build it."
        )
    for name in names:
        if name.lower() not in declaring:
            raise MetricsError(f"There is no metric {name!r}{_close(name, declaring)}.")
    domains = {declaring[name.lower()].domain for name in names}
    if len(domains) > 1:
        raise MetricsError(
            f"{', '.join(names)} are declared by different domains ({', '.join(sorted(domains))}); "
            "query each domain's metrics on their own."
        )
    return declaring[names[0].lower()]


def _close(name: str, known: Any) -> str:
    matches = difflib.get_close_matches(name.lower(), sorted(known), n=5, cutoff=0.6)
    return f" (close matches: {', '.join(matches)})" if matches else ""


def _first_lines(error: Exception) -> str:
    """MetricFlow's message on one line: its tracebacks cut down to their exception's
    message, up to where it shows its internal resolution path."""
    kept: list[str] = []
    in_traceback = False
    for line in str(error).splitlines():
        text = line.strip()
        if text.startswith("Traceback (most recent call last)"):
            in_traceback = True
        elif in_traceback:
            raised = re.match(r"^[\w.]+(?:Exception|Error): (.*)$", text)
            if raised:
                kept.append(raised.group(1))
                in_traceback = False
        elif text.startswith(("Filter Path:", "Issue Location:")):
            break
        elif text:
            kept.append(text)
    return " ".join(kept)[:800]


class _Client:
    """What MetricFlow's engine needs to compile: DuckDB's SQL renderer. It never runs a
    statement here (`compile_sql` asks for its SQL only); the mesh's query path does."""

    def __init__(self) -> None:
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        self._renderer = DuckDbSqlPlanRenderer()

    @property
    def sql_engine_type(self) -> Any:
        from metricflow.protocols.sql_client import SqlEngine

        return SqlEngine.DUCKDB

    @property
    def sql_plan_renderer(self) -> Any:
        return self._renderer

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise MetricsError("the metrics layer compiles SQL only; the mesh's query runs it")

    query = execute = dry_run = _refuse

    def close(self) -> None:
        return None

    def render_bind_parameter_key(self, key: str) -> str:
        return f"${key}"
