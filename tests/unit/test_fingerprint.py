"""What a build depends on: its code and toolchain, and when an incremental build may
continue from a publish (the exports it read are all still there, unchanged; new ones may
have been added)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.discovery.domains import discover
from mesh.pipeline import fingerprint
from mesh.pipeline.fingerprint import code_fingerprint, code_inputs, only_appended
from mesh.workspace import Mesh

BEFORE = {"warehouse/landing/orders/orders/a.parquet": "100 1"}


def test_new_exports_beside_the_old_ones_are_an_append() -> None:
    now = {**BEFORE, "warehouse/landing/orders/orders/b.parquet": "50 2"}
    assert only_appended(BEFORE, now)


def test_a_rewritten_or_removed_export_is_not() -> None:
    assert not only_appended(BEFORE, {"warehouse/landing/orders/orders/a.parquet": "100 2"})
    assert not only_appended(BEFORE, {"warehouse/landing/orders/orders/b.parquet": "100 1"})


def test_a_publish_that_recorded_no_exports_is_not() -> None:
    assert not only_appended({}, BEFORE)


def test_upgrading_the_toolchain_changes_the_code_fingerprint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mesh = Mesh(Path(__file__).resolve().parents[2])
    orders = discover(mesh)["orders"]
    before = code_fingerprint(code_inputs(mesh, orders))
    assert "dbt-core " in fingerprint.toolchain() and "duckdb " in fingerprint.toolchain()
    monkeypatch.setattr(fingerprint, "toolchain", lambda: "duckdb 99.0.0\n")
    assert code_fingerprint(code_inputs(mesh, orders)) != before
