"""The metrics page of the catalog: every metric the domains declare (its definition, owner
and the product versions it reads) and each saved metric query drawn as a chart.

The catalog reads; it does not run queries (it may not import an engine). Whoever builds the
catalog passes `run`, which runs SQL read-only on the same snapshot (`mesh catalog` passes
`mesh query`'s sandbox); without it the saved queries are listed but not drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mesh.catalog.chart import draw
from mesh.catalog.collect import Link, ProductPage, slug, version_label
from mesh.discovery.products import Product
from mesh.discovery.snapshots import View
from mesh.errors import MeshError
from mesh.metrics import layer

# Runs read-only SQL on a view's products, within its row limit: its column names, its rows,
# and notes on them (rows cut by that limit, a domain that could not be read).
RunQuery = Callable[[View, str], tuple[Sequence[str], Sequence[Sequence[Any]], Sequence[str]]]


@dataclass(frozen=True)
class MetricEntry:
    metric: layer.Metric
    anchor: str
    reads: tuple[Link, ...]  # the product versions it reads, linked to their pages


@dataclass(frozen=True)
class SavedChart:
    saved: layer.SavedQuery
    anchor: str
    svg: str | None  # the chart, also written to `href`
    href: str | None
    kind: str | None  # "line", "bar" or "empty"
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()  # as written in the data table under the chart
    notes: tuple[str, ...] = ()
    error: str | None = None  # why it is not drawn


@dataclass
class MetricsSection:
    metrics: list[MetricEntry] = field(default_factory=list)
    charts: list[SavedChart] = field(default_factory=list)
    error: str | None = None  # a domain's semantic layer could not be read

    @property
    def shown(self) -> bool:
        """Whether the catalog has a metrics page (and links to it)."""
        return bool(self.metrics or self.charts or self.error)

    def reading(self, product: Product) -> list[MetricEntry]:
        """The metrics that read the product version `product`."""
        return [entry for entry in self.metrics if _read_as(product) in entry.metric.reads]


def _read_as(product: Product) -> str:
    """How a metric names the product version it reads: `orders.orders_v2`."""
    return f"{product.domain}.{product.relation.split('.')[-1]}"


def collect_metrics(
    view: View, pages: Sequence[ProductPage], run: RunQuery | None
) -> MetricsSection:
    """The metrics and saved queries of `view`, charts drawn with `run` (None: not drawn)."""
    try:
        metrics = layer.metrics(view)
        saved = layer.saved_queries(view)
    except MeshError as error:  # an invalid semantic manifest: the rest of the catalog stands
        return MetricsSection(error=str(error))
    links = _version_links(pages)
    entries = [
        MetricEntry(m, f"metric-{slug(m.name)}", tuple(links.get(r, Link(r)) for r in m.reads))
        for m in metrics
    ]
    return MetricsSection(entries, [_chart(view, s, run) for s in saved])


def _version_links(pages: Sequence[ProductPage]) -> dict[str, Link]:
    """`<domain>.<relation name>` -> a link to that version on its product's page."""
    found = {}
    for page in pages:
        for version in page.versions:
            text = f"{page.domain}.{page.name} {version_label(version.product.version)}"
            found[_read_as(version.product)] = Link(text, f"{page.href}#{version.label}")
    return found


def _chart(view: View, saved: layer.SavedQuery, run: RunQuery | None) -> SavedChart:
    anchor, href = f"saved-{slug(saved.name)}", f"charts/{slug(saved.name)}.svg"
    if run is None:
        return SavedChart(saved, anchor, None, None, None, error="Not drawn: no query runner.")
    try:
        columns, rows, notes = run(view, layer.compile_saved(view, saved.name))
    except MeshError as error:
        return SavedChart(saved, anchor, None, None, None, error=str(error))
    chart = draw(saved.label, list(columns), rows, saved.metrics)
    table = tuple(tuple(_cell(value) for value in row) for row in rows)
    return SavedChart(
        saved, anchor, chart.svg, href, chart.kind, tuple(columns), table,
        (*notes, *chart.notes),
    )  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat()).replace("T00:00:00", "")
    return str(value)
