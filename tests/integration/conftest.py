"""Fixtures that build the real mesh, in temporary copies of the repository.

Each copy is its own mesh (the CLI finds it from the working directory), so tests never
touch the developer's warehouse. The session fixture generates small data and builds every
domain once; tests that change something work on a copy of that built mesh.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
MESH_BIN = Path(sys.executable).parent / "mesh"
SCALE = "0.05"
IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "warehouse",
    "dbt_packages",
    "target",
    "logs",
    "package-lock.yml",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "*.egg-info",
)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


def mesh(
    cwd: Path,
    *args: str,
    check: bool = True,
    today: str | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """Run the real `mesh` command in `cwd`, as a user would; with `today`, on that day for
    the rules that depend on the date (MESH_TODAY); with `env`, with those variables set."""
    extra = {**(env or {}), **({"MESH_TODAY": today} if today else {})}
    done = subprocess.run(
        [str(MESH_BIN), *args], cwd=cwd, capture_output=True, text=True, check=False,
        env={**os.environ, **extra} if extra else None,
    )  # fmt: skip
    run = Run(done.returncode, done.stdout, done.stderr)
    if check and done.returncode != 0:
        raise AssertionError(f"mesh {' '.join(args)} failed ({done.returncode}):\n{run.output}")
    return run


def copy_repo(target: Path) -> Path:
    shutil.copytree(REPO, target, ignore=IGNORED, symlinks=True)
    return target


def copy_mesh(source: Path, target: Path) -> Path:
    """A copy of a built mesh, published data included (publish links are relative)."""
    shutil.copytree(
        source,
        target,
        symlinks=True,
        ignore=shutil.ignore_patterns("dbt_packages", "build", "logs"),
    )
    return target


def _build_mesh(folder: Path) -> tuple[Path, Run]:
    root = copy_repo(folder / "mesh")
    mesh(root, "generate", "--scale", SCALE)
    return root, mesh(root, "build", "analytics", check=False)


@pytest.fixture(scope="session")
def built_mesh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """A copy of the repository with generated data and every domain built and published.

    Built with `mesh build analytics`, which must build everything analytics needs first.
    Tests only read it (a test that changes anything takes `mesh_copy`), so the workers of a
    `pytest -n` run share one build: the first to ask builds it, the others wait on a file
    lock, which saves a whole mesh build per further worker.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        root, run = _build_mesh(tmp_path_factory.mktemp("built"))
    else:
        shared = tmp_path_factory.getbasetemp().parent / "built"  # this run's, every worker's
        shared.mkdir(exist_ok=True)
        outcome = shared / "build.json"
        with (shared / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not outcome.exists():
                root, run = _build_mesh(shared)
                outcome.write_text(json.dumps({"root": str(root), **asdict(run)}))
            saved = json.loads(outcome.read_text())
            root, run = Path(saved.pop("root")), Run(**saved)
    if run.returncode != 0:
        raise AssertionError(f"mesh build analytics failed ({run.returncode}):\n{run.output}")
    return root, run


@pytest.fixture
def mesh_copy(built_mesh: tuple[Path, Run], tmp_path: Path) -> Path:
    """A private copy of the built mesh for a test that changes code or data."""
    return copy_mesh(built_mesh[0], tmp_path / "mesh")
