"""Source freshness: is the landing data a domain read recent enough for what it promises?

Each dbt source declares, the way dbt does, the column that says when a row was exported
and when the data is stale:

    sources:
      - name: checkout
        config:
          loaded_at_field: exported_at
          freshness:
            warn_after: {count: 6, period: hour}     # the products' max_age_hours
            error_after: {count: 1, period: day}

After a domain's build passes and before it is published, `mesh build` reads the newest
`loaded_at_field` of every source table of the domain (DuckDB answers from the Parquet
statistics, without a scan) and compares its age with the thresholds: past `warn_after` it
warns; past `error_after` the build is not published, and the message names the source,
its newest export, its age and the rule. `dbt source freshness` reads the same declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from mesh.data.landing import sql_list
from mesh.discovery.manifest import Manifest, Threshold

PERIODS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass(frozen=True)
class Stale:
    """A source table older than one of its thresholds."""

    source: str
    newest: datetime | None
    age: timedelta | None
    level: str  # "warn" or "error"
    limit: timedelta

    def describe(self) -> str:
        if self.newest is None or self.age is None:
            return f"source {self.source} has no rows, so no {self.level}_after can hold"
        return (
            f"source {self.source} is {_duration(self.age)} old (newest export "
            f"{self.newest:%Y-%m-%d %H:%M} UTC), past its {self.level}_after of "
            f"{_duration(self.limit)}"
        )


def _duration(value: timedelta) -> str:
    hours = value.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


def _threshold(rule: Threshold | None) -> timedelta | None:
    if not rule or rule.count is None or rule.period not in PERIODS:
        return None
    return rule.count * PERIODS[rule.period]


def check(
    domain: str,
    manifest: Manifest,
    now: datetime | None = None,
    landing_dir: Path | None = None,
) -> list[Stale]:
    """Every source table of `domain` past its warn_after or error_after, errors first.

    Sources are read through their relation in the manifest (DuckDB's reads the export
    files), or, given `landing_dir` (another engine's manifest), from the files there."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    found: list[Stale] = []
    with duckdb.connect() as con:
        for source in manifest.sources.values():
            if source.package_name != domain or not source.freshness:
                continue
            field = source.loaded_at_field
            warn = _threshold(source.freshness.warn_after)
            error = _threshold(source.freshness.error_after)
            if not field or not (warn or error):
                continue
            relation = source.relation_name
            if landing_dir:  # the export files of the source table, read by name
                files = sorted((landing_dir / str(source.identifier)).iterdir())
                relation = f"read_parquet({sql_list(files)}, union_by_name = true)"
            row = con.execute(f"select max({field}) from {relation}").fetchone()
            newest = row[0] if row else None
            if isinstance(newest, datetime) and newest.tzinfo is not None:
                newest = newest.astimezone(UTC).replace(tzinfo=None)
            age = now - newest if isinstance(newest, datetime) else None
            name = source.label
            for level, limit in (("error", error), ("warn", warn)):
                if limit is not None and (age is None or age > limit):
                    found.append(Stale(name, newest, age, level, limit))
                    break
    return sorted(found, key=lambda stale: (stale.level != "error", stale.source))
