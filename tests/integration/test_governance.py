"""Mesh-wide promises checked against the built products."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.integration.conftest import Run, mesh

pytestmark = pytest.mark.integration

PII_COLUMNS = ["first_name", "last_name", "email", "phone", "street_address"]


def _clear_pii_values(root: Path) -> set[str]:
    exports = str(root / "warehouse/landing/customers/customers/*.parquet")
    rows = duckdb.sql(
        f"select {', '.join(PII_COLUMNS)} from read_parquet(?)", params=[exports]
    ).fetchall()
    return {value.strip().lower() for row in rows for value in row if value and value.strip()}


def test_no_public_product_holds_pii_in_clear(built_mesh: tuple[Path, Run]) -> None:
    root, _ = built_mesh
    clear = _clear_pii_values(root)
    # Emails, phones and street addresses are unique enough to find anywhere they leak.
    distinctive = {
        value for value in clear if "@" in value or value.startswith("+") or value[:1].isdigit()
    }
    assert len(distinctive) > 100
    for product in mesh(root, "products", "--format", "json").json():
        text_columns = [c["name"] for c in product["columns"] if c["data_type"] == "varchar"]
        if not text_columns:
            continue
        selects = " union all ".join(
            f"select lower(trim({column})) as value from {product['relation']}"
            for column in text_columns
        )
        values = {row["value"] for row in mesh(root, "query", selects, "--format", "json").json()}
        leaked = values & distinctive
        assert not leaked, f"{product['relation']} exposes PII: {sorted(leaked)[:3]}"


def test_pii_columns_are_tagged_where_they_enter(built_mesh: tuple[Path, Run]) -> None:
    import json

    root, _ = built_mesh
    manifest = json.loads(
        (root / "warehouse/published/customers/current/manifest.json").read_text()
    )
    staging = manifest["nodes"]["model.customers.stg_crm__customers"]
    tagged = {name for name, column in staging["columns"].items() if "pii" in column["tags"]}
    assert tagged == set(PII_COLUMNS)
