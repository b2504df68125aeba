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
