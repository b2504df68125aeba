"""A tool a test needs: skipped on a developer's machine without it, a failure in CI.

CI (`.ci/run`, with CI=true) installs every tool the suite uses, so a green CI run has run
every test: a missing browser, actionlint or tmpfs there is a broken CI, not a reason to skip.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


def missing(what: str, allow_module_level: bool = False) -> NoReturn:
    """Skip the test (or module) for want of `what`; in CI, fail it."""
    if in_ci():
        pytest.fail(f"CI must run this test, but {what}", pytrace=False)
    pytest.skip(what, allow_module_level=allow_module_level)
