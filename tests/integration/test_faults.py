"""Faults of the machine, not of the code: a full disk and a read-only file system under one
domain's publish folder (a real tmpfs mounted there, so the build meets the kernel's own
ENOSPC and EROFS), and a mesh whose own path holds spaces, quotes and non-ASCII characters.

A fault in one domain fails that domain with one line naming the error, where, and what to
do; the other domains build and publish; the next build after the fault is gone publishes.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import needs
from tests.integration.conftest import copy_mesh, mesh

pytestmark = pytest.mark.integration

DOMAIN = "customers"
OTHER = "catalog"  # independent of DOMAIN: its build must go on


def _mount(where: Path, options: str) -> None:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        needs.missing(f"it cannot mount a tmpfs here ({done.stderr.strip()}): needs root")


def _fill(folder: Path) -> Path:
    """Fill the file system holding `folder` to the last byte."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (1 << 20, 1 << 12, 1):
            try:
                while os.write(fd, b"\0" * chunk):
                    pass
            except OSError as error:
                assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def small_disk(mesh_copy: Path) -> Iterator[Path]:
    """DOMAIN's publish folder on its own small tmpfs, holding what it held before."""
    folder = mesh_copy / "warehouse/published" / DOMAIN
    saved = folder.with_name(f"{DOMAIN}.saved")
    folder.rename(saved)
    folder.mkdir()
    size = sum(p.stat().st_size for p in saved.rglob("*") if p.is_file())
    _mount(folder, f"size={size + (16 << 20)}")
    try:
        shutil.copytree(saved, folder, symlinks=True, dirs_exist_ok=True)
        shutil.rmtree(saved)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def _failed_line(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith(f"{DOMAIN}: FAILED")]
    return line


def test_a_full_disk_or_a_read_only_one_fails_only_its_domain(
    mesh_copy: Path, small_disk: Path
) -> None:
    current = (small_disk / "current").readlink()
    filler = _fill(small_disk)

    full = mesh(mesh_copy, "build", DOMAIN, OTHER, "--full", "--quiet", check=False)
    assert full.returncode == 1
    assert "Traceback" not in full.output
    line = _failed_line(full.output)
    assert f"the disk is full at {small_disk}/" in line and "free space on it" in line, line
    assert f"{OTHER}: published" in full.output
    assert (small_disk / "current").readlink() == current
    # What the failed publish gathered was removed at once, so the space is not lost.
    assert sorted(p.name for p in small_disk.iterdir() if p.name.startswith(".")) == []

    filler.unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    read_only = mesh(mesh_copy, "build", DOMAIN, "--full", "--quiet", check=False)
    assert read_only.returncode == 1 and "Traceback" not in read_only.output
    assert "the file system is read-only at" in _failed_line(read_only.output)

    # The fault gone (the folder back on the warehouse's own disk: a publish renames the
    # products file from the staging folder, which works within one file system only).
    saved = small_disk.with_name(f"{DOMAIN}.saved")
    shutil.copytree(small_disk, saved, symlinks=True)
    subprocess.run(["umount", str(small_disk)], check=True)
    shutil.copytree(saved, small_disk, symlinks=True, dirs_exist_ok=True)
    again = mesh(mesh_copy, "build", DOMAIN, "--full", "--quiet")
    assert f"{DOMAIN}: published" in again.stdout
    assert (small_disk / "current").readlink() != current
    print(f"\nfull disk: {line}\nread-only: {_failed_line(read_only.output)}")


def test_a_mesh_path_with_spaces_quotes_and_non_ascii_builds_and_queries(
    built_mesh: tuple[Path, object], tmp_path: Path
) -> None:
    root = copy_mesh(built_mesh[0], tmp_path / 'a mesh\'s "odd" $HOME päth ✓' / "mesh")
    run = mesh(root, "build", DOMAIN, "analytics", "--only", "--full", "--quiet")
    assert f"{DOMAIN}: published" in run.stdout and "analytics: published" in run.stdout
    record = json.loads((root / "warehouse/published/analytics/current/publish.json").read_text())
    assert (
        record["upstreams"][DOMAIN]
        == (root / f"warehouse/published/{DOMAIN}/current").readlink().name
    )
    rows = mesh(
        root,
        "query",
        "select count(*) as n from analytics.main.sales_by_region_and_category_v1",
        "--format",
        "json",
    ).json()
    assert rows[0]["n"] > 0
    assert mesh(root, "history", DOMAIN).returncode == 0
    assert "All checks passed." in mesh(root, "check", "analytics").stdout
