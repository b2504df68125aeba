"""Source freshness: the newest export of each source against its thresholds."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from mesh.data.freshness import check
from mesh.discovery.manifest import Manifest, parse

NOW = datetime(2026, 11, 24, 12)


def manifest(tmp_path: Path, newest: datetime | None, **freshness: Any) -> Manifest:
    path = tmp_path / "orders.parquet"
    rows = "select ?::timestamp as exported_at" + (" where false" if newest is None else "")
    duckdb.execute(f"copy ({rows}) to '{path}' (format parquet)", [newest or NOW])
    source = {
        "package_name": "orders",
        "source_name": "checkout",
        "name": "orders",
        "relation_name": f"read_parquet('{path}')",
        "loaded_at_field": "exported_at",
        "freshness": freshness,
    }
    return parse({"sources": {"source.orders.checkout.orders": source}})


RULES = {
    "warn_after": {"count": 6, "period": "hour"},
    "error_after": {"count": 3, "period": "day"},
}


def test_a_recent_export_is_fresh(tmp_path: Path) -> None:
    assert check("orders", manifest(tmp_path, NOW - timedelta(hours=1), **RULES), NOW) == []


def test_past_warn_after_is_a_warning_naming_the_source_and_its_age(tmp_path: Path) -> None:
    (stale,) = check("orders", manifest(tmp_path, NOW - timedelta(hours=30), **RULES), NOW)

    assert stale.level == "warn"
    assert stale.describe() == (
        "source checkout.orders is 30.0 hours old (newest export 2026-11-23 06:00 UTC), "
        "past its warn_after of 6.0 hours"
    )


def test_past_error_after_is_an_error(tmp_path: Path) -> None:
    (stale,) = check("orders", manifest(tmp_path, NOW - timedelta(days=4), **RULES), NOW)

    assert stale.level == "error"
    assert "past its error_after of 3.0 days" in stale.describe()


def test_a_source_without_rows_is_stale(tmp_path: Path) -> None:
    (stale,) = check("orders", manifest(tmp_path, None, **RULES), NOW)

    assert stale.level == "error"
    assert stale.describe() == "source checkout.orders has no rows, so no error_after can hold"


def test_sources_without_rules_or_of_other_domains_are_not_checked(tmp_path: Path) -> None:
    old = NOW - timedelta(days=30)
    assert check("orders", manifest(tmp_path, old), NOW) == []
    assert check("analytics", manifest(tmp_path, old, **RULES), NOW) == []


def test_another_engines_sources_are_read_from_the_landing_files(tmp_path: Path) -> None:
    """A Spark manifest names its sources `checkout.orders`; the files are read instead."""
    landing = tmp_path / "landing"
    (landing / "orders").mkdir(parents=True)
    found = manifest(tmp_path, NOW - timedelta(days=4), **RULES)
    (tmp_path / "orders.parquet").rename(landing / "orders" / "2026-11-20.parquet")
    source = found.sources["source.orders.checkout.orders"]
    spark = source.model_copy(update={"relation_name": "checkout.orders", "identifier": "orders"})
    found = found.model_copy(update={"sources": {spark.unique_id: spark}})

    (stale,) = check("orders", found, NOW, landing_dir=landing)
    assert stale.level == "error" and stale.source == "checkout.orders"
