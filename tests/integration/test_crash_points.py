"""A crash at each named step of a publish (mesh.pipeline.crashpoints): a real `mesh build`
is paused at the end of the step by the test-only MESH_TEST_PAUSE_AT hook, then killed with
SIGKILL, with its dbt worker, as a power cut or the OOM killer would.

After each stop: `mesh history` lists exactly the publishes that became current, `current`
and the mesh snapshot (what `mesh query` reads) are what they were or what the build made
them, `mesh rollback` returns to the publish that was current before, and the next build
removes what the stopped one left. The steps run one after the other in one copy: each build
starts from the wreck the one before left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mesh.discovery import registry, snapshots
from mesh.pipeline.crashpoints import PAUSE_AT, PAUSE_FILE, Step
from mesh.pipeline.snapshot import KEEP_PUBLISHES
from mesh.workspace import Mesh
from tests.integration.conftest import MESH_BIN, mesh

pytestmark = pytest.mark.integration

DOMAIN = "customers"  # one small domain; analytics reads it, so the snapshot holds it back
PRODUCT = "select count(*) as n from customers.main.customers_v1"
PAUSE_TIMEOUT = 300.0


def _published(root: Path) -> Path:
    return root / "warehouse/published" / DOMAIN


def _current(root: Path) -> str:
    return (_published(root) / "current").readlink().name


def _snapshot(root: Path) -> str:
    return (root / "warehouse/snapshots/current").readlink().name


def _leftovers(root: Path) -> set[str]:
    """Everything a stop can leave: hidden entries of the domain's publish folder, its
    private stores and the snapshots folder, and staging folders."""
    found = {f"published/{p.name}" for p in _published(root).iterdir() if p.name[0] == "."}
    found |= {f"private/{p.name}" for p in (root / "warehouse/private" / DOMAIN).iterdir()}
    found -= {f"private/{p.name}" for p in _published(root).iterdir()}
    found |= {
        f"snapshots/{p.name}"
        for p in (root / "warehouse/snapshots").iterdir()
        if p.name[0] == "." or p.name.endswith(".partial")
    }
    builds = root / "warehouse/build" / DOMAIN
    return found | {f"build/{p.name}" for p in builds.iterdir()} if builds.is_dir() else found


def _id(name: str) -> str:
    """The publish id in a name of the publish folder (`.<id>.partial`, `.<id>.pruned`)."""
    return name.strip(".").removesuffix(".partial").removesuffix(".pruned")


def _reads(root: Path, latest: bool = False) -> str:
    """The publish of DOMAIN `mesh query` (`--latest`) reads: the view the command resolves,
    resolved as it does."""
    return snapshots.view(Mesh(root), latest=latest).publishes[DOMAIN]


def _history(root: Path) -> str:
    return mesh(root, "history", DOMAIN).stdout


def _stop_at(root: Path, step: Step, pause: Path) -> None:
    """Run `mesh build DOMAIN --full` until it reaches the end of `step`, then kill -9 it
    and every process it started."""
    pause.unlink(missing_ok=True)
    build = subprocess.Popen(
        [str(MESH_BIN), "build", DOMAIN, "--full", "--quiet"],
        cwd=root,
        env={**os.environ, PAUSE_AT: step.value, PAUSE_FILE: str(pause)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the kill takes its workers too
    )
    deadline = time.monotonic() + PAUSE_TIMEOUT
    while not pause.exists():
        if build.poll() is not None or time.monotonic() > deadline:
            build.kill()
            raise AssertionError(f"the build never reached {step}:\n{build.communicate()[0]}")
        time.sleep(0.05)
    os.killpg(build.pid, signal.SIGKILL)
    build.communicate(timeout=60)
    assert build.returncode == -signal.SIGKILL


def _old_publishes(root: Path, count: int) -> list[str]:
    """`count` publishes from long ago, copies of the current one, as if published before
    it: enough that the next commit prunes the oldest."""
    folder, private = _published(root), root / "warehouse/private" / DOMAIN
    source = _current(root)
    made = [f"20200101T00000{n}000000Z-0ld00{n}" for n in range(count)]
    for publish_id in made:
        shutil.copytree(folder / source, folder / publish_id)
        shutil.copytree(private / source, private / publish_id)
        record = json.loads((folder / publish_id / "publish.json").read_text())
        (folder / publish_id / "publish.json").write_text(
            json.dumps({**record, "publish_id": publish_id})
        )
    lines = [json.dumps({"event": "publish", "publish_id": p, "at": "2020-01-01"}) for p in made]
    history = folder / "history.jsonl"
    history.write_text("\n".join(lines) + "\n" + history.read_text())
    return made


def test_a_crash_at_each_step_of_a_publish(mesh_copy: Path, tmp_path: Path) -> None:
    root, pause = mesh_copy, tmp_path / "paused"
    stack = [_current(root)]  # what became current and was not rolled back, oldest first
    never: list[str] = []  # publishes stopped before they became current
    left: set[str] = set()
    report = []
    for step in Step:
        if step is Step.PRUNE:
            stack[:0] = _old_publishes(root, KEEP_PUBLISHES)
        before = {p.name for p in _published(root).iterdir()}
        snapshot_before = _snapshot(root)
        _stop_at(root, step, pause)

        # The stopped build removed what the stop before it left, before it published.
        assert not left & _leftovers(root), f"{step}: {left & _leftovers(root)} left over"
        left = _leftovers(root)
        on_disk = {_id(p.name) for p in _published(root).iterdir()}
        assert not on_disk & set(never), f"{step}: a publish never current was not removed"
        [publish_id] = {n for n in on_disk - {_id(n) for n in before} if n[:1].isdigit()}
        became = step in (Step.POINT_CURRENT, Step.SNAPSHOT, Step.PRUNE)
        if became:
            stack.append(publish_id)
        else:
            never.append(publish_id)

        # History and `current` agree: what became current, and only that, is listed.
        assert _current(root) == stack[-1], step
        listed = registry.publish_ids(Mesh(root), DOMAIN)  # what `mesh history` lists
        assert set(stack[-KEEP_PUBLISHES:]) <= set(listed), f"{step}: {listed}"
        assert not set(never) & set(listed), f"{step}: a publish never current is listed"
        # Readers: the snapshot moved only once the stopped build committed one.
        assert (_snapshot(root) != snapshot_before) == (step in (Step.SNAPSHOT, Step.PRUNE))
        snapshot = json.loads((root / "warehouse/snapshots/current").read_text())
        assert _reads(root) == snapshot["publishes"][DOMAIN] != publish_id
        assert _reads(root, latest=True) == stack[-1]
        assert mesh(root, "query", PRODUCT, "--format", "json").json()[0]["n"] > 0

        # Rollback returns to the publish current before, never to one stopped half-way.
        rolled = mesh(root, "rollback", DOMAIN, check=False)
        if len(stack) > 1:
            assert f"rolled back to {stack[-2]}" in rolled.stdout, f"{step}: {rolled.output}"
            stack.pop()
        else:
            assert "no publish that was current before" in rolled.stderr, rolled.output
        assert _current(root) == stack[-1]
        report.append(f"{step}: left {sorted(left) or 'nothing'}; rollback -> {stack[-1]}")

    # The next build cleans everything up and publishes; nothing stopped half-way is read.
    assert f"{DOMAIN}: published" in mesh(root, "build", DOMAIN, "--full", "--quiet").stdout
    assert _leftovers(root) == set()
    on_disk = {p.name for p in _published(root).iterdir()}
    snapshots = "".join(p.read_text() for p in (root / "warehouse/snapshots").glob("*.json"))
    history = _history(root)
    kept = registry.publish_ids(Mesh(root), DOMAIN)
    assert stack[-1] in kept and all(p in history for p in kept)
    for publish_id in never:
        assert publish_id not in on_disk and publish_id not in snapshots
        assert publish_id not in history
    print("\n" + "\n".join(report))
