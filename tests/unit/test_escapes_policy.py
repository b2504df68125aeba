"""The policy dbt_code_stays_in_its_database on a domain's files: what it refuses, what it
lets through, and the mesh-level file that allows a kind for one domain."""

from __future__ import annotations

from pathlib import Path

from mesh.governance.rules.dbt_code_stays_in_its_database import escapes, refused

REPO = Path(__file__).resolve().parents[2]


def domain(root: Path, files: dict[str, str]) -> Path:
    path = root / "domains" / "orders"
    for name, text in {"dbt_project.yml": "name: orders\n", **files}.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return path


def test_every_kind_of_escape_is_found_where_it_is_written(tmp_path: Path) -> None:
    path = domain(
        tmp_path,
        {
            "dbt_project.yml": "on-run-end:\n  - \"attach '/x/customers.duckdb' as c\"\n",
            "macros/audit.sql": "{% do run_query(\"COPY (select 1) TO '/tmp/x.csv'\") %}",
            "macros/load.sql": "{% call statement('x') %}install httpfs; load httpfs{% endcall %}",
            "models/marts/orders.sql": '{{ config(pre_hook="set threads = 64") }} select 1',
            "models/marts/export.sql": "{% do run_query('export database \\'/x\\'') %} select 1",
            "models/score.py": "def model(dbt, session):\n    return None\n",
            "tests/pragma.sql": "pragma enable_profiling; select 1 where false",
        },
    )
    found = sorted((kind, file) for kind, file, _ in escapes(path))
    assert found == [
        ("attach", "dbt_project.yml"),
        ("extensions", "macros/load.sql"),
        ("files", "macros/audit.sql"),
        ("files", "models/marts/export.sql"),
        ("python_models", "models/score.py"),
        ("settings", "models/marts/orders.sql"),
        ("settings", "tests/pragma.sql"),
    ]


def test_ordinary_sql_and_jinja_are_not_escapes(tmp_path: Path) -> None:
    path = domain(
        tmp_path,
        {
            "models/marts/orders.sql": (
                "-- attach nothing, copy nothing to anywhere\n"
                "{# set threads = 1 #}\n"
                "{%- set kept = column.copy() -%}\n"
                "select order_id, 'loading dock' as note, copy_count from {{ ref('stg') }}\n"
            ),
            "macros/update.sql": "update t set x = 1 where y = 2",
            "dbt_packages/shared_macros/macros/x.sql": "attach 'anything'",  # the platform's
        },
    )
    assert list(escapes(path)) == []


def test_only_the_mesh_level_file_allows_a_kind_and_only_for_the_named_domain(
    tmp_path: Path,
) -> None:
    path = domain(tmp_path, {"models/score.py": "def model(dbt, session): ...\n"})
    (refusal,) = refused("orders", path, tmp_path)
    assert refusal[1:] == (
        "models/score.py",
        "models/score.py is a Python model; the mesh does not allow orders python_models.",
    )
    (tmp_path / "allowed_escapes.yml").write_text("customers: [python_models]\n")
    assert len(refused("orders", path, tmp_path)) == 1
    (tmp_path / "allowed_escapes.yml").write_text("orders: [python_models]\n")
    assert refused("orders", path, tmp_path) == []


def test_the_mesh_s_own_domains_pass() -> None:
    for path in sorted((REPO / "domains").iterdir()):
        assert refused(path.name, path, REPO) == [], path.name
