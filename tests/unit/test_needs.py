"""A missing tool skips a test on a developer's machine and fails it in CI."""

from __future__ import annotations

import pytest

from tests import needs


def test_a_missing_tool_skips_outside_ci_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        needs.missing("chromium is not installed")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run this test, but chromium"):
        needs.missing("chromium is not installed")
