"""The `mesh` command as a new user meets it: versions, and a mesh with nothing published."""

from __future__ import annotations

import itertools
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from mesh import __version__
from mesh.cli import app as cli

MESH = Path(sys.executable).parent / "mesh"


def test_version_prints_the_mesh_and_the_dbt_toolchain(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(MESH), "--version"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"mesh {__version__}"
    for package in ("dbt-core", "dbt-duckdb", "dbt-loom", "duckdb"):
        assert f"{package} {metadata.version(package)}" in lines


def test_products_of_a_mesh_with_nothing_published_says_how_to_publish(tmp_path: Path) -> None:
    (tmp_path / "domains").mkdir()
    (tmp_path / "profiles.yml").write_text("mesh: {}\n")
    done = subprocess.run(
        [str(MESH), "products"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "Nothing is published yet: `mesh build` builds and publishes every domain."
    )


def _help(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setattr(sys, "argv", ["mesh", *argv, "--help"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_help_reads_as_sentences_without_python_types(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    overview = _help([], monkeypatch, capsys)
    # Each command's summary reads on as one paragraph, not broken where its docstring wraps:
    # a line that an entry continues after is filled.
    panel = [line for line in overview.splitlines() if line.startswith("│ ")]
    for line, following in itertools.pairwise(panel):
        if not following[1:14].strip():
            assert len(line[1:-1].rstrip()) > 80, f"broken short: {line}"
    commands = [line.split()[1] for line in panel if line[2] != " " and line[2] != "-"]
    assert {"build", "query", "check", "new-domain"} <= set(commands)
    for name in commands:
        text = _help([name], monkeypatch, capsys)
        for label in ("<bool>", "<str>", "<int>", "<float>", "<list[", "<datetime>"):
            assert label not in text, f"mesh {name} --help shows {label}"
    build = _help(["build"], monkeypatch, capsys)
    assert "--jobs" in build and " N " in build
    assert '"Team Name <team@example.com>"' in _help(["new-domain"], monkeypatch, capsys)
