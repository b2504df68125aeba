"""The named steps of a publish, in order, and a test-only pause at the end of one.

A publish of a domain (publish.py), then the mesh snapshot its build commits (snapshot.py):

    gather          the products, dbt's artifacts and the private store are gathered in
                    hidden `.<id>.partial` folders
    record          publish.json is written into the gathered folder
    rename-private  the private store is renamed into place, `private/<domain>/<id>`
    rename-folder   the publish folder is renamed into place, `published/<domain>/<id>`
    history         its line is appended to history.jsonl, ahead of the switch
    point-current   `current` is switched to it with one rename: the commit point
    snapshot        the build's mesh snapshot is written and made current (what readers see)
    prune           an old publish is renamed aside (`.<id>.pruned`), before it is removed

A stop after any step leaves every earlier publish intact and readable; what a publish that
never reached `point-current` left is not listed anywhere, and the domain's next build removes
it (publish.cleanup). tests/integration/test_crash_points.py stops a real build at each step.

MESH_TEST_PAUSE_AT=<step> is for that test only: a process that reaches the end of <step>
writes its process id to the file MESH_TEST_PAUSE_FILE names and sleeps until it is killed.
Nothing else reads these variables; unset (always, outside that test) this costs one lookup.
"""

from __future__ import annotations

import os
import time
from enum import StrEnum
from pathlib import Path

PAUSE_AT = "MESH_TEST_PAUSE_AT"
PAUSE_FILE = "MESH_TEST_PAUSE_FILE"


class Step(StrEnum):
    GATHER = "gather"
    RECORD = "record"
    RENAME_PRIVATE = "rename-private"
    RENAME_FOLDER = "rename-folder"
    HISTORY = "history"
    POINT_CURRENT = "point-current"
    SNAPSHOT = "snapshot"
    PRUNE = "prune"


def reached(step: Step) -> None:
    """The end of `step`: pause here for a test that asked to (see the module's docstring)."""
    if os.environ.get(PAUSE_AT) != step.value:
        return
    Path(os.environ[PAUSE_FILE]).write_text(str(os.getpid()))
    while True:  # until the test kills the process
        time.sleep(1)
