"""Ctrl-C typed on a pseudo-terminal: the way a user stops a `mesh` command."""

from __future__ import annotations

import os
import pty
import select
import time
from collections.abc import Callable
from pathlib import Path


def ctrl_c_on_a_terminal(
    mesh_bin: Path, root: Path, args: list[str], once: Callable[[bytes], bool]
) -> tuple[int, str, float]:
    """Run `mesh <args>` on a pseudo-terminal, type Ctrl-C once `once(output so far)`; its
    exit status, its output and the seconds from Ctrl-C to its exit."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: `mesh` on the pty, in a session of its own
        os.chdir(root)
        os.execv(str(mesh_bin), [str(mesh_bin), *args])
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
