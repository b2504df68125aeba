"""Which publishes a mesh snapshot holds: the newest set in which every consumer's publish was
built from the publishes of its upstreams in the same set."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.discovery import snapshots
from mesh.discovery.registry import PublishRecord
from mesh.errors import MeshError
from mesh.pipeline.snapshot import choose
from mesh.workspace import Mesh
from tests.unit.conftest import commit_heads, make_mesh


def record(domain: str, publish_id: str, **upstreams: str) -> PublishRecord:
    return PublishRecord(
        domain=domain,
        publish_id=publish_id,
        published_at="2026-12-01T00:00:00+00:00",
        run_id=publish_id,
        git_commit=None,
        upstreams=upstreams,
        dbt_results={},
    )


# A chain customers -> orders -> fulfillment; ids sort by time, like real ones.
C1, C2 = record("customers", "c1"), record("customers", "c2")
O1, O2 = record("orders", "o1", customers="c1"), record("orders", "o2", customers="c2")
F1, F2 = record("fulfillment", "f1", orders="o1"), record("fulfillment", "f2", orders="o2")


def test_the_newest_publishes_when_they_were_built_together() -> None:
    choice = choose({"customers": [C2, C1], "orders": [O2, O1], "fulfillment": [F2, F1]})

    assert choice.publishes == {"customers": "c2", "orders": "o2", "fulfillment": "f2"}
    assert choice.behind == {} and choice.dropped == []


def test_a_consumer_without_a_publish_of_the_newest_upstream_holds_it_back() -> None:
    # orders published o2 from c2; fulfillment's build from o2 was refused.
    choice = choose({"customers": [C2, C1], "orders": [O2, O1], "fulfillment": [F1]})

    assert choice.publishes == {"customers": "c1", "orders": "o1", "fulfillment": "f1"}
    assert choice.behind["orders"].startswith(
        "fulfillment has no publish built from its newest publish o2"
    )
    assert (
        "orders's publish o1 in the snapshot was built from customers c1"
        in (choice.behind["customers"])
    )
    assert set(choice.behind) == {"customers", "orders"}


def test_domains_that_do_not_read_the_refused_one_still_advance() -> None:
    catalog = [record("catalog", "k2"), record("catalog", "k1")]
    choice = choose({"catalog": catalog, "orders": [O2, O1], "fulfillment": [F1]})

    assert choice.publishes["catalog"] == "k2"
    assert "catalog" not in choice.behind


def test_after_a_rollback_consumers_go_back_to_what_they_built_from_it() -> None:
    # orders was rolled back to o1: its candidates stop there; fulfillment's newest read o2.
    choice = choose({"customers": [C2, C1], "orders": [O1], "fulfillment": [F2, F1]})

    assert choice.publishes == {"customers": "c1", "orders": "o1", "fulfillment": "f1"}
    assert "built from orders o2, which is not in the snapshot" in choice.behind["fulfillment"]


def test_a_consumer_with_nothing_built_from_a_kept_upstream_is_dropped() -> None:
    choice = choose({"orders": [record("orders", "o1")], "fulfillment": [F2]})

    assert choice.dropped == ["fulfillment"]
    assert "fulfillment" not in choice.publishes
    assert "no kept publish of it was built from orders o1" in choice.behind["fulfillment"]


def test_latest_names_where_the_newest_publishes_mix() -> None:
    assert snapshots.mixes({"orders": O2, "fulfillment": F1, "customers": C2}) == [
        "fulfillment's publish f1 was built from orders o1, not o2"
    ]
    assert snapshots.mixes({"orders": O2, "fulfillment": F2, "customers": C2}) == []


def _published(mesh: Mesh, domain: str, publish_id: str) -> None:
    folder = mesh.published / domain / publish_id
    folder.mkdir(parents=True)
    link = mesh.published_dir(domain)
    link.unlink(missing_ok=True)
    link.symlink_to(publish_id)


def test_at_reads_the_snapshot_current_then(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path / "mesh")
    _published(mesh, "orders", "o1")
    first = commit_heads(mesh)
    _published(mesh, "orders", "o2")
    second = commit_heads(mesh)

    assert snapshots.at(mesh, first.committed_at).publishes in (
        {"orders": "o1"},
        {"orders": "o2"},  # committed within the same second: the later one
    )
    assert snapshots.at(mesh, "2999-01-01T00:00:00Z") == second
    with pytest.raises(MeshError, match="oldest kept one was committed at"):
        snapshots.at(mesh, "2000-01-01")
    with pytest.raises(MeshError, match="is not a time"):
        snapshots.at(mesh, "yesterday")
    with pytest.raises(MeshError, match="not both"):
        snapshots.view(mesh, ["orders"], at_time="2999-01-01", latest=True)
