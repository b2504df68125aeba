"""Lint the SQL of every domain's dbt models with sqlfluff, in parallel, one process per domain.

The style lives in the repository's `.sqlfluff`. sqlfluff runs as a subprocess in the domain
folder (`python -m sqlfluff lint models --format json`), never in this process, so it cannot
touch dbt's global state here, and up to one domain per core runs at a time.

Models are rendered with sqlfluff's jinja templater, not by compiling the dbt project: that
needs no profile, database or published upstream manifests, so a fresh clone lints before
anything is built. The templater knows dbt's builtins (`ref`, `source`, ...); the macro
namespaces our SQL calls, `dbt.*` and `shared_macros.*`, are defined below as `DbtMacros` and
`SharedMacros`, each rendering the DuckDB SQL the real macro compiles to (tests compile each
with dbt and compare). `.sqlfluff` loads them through its `library_path`, a one-line package
that `lint()` writes into the warehouse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mesh.errors import MeshError
from mesh.governance import Progress, quiet
from mesh.runner import confined

if TYPE_CHECKING:
    from mesh.discovery.domains import Domain
    from mesh.workspace import Mesh

MODELS = "models"
# Where `.sqlfluff`'s `library_path` points, relative to the mesh root.
LIBRARY = Path("warehouse") / "lint" / "mesh_sqlfluff_library"
LIBRARY_INIT = '''\
"""Written by `mesh lint`; do not edit. The `dbt` and `shared_macros` macro namespaces that
sqlfluff's jinja templater renders dbt models with, defined in mesh/governance/lint.py."""

