"""`.ci/domain`, one domain's CI, run for real in a clone of the repository.

The clone's HEAD is the base; a change is made in its working tree, as in a pull request.
Its `.venv` is the environment running these tests (the platform code under test), and its
`.ci/domain` is this checkout's. Each run takes about half a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import needs
from tests.integration.conftest import REPO, Run

pytestmark = pytest.mark.integration

STEPS = ("(a) generate", "(b) base", "(c) lint", "(d) check", "(e) build", "(f) cleanup")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        needs.missing("it needs git and a git checkout of the repository")
    root = tmp_path / "mesh"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(root)], check=True)
    shutil.copy2(REPO / ".ci" / "domain", root / ".ci" / "domain")
    (root / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return root


def ci_domain(root: Path, *args: str) -> Run:
    done = subprocess.run(
        [str(root / ".ci" / "domain"), *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env=_environment(),
    )
    return Run(done.returncode, done.stdout, done.stderr)


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}


def _worktrees(root: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "worktree", "list", "--porcelain"], cwd=root, capture_output=True, text=True
    )
    return [line for line in listed.stdout.splitlines() if line.startswith("worktree ")]


def test_a_breaking_change_fails_at_check_naming_the_consumers_it_breaks(clone: Path) -> None:
    contract = clone / "domains" / "orders" / "models" / "marts" / "orders.yml"
    text = contract.read_text()
    old = "      - name: customer_id\n        data_type: bigint"
    assert old in text
    contract.write_text(text.replace(old, old.replace("bigint", "varchar"), 1))

    run = ci_domain(clone, "orders", "HEAD")

    assert run.returncode == 1, run.output
    assert "(b) base" in run.stdout and "(d) check" in run.stdout
    assert "(e) build" not in run.stdout  # stopped at the first failing step
    # The consumers were published at the base, so check names what the change breaks.
    assert "changed type from bigint to varchar" in run.stdout
    assert "breaks analytics.stg_orders__orders: reads customer_id" in run.stdout
    assert ".ci/domain orders: FAILED at step 'check'" in run.stderr
    assert "(f) cleanup" in run.stdout
    assert not (clone / "warehouse" / "ci" / "base").exists()
    assert len(_worktrees(clone)) == 1


def test_a_push_to_main_builds_the_upstreams_here_then_the_domain(clone: Path) -> None:
    run = ci_domain(clone, "fulfillment")

    assert run.returncode == 0, run.output
    for step in STEPS[:5]:
        assert step in run.stdout
    assert "(f) cleanup" not in run.stdout  # no base, no worktree
    assert "orders: published" in run.stdout  # its upstream, built from this checkout
    assert ".ci/domain fulfillment: passed" in run.stdout
    published = clone / "warehouse" / "published"
    assert sorted(p.name for p in published.iterdir()) == ["fulfillment", "orders"]
    # Built from a clean checkout: the record names its commit, with no uncommitted changes.
    record = json.loads((published / "fulfillment/current/publish.json").read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True)
    assert record["git_commit"] == head.stdout.strip() and record["git_dirty"] is False


def test_an_unknown_domain_or_base_fails_at_once(clone: Path) -> None:
    run = ci_domain(clone, "nope")
    assert run.returncode == 1
    assert "Unknown domain 'nope'" in run.stderr
    assert "FAILED at step 'arguments'" in run.stderr

    run = ci_domain(clone, "orders", "no-such-branch")
    assert run.returncode == 1
    assert "no-such-branch is not a commit" in run.stderr
    assert "FAILED at step 'base'" in run.stderr
    assert len(_worktrees(clone)) == 1
