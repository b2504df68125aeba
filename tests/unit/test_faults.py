"""The one line a domain fails with when the machine fails it: what, where, what to do."""

from __future__ import annotations

import errno
import os

import pytest

from mesh.errors import MeshError
from mesh.pipeline.build import _problem


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (errno.ENOSPC, "the disk is full at /w/published/x/.1.partial; free space on it"),
        (errno.EACCES, "permission denied at /w/published/x/.1.partial; give the user"),
        (errno.EPERM, "permission denied at /w/published/x/.1.partial; give the user"),
        (errno.EROFS, "the file system is read-only at /w/published/x/.1.partial; make it"),
        (errno.EIO, "Input/output error at /w/published/x/.1.partial; fix that"),
    ],
)
def test_an_os_error_is_named_with_where_it_was_going(code: int, says: str) -> None:
    error = OSError(
        code, os.strerror(code), "/w/build/x/1/x.duckdb", None, "/w/published/x/.1.partial"
    )
    line = _problem(error, "it could not be published")
    assert line.startswith(f"it could not be published: {says}")
    assert "\n" not in line


def test_a_mesh_error_is_its_own_line() -> None:
    assert _problem(MeshError("orders is locked."), "it could not be published") == (
        "orders is locked."
    )
