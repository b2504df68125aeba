"""Landing integrity on a real build: dbt reads exactly the export files the landing checks
passed, by name; anything else stops the domain before dbt runs, naming the file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from mesh.data.landing import delivered, write_delivery
from tests.integration.conftest import mesh

pytestmark = pytest.mark.integration


def test_a_glob_named_export_is_refused_and_a_good_build_still_publishes(mesh_copy: Path) -> None:
    landing = mesh_copy / "warehouse/landing/customers"
    current = (mesh_copy / "warehouse/published/customers/current").resolve()
    (good,) = (landing / "customers").iterdir()
    # Delivered with its manifest, as an export job would: without the column `email`.
    bad = landing / "customers" / "2099-01-01[T].parquet"
    duckdb.sql(
        f"copy (select * exclude (email) from read_parquet('{good}')) to '{bad}' (format parquet)"
    )
    ((rows,),) = duckdb.sql(f"select count(*) from read_parquet('{good}')").fetchall()
    write_delivery(landing, "2099-01-01", [delivered(bad, rows)])

    run = mesh(mesh_copy, "build", "customers", "--only", "--quiet", check=False)

    assert run.returncode == 1
    assert "customers: FAILED" in run.output
    assert (
        "warehouse/landing/customers/customers/2099-01-01[T].parquet: name "
        "'2099-01-01[T].parquet' is not an export file name" in run.output
    )
    assert "Traceback" not in run.output
    assert (mesh_copy / "warehouse/published/customers/current").resolve() == current

    # A flipped bit in a data page, size kept: refused by the manifest's sha256.
    bad.unlink()
    (landing / "_deliveries" / "2099-01-01.json").unlink()
    original = good.read_bytes()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0x04
    good.write_bytes(bytes(flipped))

    run = mesh(mesh_copy, "build", "customers", "--only", "--quiet", check=False)

    assert run.returncode == 1
    assert f"{good.relative_to(mesh_copy)}: its content differs from its delivery manifest" in (
        run.output
    )
    assert (mesh_copy / "warehouse/published/customers/current").resolve() == current

    # The delivered files again: dbt reads them by name and the build publishes.
    good.write_bytes(original)
    run = mesh(mesh_copy, "build", "customers", "--only", "--full", "--quiet")

    assert "customers: published" in run.stdout
    assert (mesh_copy / "warehouse/published/customers/current").resolve() != current
