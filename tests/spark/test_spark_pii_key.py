"""The PII key on Spark: handed to the customers build as a session setting, it is in no file
the Spark builds wrote (tables, metastore, Spark's log, published manifests and run results).
That both engines hash alike is test_spark.py's comparison of customers' rows."""

from __future__ import annotations

from pathlib import Path

from mesh.governance.pii_key import key_file
from mesh.workspace import Mesh
from tests.integration.conftest import Run
from tests.integration.test_pii_key import forms_of


def test_the_key_is_in_no_file_of_the_spark_builds(both_engines: tuple[Path, Run]) -> None:
    root, _ = both_engines
    secret = key_file(Mesh(root))
    forms = forms_of(bytes.fromhex(secret.read_text()))
    files = [p for p in (root / "warehouse").rglob("*") if p.is_file() and p != secret]
    assert any(p.name == "spark.log" for p in files)
    assert any("metastore_db" in p.parts for p in files)
    holding = [str(path) for path in files if any(form in path.read_bytes() for form in forms)]
    assert holding == []
