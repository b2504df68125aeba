"""The mesh's PII key and the keyed hash made with it: the SQL shared_macros.hash_pii compiles
to on DuckDB is HMAC-SHA-256 as Python computes it; the key file is private, made once
however many builds start at the same time, and a bad one is one clear error."""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import stat
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import pytest

from mesh.discovery.domains import discover
from mesh.engines.duckdb.dbt_plugin import Plugin
from mesh.governance import pii_key
from mesh.governance.pii_key import ENV, PiiKeyError, key_file, load, owns_pii
from mesh.pipeline.fingerprint import code_fingerprint, code_inputs
from mesh.workspace import Mesh

from .conftest import add_domain, make_mesh

REPO = Path(__file__).resolve().parents[2]
MACRO = REPO / "shared_macros" / "macros" / "sql" / "hash_pii.sql"
KEY = bytes(range(32))


def duckdb_hash_pii(column: str) -> str:
    """What `shared_macros.hash_pii(column)` compiles to on DuckDB (its Jinja, rendered)."""
    source = MACRO.read_text()
    templates = jinja2.Environment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])
    macros = templates.from_string(source).make_module({"shared_macros": None})
    module: Any = templates.from_string(source).make_module({"shared_macros": macros})
    return str(module.duckdb__hash_pii(column))


def hash_in_duckdb(connection: duckdb.DuckDBPyConnection, value: str | None) -> str | None:
    row = connection.execute(f"select {duckdb_hash_pii('$1::varchar')}", [value]).fetchone()
    assert row is not None
    return row[0] if row[0] is None else str(row[0])


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection as dbt opens it in a build handed KEY (through the mesh plugin)."""
    monkeypatch.setenv(ENV, KEY.hex())
    connection = duckdb.connect()
    plugin = Plugin("dbt_plugin", {})
    plugin.configure_connection(connection)
    cursor = connection.cursor()
    plugin.configure_cursor(cursor)
    return cursor


@pytest.mark.parametrize(
    "value", ["ada.lopez1@example.com", "  ADA.Lopez1@Example.COM ", "", "zoë.żółć@bücher.de"]
)
def test_the_sql_hash_is_hmac_sha256_of_the_normalised_value(
    keyed: duckdb.DuckDBPyConnection, value: str
) -> None:
    expected = hmac.new(KEY, value.strip().lower().encode(), hashlib.sha256).hexdigest()
    assert hash_in_duckdb(keyed, value) == expected
    assert len(expected) == 64


def test_a_null_stays_null(keyed: duckdb.DuckDBPyConnection) -> None:
    assert hash_in_duckdb(keyed, None) is None


def test_the_compiled_sql_holds_no_key(keyed: duckdb.DuckDBPyConnection) -> None:
    sql = duckdb_hash_pii("email")
    assert KEY.hex() not in sql.lower() and "getvariable('mesh_pii_ipad')" in sql


def test_without_the_key_hashing_is_an_error_naming_the_macro(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV, "")  # what every build of a domain without PII gets
    connection = duckdb.connect()
    Plugin("dbt_plugin", {}).configure_connection(connection)
    with pytest.raises(duckdb.Error, match=r"shared_macros\.hash_pii: this build has no PII key"):
        hash_in_duckdb(connection, "ada@example.com")
    assert hash_in_duckdb(connection, None) is None


def test_the_key_file_is_created_owner_only_and_kept(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path)
    first = load(mesh, environ={})
    path = key_file(mesh)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(first.secret) == 32 and path.read_text().strip() == first.secret.hex()
    assert load(mesh, environ={}).secret == first.secret
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    assert first.secret.hex() not in repr(first)


def _load_key(root: str) -> str:
    return load(Mesh(Path(root)), environ={}).secret.hex()


def test_builds_starting_together_make_one_key(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path)
    with multiprocessing.get_context("fork").Pool(8) as pool:
        keys = pool.map(_load_key, [str(mesh.root)] * 32)
    assert len(set(keys)) == 1
    assert key_file(mesh).read_text().strip() == keys[0]


def test_the_environment_variable_is_used_instead_of_a_file(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path)
    assert load(mesh, environ={ENV: KEY.hex().upper()}).secret == KEY
    assert not key_file(mesh).exists()


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        ("", 0o600, r"is empty or not a key: it must be at least 64 hexadecimal digits"),
        ("not hex at all\n", 0o600, r"is empty or not a key"),
        ("abcd\n", 0o600, r"is empty or not a key"),
        (KEY.hex(), 0o644, r"can be read by others \(mode 0644\): .*chmod 600"),
    ],
)
def test_a_bad_key_file_is_one_clear_error(
    tmp_path: Path, content: str, mode: int, message: str
) -> None:
    mesh = make_mesh(tmp_path)
    path = key_file(mesh)
    path.parent.mkdir(mode=0o700, parents=True)
    path.write_text(content)
    path.chmod(mode)
    with pytest.raises(PiiKeyError, match=message) as error:
        load(mesh, environ={})
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_a_bad_environment_key_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PiiKeyError, match=f"the environment variable {ENV} is empty or not a key"):
        load(make_mesh(tmp_path), environ={ENV: "secret"})


def test_only_domains_that_tag_pii_own_it() -> None:
    domains = discover(Mesh(REPO))
    assert {name for name, domain in domains.items() if owns_pii(domain)} == {"customers"}


def test_pii_tagged_in_a_source_or_by_meta_counts(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path)
    path = add_domain(mesh, "crm", sources={"crm": ["people"]})
    sources = path / "models" / "staging" / "_sources.yml"
    assert not owns_pii(discover(mesh)["crm"])
    sources.write_text(
        "sources:\n  - name: crm\n    tables:\n      - name: people\n        columns:\n"
        "          - name: phone\n            meta: {pii: true}\n"
    )
    assert owns_pii(discover(mesh)["crm"])


def test_only_builds_of_pii_domains_are_handed_the_key(tmp_path: Path) -> None:
    mesh = make_mesh(tmp_path)
    add_domain(mesh, "orders")
    assert pii_key.for_build(mesh, discover(mesh)["orders"]) is None
    assert pii_key.build_env(None) == {ENV: ""}
    assert not key_file(mesh).exists()


def test_a_new_key_changes_the_code_fingerprint_which_never_holds_it() -> None:
    mesh = Mesh(REPO)
    customers = discover(mesh)["customers"]
    one, other = pii_key.PiiKey(KEY, "test"), pii_key.PiiKey(bytes(32), "test")
    assert code_fingerprint(code_inputs(mesh, customers, pii_key=one.fingerprint)) != (
        code_fingerprint(code_inputs(mesh, customers, pii_key=other.fingerprint))
    )
    assert KEY.hex() not in one.fingerprint
