"""Ctrl-C typed on the terminal of `mesh build` and `mesh check`: both stop within a second,
say what was interrupted and that nothing published changed, and exit 130."""

from __future__ import annotations

import os
import pty
import select
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import MESH_BIN, mesh
from tests.integration.test_plain_dbt import published_state


def _ctrl_c_on_a_terminal(
    root: Path, args: list[str], once: Callable[[bytes], bool]
) -> tuple[int, str, float]:
    """Run `mesh <args>` on a pseudo-terminal, type Ctrl-C once `once(output so far)`; its
    exit status, its output and the seconds from Ctrl-C to its exit."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: `mesh` on the pty, in a session of its own
        os.chdir(root)
        os.execv(str(MESH_BIN), [str(MESH_BIN), *args])
    output, typed = b"", None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([terminal], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        if typed is None and once(output):
            os.write(terminal, b"\x03")
            typed = time.monotonic()
    _, status = os.waitpid(pid, 0)
    stopped = time.monotonic() - (typed or time.monotonic())
    os.close(terminal)
    assert typed is not None, f"never interrupted:\n{output.decode(errors='replace')}"
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace"), stopped


def test_ctrl_c_stops_build_and_check_with_exit_130_and_nothing_published(
    mesh_copy: Path,
) -> None:
    before = published_state(mesh_copy)

    status, output, stopped = _ctrl_c_on_a_terminal(
        mesh_copy, ["build", "orders", "--only", "--full"], once=lambda out: b"building" in out
    )
    assert status == 130, output
    assert "mesh build interrupted (Ctrl-C)" in output
    assert "every published version is unchanged" in output
    assert "Traceback" not in output
    assert stopped < 1.0, f"stopped {stopped:.2f} s after Ctrl-C"

    checking = mesh_copy / "warehouse/check/orders"  # made as dbt is handed the parse
    status, output, stopped = _ctrl_c_on_a_terminal(
        mesh_copy, ["check", "orders"], once=lambda _: checking.is_dir() and any(checking.iterdir())
    )
    assert status == 130, output
    assert "mesh check interrupted (Ctrl-C): nothing was published or changed." in output
    assert "Traceback" not in output
    assert stopped < 1.0, f"stopped {stopped:.2f} s after Ctrl-C"

    assert published_state(mesh_copy) == before
    # The interrupted build left its staging folder; the next build of orders removes it.
    assert "orders: published" in mesh(mesh_copy, "build", "orders", "--only", "--full").output
    assert not any((mesh_copy / "warehouse/build/orders").iterdir())
