"""The per-domain build lock: one holder at a time, released on exit, and never written
through a symbolic link planted in its place."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from mesh.errors import DomainLockedError, MeshError
from mesh.pipeline.locks import domain_lock


def test_a_second_holder_waits_then_is_told_who_holds_it(tmp_path: Path) -> None:
    held = pytest.raises(DomainLockedError, match=r"orders is being built by process \d+")
    with domain_lock(tmp_path, "orders", timeout=0), held, domain_lock(tmp_path, "orders", 0.3):
        pass
    with domain_lock(tmp_path, "orders", timeout=0):  # released when the holder closed it
        pass
    assert stat.S_IMODE((tmp_path / "orders.lock").stat().st_mode) == 0o600


def test_a_lock_file_that_is_a_symbolic_link_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    locks = tmp_path / "locks"
    locks.mkdir()
    (locks / "orders.lock").symlink_to(target)
    refused = pytest.raises(MeshError, match=r"orders.lock is a symbolic link, which a lock")
    with refused, domain_lock(locks, "orders", timeout=0):
        pass
    assert target.read_text() == "keep me\n"
