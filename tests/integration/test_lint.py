"""SQL style: every domain's models lint clean with the repository's .sqlfluff, violations
are reported with domain, file, line and rule, `fix` repairs them, and a model sqlfluff cannot
render is a clear error, not a traceback. Each test lints a temporary copy of the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.discovery.domains import discover
from mesh.governance.lint import LintError, LintResult, as_dict, as_lines, lint
from mesh.workspace import Mesh
from tests.integration.conftest import copy_repo, mesh

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


def lint_all(root: Path, fix: bool = False) -> list[LintResult]:
    return lint(Mesh(root), list(discover(Mesh(root)).values()), fix=fix)


def lint_one(root: Path, domain: str, fix: bool = False) -> LintResult:
    (result,) = lint(Mesh(root), [discover(Mesh(root))[domain]], fix=fix)
    return result


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "mesh")


def test_every_domain_lints_clean(repo: Path) -> None:
    results = lint_all(repo)
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
