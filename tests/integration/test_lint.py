"""SQL style: every domain's models lint clean with the repository's .sqlfluff, violations
are reported with domain, file, line and rule, `fix` repairs them, and a model sqlfluff cannot
render is a clear error, not a traceback. Each test lints a temporary copy of the repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from mesh.discovery.domains import discover
from mesh.governance import Progress, quiet
from mesh.governance.lint import (
    DBT_MACROS,
    SHARED_MACROS,
    DbtMacros,
    LintError,
    LintResult,
    SharedMacros,
    as_dict,
    as_lines,
    lint,
)
from mesh.workspace import Mesh
from tests.integration.conftest import REPO, copy_repo, mesh

pytestmark = pytest.mark.integration

DOMAINS = ["analytics", "catalog", "customers", "fulfillment", "orders"]
PROBE = "models/marts/style_probe.sql"
# An upper-case keyword on line 2 and a column indented by 6 spaces instead of 8 on line 8.
BADLY_STYLED = """\
with orders as (
    SELECT * from {{ ref('int_orders_totaled') }}
),

final as (
    select
        order_id,
      customer_id
    from orders
)

select * from final
"""
WELL_STYLED = BADLY_STYLED.replace("SELECT", "select").replace(
    "      customer_id", "  " * 4 + "customer_id"
)

# One call of each macro lint stands in for, with arguments like those our models pass.
MACRO_CALLS = [
    "dbt.cast('amount', 'decimal(18, 2)')",
    "dbt.type_string()",
    "dbt.type_bigint()",
    "dbt.type_int()",
    "dbt.type_boolean()",
    "dbt.type_timestamp()",
    "dbt.date_trunc('day', 'ordered_at')",
    "dbt.datediff('ordered_at', 'delivered_at', 'hour')",
    "shared_macros.money('amount')",
    "shared_macros.normalize_text('status')",
    "shared_macros.hash_pii('email')",
    "shared_macros.only_new_exports()",
    "shared_macros.is_new_export('versions.exported_at')",
    "shared_macros.touched_keys('order_id', ['orders', 'payments'])",
    "shared_macros.latest_per_key('renamed', 'order_id, order_status', 'exported_at')",
    "shared_macros.calendar_days('2024-02-27', '2024-03-01')",
]
PROBE_PROJECT = {
    "dbt_project.yml": "name: probe\nversion: '1.0'\nconfig-version: 2\nprofile: probe\n",
    "profiles.yml": "probe:\n  target: dev\n  outputs:\n    dev:\n"
    "      type: duckdb\n      path: ':memory:'\n      threads: 1\n",
    "packages.yml": f"packages:\n  - local: {REPO / 'shared_macros'}\n",
}


def lint_all(root: Path, progress: Progress = quiet) -> list[LintResult]:
    return lint(Mesh(root), list(discover(Mesh(root)).values()), progress=progress)


def lint_one(root: Path, domain: str, fix: bool = False) -> LintResult:
    (result,) = lint(Mesh(root), [discover(Mesh(root))[domain]], fix=fix)
    return result


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "mesh")


def test_every_domain_lints_clean(repo: Path) -> None:
    steps: list[tuple[str, str, bool]] = []
    results = lint_all(repo, progress=lambda *step: steps.append(step))
    for domain in DOMAINS:  # what `mesh lint` shows for each domain as it goes
        mine = [(what, finished) for name, what, finished in steps if name == domain]
        assert mine == [("queued", False), ("linting", False), ("clean", True)]
    assert [r.domain for r in results] == DOMAINS
    for result in results:
        assert result.files > 0, result.domain
        assert result.violations == [], "\n".join(as_lines([result]))
    assert as_lines(results)[-1] == f"5 domains, {sum(r.files for r in results)} files: all clean."


def test_a_violation_is_reported_with_domain_file_line_and_rule(repo: Path) -> None:
    (repo / "domains/orders" / PROBE).write_text(BADLY_STYLED)
    result = lint_one(repo, "orders")
    found = {(v.domain, v.path, v.line, v.code) for v in result.violations}
    assert found == {("orders", PROBE, 2, "CP01"), ("orders", PROBE, 8, "LT02")}
    assert not result.ok
    (report,) = as_dict([result])
    assert {"path": PROBE, "line": 2, "code": "CP01"}.items() <= report["violations"][0].items()
    lines = as_lines([result])
    assert any(line.startswith(f"  {PROBE}:8 LT02 ") for line in lines)
    assert lines[-1].endswith("2 violations.")


def test_fix_repairs_the_style(repo: Path) -> None:
    probe = repo / "domains/orders" / PROBE
    probe.write_text(BADLY_STYLED)
    result = lint_one(repo, "orders", fix=True)
    assert result.ok, "\n".join(as_lines([result]))
    assert probe.read_text() == WELL_STYLED
    assert lint_one(repo, "orders").ok


def test_only_the_given_domains_are_linted_in_the_given_order(repo: Path) -> None:
    found = discover(Mesh(repo))
    results = lint(Mesh(repo), [found["orders"], found["customers"]])
    assert [r.domain for r in results] == ["orders", "customers"]
    assert lint(Mesh(repo), []) == []


def test_a_model_that_cannot_be_templated_is_an_error_naming_domain_and_file(
    repo: Path,
) -> None:
    (repo / "domains/catalog/models/marts/broken.sql").write_text(
        "select\n    {{ dbt.no_such_macro('product_id') }} as product_id\nfrom products\n"
    )
    with pytest.raises(LintError) as error:
        lint_one(repo, "catalog")
    message = str(error.value)
    assert "catalog/models/marts/broken.sql:" in message
    assert "no_such_macro" in message
    assert "add the macro there" in message
    assert "Traceback" not in message


def test_a_sqlfluff_crash_is_an_error_naming_the_domains(repo: Path) -> None:
    config = repo / ".sqlfluff"
    config.write_text(config.read_text().replace("dialect = duckdb", "dialect = no_such_dialect"))
    with pytest.raises(LintError) as error:
        lint(Mesh(repo), list(discover(Mesh(repo)).values())[:2])
    message = str(error.value)
    for domain in DOMAINS[:2]:
        assert f"sqlfluff cannot lint {domain} at all" in message
    assert "Unknown dialect" in message
    assert "Traceback" not in message


def test_a_new_domain_from_the_template_lints_clean(repo: Path) -> None:
    mesh(
        repo, "new-domain", "returns", "--owner", "Returns <r@shop.example>", "--consumes", "orders"
    )
    result = lint_one(repo, "returns")
    assert result.files > 0
    assert result.ok, "\n".join(as_lines([result]))


def test_a_model_too_large_to_lint_is_an_error_not_a_silent_skip(repo: Path) -> None:
    columns = ",\n".join(f"        order_id + {i} as c{i}" for i in range(900))
    (repo / "domains/orders/models/marts/huge.sql").write_text(
        f"with orders as (\n    select * from {{{{ ref('int_orders_totaled') }}}}\n),\n\n"
        f"final as (\n    select\n{columns}\n    from orders\n)\n\nselect * from final\n"
    )
    with pytest.raises(LintError, match=r"sqlfluff failed on orders: .*models/marts/huge\.sql"):
        lint_one(repo, "orders")


def _normalised(sql: str) -> str:
    return re.sub(r"\s*([()])\s*", r"\1", " ".join(sql.split()))


def test_lint_renders_each_macro_as_dbt_compiles_it(tmp_path: Path) -> None:
    stand_ins = {
        f"{namespace}.{name}"
        for namespace, macros in (("dbt", DbtMacros), ("shared_macros", SharedMacros))
        for name in vars(macros)
        if not name.startswith("_")
    }
    assert {call.split("(")[0] for call in MACRO_CALLS} == stand_ins
    project = tmp_path / "probe"
    (project / "models").mkdir(parents=True)
    (project / "dbt_packages").mkdir()
    (project / "dbt_packages" / "shared_macros").symlink_to(REPO / "shared_macros")
    for name, text in PROBE_PROJECT.items():
        (project / name).write_text(text)
    calls = dict(enumerate(MACRO_CALLS))
    for number, call in calls.items():  # the comment keeps a model that renders nothing
        (project / "models" / f"call_{number}.sql").write_text(f"-- {call}\n{{{{ {call} }}}}")
    env = {key: value for key, value in os.environ.items() if not key.startswith("MESH_")}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "compile", "--quiet"],
        cwd=project,
        env={**env, "DBT_PROFILES_DIR": str(project), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    templates = jinja2.Environment(undefined=jinja2.StrictUndefined)
    differ = []
    for number, call in calls.items():
        compiled = project / "target/compiled/probe/models" / f"call_{number}.sql"
        real = compiled.read_text().split("\n", 1)[1]
        ours = templates.from_string(f"{{{{ {call} }}}}").render(
            dbt=DBT_MACROS, shared_macros=SHARED_MACROS
        )
        if _normalised(real) != _normalised(ours):
            differ.append(f"{call}: dbt compiles {real!r}, lint renders {ours!r}")
    assert not differ, "lint renders macros unlike dbt (scripts/mesh/governance/lint.py): " + (
        "; ".join(differ)
    )
