"""`mesh repair DOMAIN`: after a published file was damaged, a new, verified publish.

The domain is rebuilt from its code and landing data with `--full` (nothing continues from
its private store, and its damaged publish is no baseline for the gate), through the whole
pipeline and gate like any build, then every file of the new publish is hashed against its
record. Then its consumers are built as `mesh build <consumers>` builds them (their upstreams
unchanged, they read the repaired publish), so that the snapshot readers see can move on. The
damaged publish stays in the history, withdrawn from nothing: `mesh verify` keeps naming it
until pruning removes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mesh.discovery import graph, integrity
from mesh.discovery.domains import discover, require_projects, select
from mesh.discovery.registry import PublishRecord, current_publish_id, read_record
from mesh.errors import DamagedPublishError, MeshError
from mesh.pipeline.build import build
from mesh.pipeline.engine import Engine
from mesh.pipeline.report import DomainResult, Reporter
from mesh.workspace import Mesh


@dataclass
class Repaired:
    """What `repair` did."""

    record: PublishRecord  # the new publish, verified
    replaced: str | None  # the publish that was current before
    damage: list[integrity.Damage]  # what was damaged in it, by sha256
    consumers: list[DomainResult] = field(default_factory=list)  # rebuilt after it


def repair(mesh: Mesh, domain: str, engine: Engine, reporter: Reporter | None = None) -> Repaired:
    """Rebuild `domain` (`--full --only`), verify its new publish, then build its consumers."""
    mesh = mesh.on(engine.name)
    domains = discover(mesh)
    require_projects(mesh, select(domains, [domain]), "repair")
    replaced = current_publish_id(mesh, domain)
    before = read_record(mesh, domain, replaced) if replaced else None
    damage = integrity.publish_damage(mesh, before, full=True) if before else []
    consumers = sorted(graph.downstream_of(domains, domain))
    [result] = build(mesh, [domain], engine, reporter, only=True, full=True)
    if not result.ok or not result.publish_id:
        details = f" ({'; '.join(result.details[:3])})" if result.details else ""
        raise MeshError(
            f"{domain} was not repaired: its rebuild did not publish: {result.reason}{details}. "
            f"Fix that and run `mesh repair {domain}` again, or `mesh rollback {domain}`."
        )
    record = read_record(mesh, domain, result.publish_id)
    assert record is not None
    still = integrity.publish_damage(mesh, record, full=True)
    if still:
        raise DamagedPublishError(
            f"{domain}'s new publish {record.publish_id} does not match its record: "
            f"{still[0].describe()}. Something is still writing into the published files; "
            "find it before repairing again."
        )
    # Not --only: each upstream is read at its newest publish if it is unchanged (the
    # snapshot still holds the damaged one while consumers were built from it).
    rebuilt = build(mesh, consumers, engine, reporter) if consumers else []
    return Repaired(record, replaced, damage, [r for r in rebuilt if r.domain in consumers])
