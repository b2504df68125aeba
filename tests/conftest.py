"""Settings of the whole test suite."""

from __future__ import annotations

import signal

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Let SIGINT reach the commands the tests start. A shell starts a background job with
    SIGINT ignored, which its children inherit: the tests of Ctrl-C (the mesh's commands
    must stop and exit 130) would then send it to processes that never see it. A Python
    handler here is reset to the default in every child the tests exec."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# The longest test files (58 to 135 s of one worker on 2 cores, measured 2026-12-04), started
# first, longest first: `make test` hands whole files to its workers (pytest-xdist's loadfile,
# without its reordering by test count), and a long file started last runs alone at the end
# while the other core idles (the crash-point test did: 49 s). test_ci comes second: it needs
# no built mesh, so its worker runs while the first builds the mesh every other file shares.
# The rest follow in collection order, integration before unit tests: the many short unit
# tests fill the end. Measured within one hour on 2 cores: 10:23 and 10:48 this way, 10:59
# in xdist's order (the machine's speed varies more than that between hours: 8:58 earlier).
LONGEST_FIRST = [
    "tests/integration/test_publish_gate.py",
    "tests/integration/test_ci.py",
    "tests/integration/test_bad_input.py",
    "tests/integration/test_build.py",
    "tests/integration/test_reliability.py",
    "tests/integration/test_check.py",
    "tests/integration/test_platform.py",
    "tests/integration/test_snapshots.py",
    "tests/integration/test_crash_points.py",
    "tests/integration/test_failures.py",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest files first, then integration before unit tests (a stable sort: the order
    within a file is kept)."""

    def rank(item: pytest.Item) -> tuple[int, int]:
        path = item.nodeid.split("::", 1)[0]
        first = LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)
        return (first, 0 if "/integration/" in path else 1)

    items.sort(key=rank)
