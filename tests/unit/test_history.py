"""What became current, after a stop at any step of a publish: the history and the `current`
link together say it (registry.timeline); rollback walks back through it; the next build's
cleanup removes what never became current and writes the history straight."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.discovery.registry import HISTORY, publish_ids, timeline
from mesh.errors import RollbackError
from mesh.pipeline import publish as publish_step
from mesh.pipeline import snapshot
from mesh.workspace import Mesh
from tests.unit.test_publish import RESULTS, publish, stage


@pytest.fixture
def mesh(orders_mesh: Mesh) -> Mesh:
    return orders_mesh


def _publish(mesh: Mesh, n: int) -> str:
    run = f"run-{n}"
    return publish(mesh, "orders", stage(mesh, run, n), run, {}, RESULTS).publish_id


def _point(mesh: Mesh, publish_id: str) -> None:
    link = mesh.published / "orders" / "current"
    link.unlink()
    link.symlink_to(publish_id)


def _history(mesh: Mesh) -> list[str]:
    return (mesh.published / "orders" / HISTORY).read_text().splitlines()


def test_a_publish_stopped_before_the_switch_is_never_listed_nor_returned_to(mesh: Mesh) -> None:
    first = _publish(mesh, 1)
    never = _publish(mesh, 2)
    _point(mesh, first)  # what a stop after the history line, before `current` moved, leaves

    assert publish_ids(mesh, "orders") == [first]
    assert snapshot.candidates(mesh, ["orders"])["orders"][0].publish_id == first
    with pytest.raises(RollbackError, match="no publish that was current before"):
        publish_step.rollback(mesh, "orders")
    assert '"event":"abandoned"' in _history(mesh)[-1]  # noted before any rollback line
    publish_step.cleanup(mesh, "orders")  # the next build's: the folder, its private store
    assert not (mesh.published / "orders" / never).exists()
    assert not (mesh.private / "orders" / never).exists()

    third = _publish(mesh, 3)
    assert publish_ids(mesh, "orders") == [first, third]  # the line does not come back


def test_rollback_returns_to_the_publish_that_was_current_before(mesh: Mesh) -> None:
    a, b, c = (_publish(mesh, n) for n in (1, 2, 3))
    assert publish_step.rollback(mesh, "orders")[0].publish_id == b
    d = _publish(mesh, 4)
    # Before d, b was current (c was withdrawn), so rollback goes to b, then to a.
    assert publish_step.rollback(mesh, "orders")[0].publish_id == b
    assert publish_step.rollback(mesh, "orders")[0].publish_id == a
    line = timeline(mesh, "orders")
    assert line.stack == (a,) and line.withdrawn == {b, c, d}
    assert publish_ids(mesh, "orders") == [a, b, c, d]  # all were current once: history


def test_a_switch_whose_history_line_is_missing_is_still_listed(mesh: Mesh) -> None:
    first = _publish(mesh, 1)
    second = _publish(mesh, 2)
    path = mesh.published / "orders" / HISTORY
    path.write_text("\n".join(_history(mesh)[:-1]) + '\n{"event": "publ')  # torn, as by a crash

    assert publish_ids(mesh, "orders") == [first, second]  # `current` names it
    publish_step.cleanup(mesh, "orders")
    assert second in _history(mesh)[-1] and timeline(mesh, "orders").repairs == ()


def test_a_prune_stopped_half_way_leaves_nothing_listed_and_cleanup_removes_it(
    mesh: Mesh,
) -> None:
    ids = [_publish(mesh, n) for n in range(snapshot.KEEP_PUBLISHES + 2)]
    folder = mesh.published / "orders"
    (folder / ids[0]).replace(folder / f".{ids[0]}.pruned")  # a stop after renaming it aside
    (folder / ids[1] / "orders.duckdb").unlink()  # an older mesh's half-deleted prune
    (folder / ids[1] / "publish.json").unlink()
    (folder / ".current-abc123").symlink_to(ids[2])
    (folder / ids[3] / ".publish.json.partial").write_text("{")  # forget_fingerprint stopped

    assert ids[0] not in publish_ids(mesh, "orders") and ids[1] not in publish_ids(mesh, "orders")
    removed = {p.name for p in publish_step.cleanup(mesh, "orders")}
    assert {f".{ids[0]}", ids[1], ".current-abc123"} <= {n.removesuffix(".pruned") for n in removed}
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    assert not (folder / ids[3] / ".publish.json.partial").exists()
    assert {p.name for p in (mesh.private / "orders").iterdir()} == set(ids[2:])


def test_every_step_of_a_publish_is_named_once() -> None:
    from mesh.pipeline.crashpoints import Step

    assert [s.value for s in Step] == [
        "gather", "record", "rename-private", "rename-folder", "history", "point-current",
        "snapshot", "prune",
    ]  # fmt: skip
    assert Path(publish_step.__file__).read_text().count("reached(Step.") == 6
