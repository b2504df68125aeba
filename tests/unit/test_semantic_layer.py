"""A semantic manifest that is not dbt's (a hostile build's, or garbage) is refused in one line."""

from __future__ import annotations

import pytest

from mesh.metrics.layer import MetricsError, _load


@pytest.mark.parametrize("text", ['{"semantic_models": [1, 2', '{"semantic_models": [1, 2]}', "[]"])
def test_a_file_that_is_not_a_semantic_manifest_is_refused_in_one_line(text: str) -> None:
    with pytest.raises(MetricsError) as refused:
        _load("analytics", text, "published/analytics/x/semantic_manifest.json")
    message = str(refused.value)
    assert message.startswith(
        "published/analytics/x/semantic_manifest.json is not a semantic manifest dbt wrote: "
    )
    assert "\n" not in message and len(message) < 600
