"""Governance of metrics: semantic models read product versions like models do, so a breaking
change names the metrics it breaks, and a metric on a deprecated (or removed) version is
reported like any consumer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mesh.discovery.manifest import Manifest, parse
from mesh.governance.contracts import (
    BreakingChange,
    consumer_impact,
    deprecated_uses,
    describe_impact,
    removed_reads,
)

LINES = "model.orders.order_lines.v1"


def _analytics(deprecation_date: str | None = None) -> Manifest:
    """analytics with one semantic model over orders.order_lines v1 and three metrics on it:
    two on its measures, a ratio on those two."""
    product: dict[str, Any] = {
        "resource_type": "model", "package_name": "orders", "name": "order_lines",
        "version": 1, "access": "public", "deprecation_date": deprecation_date,
        "columns": {c: {"name": c} for c in ("order_line_id", "order_id", "net_amount_usd",
                                             "quantity", "order_status")},
    }  # fmt: skip
    semantic = {
        "name": "order_lines", "package_name": "analytics", "depends_on": {"nodes": [LINES]},
        "entities": [{"name": "order_line", "expr": "order_line_id"}, {"name": "order_id"}],
        "dimensions": [{"name": "line_status", "expr": "order_status"}],
        "measures": [{"name": "line_net_usd", "expr": "net_amount_usd"},
                     {"name": "line_units", "expr": "case when quantity > 0 then quantity end"}],
    }  # fmt: skip
    on_model = {"nodes": ["semantic_model.analytics.order_lines"]}
    metrics = {
        "revenue": on_model,
        "units_sold": on_model,
        "revenue_per_unit": {"nodes": ["metric.analytics.revenue", "metric.analytics.units_sold"]},
        "unrelated": {"nodes": ["semantic_model.analytics.other"]},
    }
    declared = {
        f"metric.analytics.{name}": {"name": name, "package_name": "analytics", "depends_on": on}
        for name, on in metrics.items()
    }
    return parse(
        {
            "nodes": {LINES: product},
            "semantic_models": {"semantic_model.analytics.order_lines": semantic},
            "metrics": declared,
        }
    )


def _change(*columns: str) -> BreakingChange:
    return BreakingChange("orders", "order_lines", "1", "column_removed", "gone", columns)


def test_a_breaking_change_names_the_metrics_it_breaks() -> None:
    analytics = _analytics()
    [impact] = consumer_impact(_change("net_amount_usd"), {"analytics": analytics})
    assert describe_impact(_change("net_amount_usd"), impact) == (
        "breaks analytics.order_lines (semantic model of metrics revenue, revenue_per_unit, "
        "units_sold): reads net_amount_usd"
    )
    # A column in an expression counts; one no entity, dimension or measure names does not.
    assert consumer_impact(_change("quantity"), {"analytics": analytics})
    assert consumer_impact(_change("order_status"), {"analytics": analytics})
    assert consumer_impact(_change("status"), {"analytics": analytics}) == []
    # A change without columns (a deleted version) breaks it whatever it reads.
    assert consumer_impact(_change(), {"analytics": analytics})


def test_metrics_on_a_deprecated_version_are_reported_and_on_a_removed_one_refused() -> None:
    analytics = _analytics(deprecation_date="2027-06-30")
    manifests = {"analytics": analytics}
    [use] = deprecated_uses(manifests, manifests, dt.date(2027, 6, 1))
    assert (use.consumer, use.product, use.version, use.days_left) == (
        "analytics", "orders.order_lines", "1", 29,
    )  # fmt: skip
    assert use.model.startswith("order_lines (semantic model of metrics revenue")
    assert removed_reads("analytics", analytics, dt.date(2027, 6, 1)) == []
    [line] = removed_reads("analytics", analytics, dt.date(2027, 7, 1))
    assert line.startswith(
        "analytics.order_lines (semantic model of metrics revenue, revenue_per_unit, "
        "units_sold) reads orders.order_lines v1, removed after its deprecation date 2027-06-30"
    )
