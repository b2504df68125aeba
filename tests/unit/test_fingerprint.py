"""When an incremental build may continue from a publish: the exports it read are all
still there, unchanged; new ones may have been added."""

from __future__ import annotations

from mesh.fingerprint import only_appended

BEFORE = {"warehouse/landing/orders/orders/a.parquet": "100 1"}


def test_new_exports_beside_the_old_ones_are_an_append() -> None:
    now = {**BEFORE, "warehouse/landing/orders/orders/b.parquet": "50 2"}
    assert only_appended(BEFORE, now)


def test_a_rewritten_or_removed_export_is_not() -> None:
    assert not only_appended(BEFORE, {"warehouse/landing/orders/orders/a.parquet": "100 2"})
    assert not only_appended(BEFORE, {"warehouse/landing/orders/orders/b.parquet": "100 1"})


def test_a_publish_that_recorded_no_exports_is_not() -> None:
    assert not only_appended({}, BEFORE)
