"""`python -m mesh.runner.confined`: a tool that runs a domain's code in its own process
(sqlfluff, for `mesh lint`) runs in the build sandbox, writing only the folders it is given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mesh.runner import confined


def _run(args: list[str], write: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        confined.command(args, write),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )


def test_a_confined_command_writes_only_the_folders_it_is_given(tmp_path: Path) -> None:
    allowed, other = tmp_path / "models", tmp_path / "elsewhere"
    allowed.mkdir()
    other.mkdir()
    script = (
        "import pathlib, sys\n"
        "for folder in sys.argv[1:]:\n"
        "    try:\n"
        "        (pathlib.Path(folder) / 'x.sql').write_text('select 1')\n"
        "        print(folder, 'written')\n"
        "    except OSError as error:\n"
        "        print(folder, error.strerror)\n"
    )
    done = _run([sys.executable, "-c", script, str(allowed), str(other)], [str(allowed)])
    assert done.returncode == 0, done.stderr
    assert f"{allowed} written" in done.stdout
    assert f"{other} Read-only file system" in done.stdout
    assert (allowed / "x.sql").exists()
    assert not (other / "x.sql").exists()


def test_a_confined_command_has_no_network() -> None:
    script = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 9), timeout=2)\n"
        "except OSError as error:\n"
        "    print(error.strerror)\n"
    )
    done = _run([sys.executable, "-c", script], [])
    assert done.returncode == 0, done.stderr
    assert "Network is unreachable" in done.stdout


def test_the_switch_off_runs_the_command_unconfined(tmp_path: Path) -> None:
    script = f"open({str(tmp_path / 'x')!r}, 'w').write('1')"
    done = _run([sys.executable, "-c", script], [], MESH_SANDBOX="off")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x").exists()


def test_a_malformed_command_line_prints_the_usage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mesh.runner.confined", "--write"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("usage: python -m mesh.runner.confined")
