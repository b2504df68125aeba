"""Pseudonymised personal data stays pseudonymous: nobody holding the repository can recompute
a published `email_hash`, and the mesh's key is in no file a build or a publish writes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb

from mesh.data.generate import entity_counts
from mesh.governance.pii_key import hmac_pads, key_file
from mesh.workspace import Mesh

from .conftest import REPO, SCALE, Run, mesh

GENERATOR = REPO / "scripts" / "mesh" / "data" / "generate_sql" / "10_customers.sql"


def _names(column: str) -> list[str]:
    """A name list of the data generator, read from its SQL as anyone with the repository can."""
    found = re.search(
        r"\[([^\[\]]+)\]\[1 \+ pick\(customer_id, '\w+', \d+\)\] as " + column,
        GENERATOR.read_text(),
    )
    assert found, f"the generator's {column} list was not found in {GENERATOR}"
    return re.findall(r"'([^']+)'", found.group(1))


def candidate_emails() -> Iterator[tuple[str, list[str]]]:
    """Every address the generator can write at the test scale: the normalised one, and the
    spellings it exports (upper case, padded)."""
    customers = entity_counts(float(SCALE))["n_customers"]
    for first in _names("first_name"):
        for last in _names("last_name"):
            for customer_id in range(1, customers + 1):
                normal = f"{first.lower()}.{last.lower()}{customer_id}@example.com"
                shouted = f"{first.upper()}.{last}{customer_id}@Example.COM"
                yield normal, [normal, shouted, f"  {normal} ", f"  {shouted} "]


def _hex(algorithm: str) -> Callable[[bytes], str]:
    return lambda data: hashlib.new(algorithm, data).hexdigest()


def _hmac(key: bytes) -> Callable[[bytes], str]:
    return lambda data: hmac.new(key, data, hashlib.sha256).hexdigest()


# Every hash recipe the repository reveals or suggests, applied to the normalised address.
RECIPES: dict[str, Callable[[bytes], str]] = {
    "md5 with the old salt": lambda data: hashlib.md5(b"mesh" + data).hexdigest(),
    "sha256 with the old salt": lambda data: hashlib.sha256(b"mesh" + data).hexdigest(),
    "hmac with the old salt as key": _hmac(b"mesh"),
    "hmac with an empty key": _hmac(b""),
    **{f"plain {name}": _hex(name) for name in ("md5", "sha1", "sha256", "sha512")},
}
# And to each spelling the generator exports, unnormalised.
RAW_RECIPES = {
    name: RECIPES[name] for name in ("md5 with the old salt", "plain md5", "plain sha256")
}


def published_hashes(root: Path) -> set[str]:
    """The `email_hash` values of the customers product, from its published file."""
    database = Mesh(root).published_database("customers")
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute("select distinct email_hash from customers_v1").fetchall()
    return {row[0] for row in rows if row[0] is not None}


def test_no_published_hash_can_be_recomputed_from_the_repository(
    built_mesh: tuple[Path, Run],
) -> None:
    root, _ = built_mesh
    published = published_hashes(root)
    assert len(published) > 100 and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in published)
    key = bytes.fromhex(key_file(Mesh(root)).read_text())
    matched: dict[str, int] = dict.fromkeys([*RECIPES, "hmac with the mesh key"], 0)
    for normal, spellings in candidate_emails():
        data = normal.encode()
        for name, recipe in RECIPES.items():
            matched[name] += recipe(data) in published
        for name, recipe in RAW_RECIPES.items():
            matched[name] += sum(
                recipe(spelling.encode()) in published for spelling in spellings[1:]
            )
        matched["hmac with the mesh key"] += (
            hmac.new(key, data, hashlib.sha256).hexdigest() in published
        )
    # With the key every published hash is found; with the repository alone, none.
    assert matched.pop("hmac with the mesh key") == len(published)
    assert matched == dict.fromkeys(RECIPES, 0)


def forms_of(key: bytes) -> list[bytes]:
    """The key as it could appear in a file: hex (both cases), base64, raw, HMAC's pads."""
    return [
        key.hex().encode(),
        key.hex().upper().encode(),
        base64.b64encode(key),
        key,
        *hmac_pads(key),
    ]


def test_the_key_is_in_no_file_a_build_writes(
    built_mesh: tuple[Path, Run], mesh_copy: Path
) -> None:
    """Published databases, Parquet, contracts, manifests, run results, the parse cache and
    the catalog; and the staging folder a failed build of customers keeps (dbt's log, its
    compiled SQL and run results)."""
    (mesh_copy / "domains" / "customers" / "tests").mkdir(exist_ok=True)
    (mesh_copy / "domains" / "customers" / "tests" / "always_fails.sql").write_text(
        "select 1 as failure\n"
    )
    failed = mesh(mesh_copy, "build", "customers", "--only", "--full", check=False)
    assert failed.returncode != 0 and "always_fails" in failed.output
    mesh(mesh_copy, "catalog")
    secret = key_file(Mesh(mesh_copy))
    key = bytes.fromhex(secret.read_text())
    files = [
        path for path in (mesh_copy / "warehouse").rglob("*") if path.is_file() and path != secret
    ]
    kinds = {path.name for path in files} | {path.suffix for path in files}
    staged = list((mesh_copy / "warehouse" / "build" / "customers").rglob("*"))
    assert {".duckdb", ".parquet", ".yaml", "manifest.json", "run_results.json", ".html"} <= kinds
    assert any(p.name == "dbt.log" for p in staged) and any(p.suffix == ".sql" for p in staged)
    forms = forms_of(key)
    holding = [str(path) for path in files if any(form in path.read_bytes() for form in forms)]
    assert holding == []
