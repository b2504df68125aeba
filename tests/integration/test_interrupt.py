"""Ctrl-C typed on the terminal of `mesh build` and `mesh check`: both stop within a second,
say what was interrupted and that nothing published changed, and exit 130. (`mesh query`:
tests/unit/test_query_limits.py.)"""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.conftest import MESH_BIN, mesh
from tests.integration.test_plain_dbt import published_state
from tests.terminal import ctrl_c_on_a_terminal


def _plain(output: bytes) -> bytes:
    """Terminal output without its colours and cursor moves."""
    return re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", output)


def test_ctrl_c_stops_build_and_check_with_exit_130_and_nothing_published(
    mesh_copy: Path,
) -> None:
    before = published_state(mesh_copy)

    status, output, stopped = ctrl_c_on_a_terminal(
        MESH_BIN,
        mesh_copy,
        ["build", "orders", "--only", "--full"],
        once=lambda out: b"building" in out,
    )
    assert status == 130, output
    assert "mesh build interrupted (Ctrl-C)" in output
    assert "every published version is unchanged" in output
    assert "Traceback" not in output
    assert stopped < 1.0, f"stopped {stopped:.2f} s after Ctrl-C"

    # The live display names the domain being parsed, its clock moving before dbt is done.
    status, output, stopped = ctrl_c_on_a_terminal(
        MESH_BIN,
        mesh_copy,
        ["check", "orders"],
        once=lambda out: re.search(rb"orders +parsing +[1-9]\d*\.\d s", _plain(out)) is not None,
    )
    assert status == 130, output
    assert "mesh check interrupted (Ctrl-C): nothing was published or changed." in output
    assert "Traceback" not in output
    assert stopped < 1.0, f"stopped {stopped:.2f} s after Ctrl-C"

    assert published_state(mesh_copy) == before
    # The interrupted build left its staging folder; the next build of orders removes it.
    assert "orders: published" in mesh(mesh_copy, "build", "orders", "--only", "--full").output
    assert not any((mesh_copy / "warehouse/build/orders").iterdir())