from mesh.governance.lint import DBT_MACROS as dbt
from mesh.governance.lint import SHARED_MACROS as shared_macros
'''
TEMPLATING_ERROR = "TMP"
Completed = subprocess.CompletedProcess[str]
SHOWN_ERRORS = 10


class LintError(MeshError):
    """sqlfluff could not lint a model: it crashed, or the model cannot be templated."""


@dataclass(frozen=True)
class LintViolation:
    """One style violation: where (path relative to the domain folder) and which rule."""

    domain: str
    path: str
    line: int
    code: str
    description: str


@dataclass(frozen=True)
class LintResult:
    """The lint of one domain's models: how many files, what is wrong, how long it took."""

    domain: str
    files: int
    violations: list[LintViolation]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.violations


class DbtMacros:
    """`dbt.<macro>(...)` when linting: what dbt-duckdb compiles each cross-database macro to.

    Only the SQL text matters (sqlfluff parses it, and ignores style inside rendered tags);
    a macro missing here fails templating with a clear "has no attribute" message. Only the
    macros our models call are here (tests/unit/test_lint_macros.py)."""

    def cast(self, field: str, type: str) -> str:
        return f"cast({field} as {type})"

    def type_string(self) -> str:
        return "TEXT"

    def type_bigint(self) -> str:
        return "bigint"

    def type_int(self) -> str:
        return "integer"

    def type_boolean(self) -> str:
        return "boolean"

    def type_timestamp(self) -> str:
        return "timestamp"

    def date_trunc(self, datepart: str, date: str) -> str:
        return f"date_trunc('{datepart}', {date})"

    def datediff(self, first_date: str, second_date: str, datepart: str) -> str:
        return f"(date_diff('{datepart}', {first_date}::timestamp, {second_date}::timestamp))"


class SharedMacros:
    """`shared_macros.<macro>(...)` when linting: the SQL of shared_macros/macros/sql/."""

    def money(self, column: str) -> str:
        return DBT_MACROS.cast(column, "decimal(18, 2)")

    def calendar_days(self, first_day: str, last_day: str) -> str:
        return (
            "select cast(day as date) as date_day from range(date "
            f"'{first_day}', date '{last_day}' + interval 1 day, interval 1 day) as days (day)"
        )

    def normalize_text(self, column: str) -> str:
        return f"nullif(lower(trim({column})), '')"

    def hash_pii(self, column: str) -> str:
        missing = (
            "'shared_macros.hash_pii: this build has no PII key; mesh build hands the mesh key "
            "only to domains that tag a column pii in their own models or sources'"
        )
        inner = f"unhex(sha256(getvariable('mesh_pii_ipad') || encode(lower(trim({column})))))"
        return (
            f"case when {column} is null then null "
            f"when getvariable('mesh_pii_ipad') is null then error({missing}) "
            f"else sha256(getvariable('mesh_pii_opad') || {inner}) end"
        )

    # Lint renders a full build, where every export is new.
    def only_new_exports(self, exported_at: str = "exported_at") -> str:
        return ""

    def is_new_export(self, exported_at: str = "exported_at") -> str:
        return "true"

    def touched_keys(self, key: str, relations: list[str]) -> str:
        return " union ".join(f"select {key} from {relation} where true" for relation in relations)

    def latest_per_key(self, relation: str, key: str, order_by: str) -> str:
        return (
            "select * exclude (_latest_rank) from (select *, row_number() over "
            f"(partition by {key} order by {order_by} desc) as _latest_rank from {relation}) "
            "as ranked where _latest_rank = 1"
        )


DBT_MACROS = DbtMacros()
SHARED_MACROS = SharedMacros()


def write_library(mesh: Mesh) -> Path:
    """Write the package `.sqlfluff`'s `library_path` names (only when it changed, and with
    a rename, so concurrent runs and editors never read half a file)."""
    package = mesh.root / LIBRARY
    init = package / "__init__.py"
    if init.is_file() and init.read_text() == LIBRARY_INIT:
        return package
    package.mkdir(parents=True, exist_ok=True)
    partial = package / f".__init__.py.{os.getpid()}"
    partial.write_text(LIBRARY_INIT)
    partial.replace(init)
    return package


def _config(mesh: Mesh, domain: Domain) -> tuple[str, ...]:
    """sqlfluff finds the mesh's `.sqlfluff` by walking up from the domain folder; a domain in
    a repository of its own (MESH_HOME) is handed it."""
    if domain.path.resolve().is_relative_to(mesh.root.resolve()):
        return ()
    return ("--config", str(mesh.root / ".sqlfluff"))


def _sqlfluff(
    domain: Domain, *args: str, config: tuple[str, ...] = (), stdin: str | None = None
) -> Completed:
    """sqlfluff on the domain's models, in the build sandbox: it renders the domain's Jinja,
    so it may write only the domain's models folder, and only when it fixes them."""
    write = [str(domain.path / MODELS)] if args[0] == "fix" else []
    command = [sys.executable, "-m", "sqlfluff", *args, *config]
    return subprocess.run(
        confined.command([*command, "--nocolor", "--disable-progress-bar"], write),
        cwd=domain.path,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _warnings(done: Completed) -> str:
    """What sqlfluff logged (e.g. which model it skipped), or the last line of its output."""
    logged = [line.strip() for line in done.stderr.splitlines() if line.startswith("WARNING")]
    return " ".join(logged) or _last_line(done.stderr + done.stdout)


def _parse(done: Completed) -> list[dict[str, Any]] | None:
    """sqlfluff's JSON report (a list of files), or None if it did not finish one."""
    if done.returncode not in (0, 1):
        return None
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return None
    return report if isinstance(report, list) else None


def _crash(domain: Domain, done: Completed, config: tuple[str, ...]) -> LintError:
    """A clear error for a sqlfluff run that ended without a report. If sqlfluff fails even
    on a trivial query, the cause is its configuration or installation; otherwise the models
    are linted one at a time to name the ones it fails on."""
    detail = _last_line(done.stderr + done.stdout)
    probe = _sqlfluff(
        domain,
        *("lint", "-", "--stdin-filename", f"{MODELS}/__probe__.sql", "--format", "json"),
        config=config,
        stdin="select 1 as probe\n",
    )
    if _parse(probe) is None:
        return LintError(
            f"sqlfluff cannot lint {domain.name} at all (exit {done.returncode}): {detail}. "
            "Check .sqlfluff and the sqlfluff installation."
        )
    failing = []
    for model in sorted((domain.path / MODELS).rglob("*.sql")):
        relative = model.relative_to(domain.path).as_posix()
        alone = _sqlfluff(domain, "lint", relative, "--format", "json", config=config)
        if _parse(alone) is None:
            failing.append(f"{domain.name}/{relative}: {_last_line(alone.stderr + alone.stdout)}")
    if not failing:
        failing.append(f"{domain.name} (no single model reproduces it): {detail}")
    return LintError(f"sqlfluff crashed on {'; '.join(failing)}")


def _templating(violation: dict[str, Any]) -> str:
    """sqlfluff's templating error without its generic advice, with ours for a macro the
    stubs above do not define."""
    description = str(violation["description"]).split(" Have you correctly configured")[0]
    if f"{__name__}." in description and "has no attribute" in description:
        description += (
            " (linting renders dbt.* and shared_macros.* with DbtMacros and SharedMacros in"
            " scripts/mesh/governance/lint.py: add the macro there)"
        )
    return description


def _relative(domain: Domain, filepath: str) -> str:
    path = Path(filepath)
    if path.is_absolute():
        path = path.resolve().relative_to(domain.path.resolve())
    return path.as_posix()


def _lint_domain(domain: Domain, fix: bool, config: tuple[str, ...]) -> LintResult | LintError:
    started = time.perf_counter()
    if not (domain.path / MODELS).is_dir():
        return LintResult(domain.name, 0, [], time.perf_counter() - started)
    if fix:
        fixed = _sqlfluff(domain, "fix", MODELS, config=config)
        if fixed.returncode not in (0, 1):
            return _crash(domain, fixed, config)
    done = _sqlfluff(domain, "lint", MODELS, "--format", "json", config=config)
    report = _parse(done)
    if report is None:
        return _crash(domain, done, config)
    try:
        return _result(domain, done, report, started)
    except (KeyError, TypeError, ValueError) as error:
        return LintError(f"sqlfluff's report on {domain.name} is not as expected: {error!r}")


def _result(
    domain: Domain, done: Completed, report: list[dict[str, Any]], started: float
) -> LintResult | LintError:
    violations: list[LintViolation] = []
    templating: list[str] = []
    for entry in report:
        path = _relative(domain, entry["filepath"])
        for found in entry.get("violations", []):
            if found.get("warning"):
                continue
            line = int(found.get("start_line_no") or 0)
            if found["code"] == TEMPLATING_ERROR:
                templating.append(f"{domain.name}/{path}:{line}: {_templating(found)}")
                continue
            violations.append(
                LintViolation(domain.name, path, line, found["code"], found["description"])
            )
    if templating:
        more = len(templating) - SHOWN_ERRORS
        shown = "; ".join(templating[:SHOWN_ERRORS]) + (f"; and {more} more" if more > 0 else "")
        return LintError(f"sqlfluff cannot template models of {domain.name}: {shown}")
    if (done.returncode != 0 and not violations) or "Skipping" in done.stderr:
        # A model skipped (too large to parse: large_file_skip_fail), or a failure without a
        # violation: either way some SQL was not checked.
        return LintError(f"sqlfluff failed on {domain.name}: {_warnings(done)}")
    violations.sort(key=lambda v: (v.path, v.line, v.code))
    return LintResult(domain.name, len(report), violations, time.perf_counter() - started)


def lint(
    mesh: Mesh, domains: list[Domain], fix: bool = False, progress: Progress = quiet
) -> list[LintResult]:
    """Lint (with `fix`, first fix) the models of `domains`, in their order.

    With `fix`, the results hold what sqlfluff could not fix. Raises LintError naming each
    domain and model that sqlfluff could not template or crashed on.
    """
    if not domains:
        return []
    write_library(mesh)
    for domain in domains:
        progress(domain.name, "queued", False)

    def one(domain: Domain) -> LintResult | LintError:
        progress(domain.name, "fixing" if fix else "linting", False)
        outcome = _lint_domain(domain, fix, _config(mesh, domain))
        if isinstance(outcome, LintError):
            progress(domain.name, "sqlfluff failed", True)
        else:
            found = len(outcome.violations)
            progress(domain.name, _count(found, "violation") if found else "clean", True)
        return outcome

    jobs = max(1, min(len(domains), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # each thread waits on one process
        outcomes = list(pool.map(one, domains))
    errors = [str(outcome) for outcome in outcomes if isinstance(outcome, LintError)]
    if errors:
        raise LintError(" | ".join(errors))
    return [outcome for outcome in outcomes if isinstance(outcome, LintResult)]


def as_dict(results: list[LintResult]) -> list[dict[str, Any]]:
    """The results as JSON-ready data, one entry per domain."""
    return [
        {
            "domain": result.domain,
            "files": result.files,
            "seconds": round(result.seconds, 3),
            "violations": [
                {"path": v.path, "line": v.line, "code": v.code, "description": v.description}
                for v in result.violations
            ],
        }
        for result in results
    ]


def as_lines(results: list[LintResult]) -> list[str]:
    """The results for people: each domain's violations as `path:line code description`,
    then a one-line summary."""
    lines: list[str] = []
    for result in results:
        status = "clean" if result.ok else _count(len(result.violations), "violation")
        lines.append(
            f"{result.domain}: {_count(result.files, 'file')}, {status} ({result.seconds:.1f} s)"
        )
        lines.extend(f"  {v.path}:{v.line} {v.code} {v.description}" for v in result.violations)
    total = sum(len(result.violations) for result in results)
    files = sum(result.files for result in results)
    lines.append(
        f"{_count(len(results), 'domain')}, {_count(files, 'file')}: "
        + ("all clean." if not total else f"{_count(total, 'violation')}.")
    )
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
