from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from mesh.errors import MeshNotFoundError
from mesh.governance.rules._base import Context, DomainState, Finding, Rule
from mesh.workspace import Mesh

# The mesh's own list of what each domain may do beyond its database, owned by the platform
# team (CODEOWNERS), never by the domain: `<domain>: [<kind>, ...]`.
ALLOWED_FILE = "allowed_escapes.yml"

# Statements start a string, a line or follow `;` or `(`: `update ... set` does not match.
_START = r"(?:^|[;('\"])\s*"
KINDS: dict[str, tuple[str, re.Pattern[str]]] = {
    "attach": (
        "attaches or detaches a database",
        re.compile(rf"{_START}(?:attach|detach)\b", re.IGNORECASE | re.MULTILINE),
    ),
    "files": (
        "writes files (COPY ... TO, EXPORT or IMPORT DATABASE)",
        re.compile(
            rf"{_START}(?:copy\b[^;]*?\bto\b|(?:export|import)\s+database\b)",
            re.IGNORECASE | re.MULTILINE,
        ),
    ),
    "extensions": (
        "installs or loads a DuckDB extension",
        re.compile(
            rf"{_START}(?:force\s+)?(?:install|load)\s+[\w'\"]", re.IGNORECASE | re.MULTILINE
        ),
    ),
    "settings": (
        "changes DuckDB settings (SET, RESET, PRAGMA, CALL)",
        re.compile(
            rf"{_START}(?:(?:re)?set\s+(?:global\s+|session\s+|local\s+)?\w+|pragma\b|call\b)",
            re.IGNORECASE | re.MULTILINE,
        ),
    ),
}
PYTHON_MODELS = "python_models"
EVERY_KIND = (PYTHON_MODELS, *KINDS)

# What dbt reads of a domain as code; dbt_packages, target and logs are generated.
_CODE_FOLDERS = ("models", "macros", "tests", "snapshots", "analyses", "seeds")
_COMMENTS = re.compile(r"\{#.*?#\}|/\*.*?\*/|--[^\n]*", re.DOTALL)
# Jinja's own `{% set x = ... %}` is not SQL: it is dropped before matching.
_JINJA_SET = re.compile(r"\{%-?\s*set\b.*?%\}", re.DOTALL)


def allowed(mesh_root: Path) -> dict[str, set[str]]:
    """What `allowed_escapes.yml` at the mesh root allows each domain (nothing if absent)."""
    path = mesh_root / ALLOWED_FILE
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        return {}
    return {str(name): {str(kind) for kind in kinds or []} for name, kinds in data.items()}


def escapes(domain_path: Path) -> Iterator[tuple[str, str, str]]:
    """(kind, file relative to the domain, what it does) for every escape in the domain's
    code: Python models, and SQL, Jinja or YAML (hooks) that leaves the domain's database."""
    files = [domain_path / "dbt_project.yml"]
    for folder in _CODE_FOLDERS:
        files += sorted((domain_path / folder).rglob("*"))
    for file in files:
        if not file.is_file():
            continue
        relative = file.relative_to(domain_path).as_posix()
        if file.suffix == ".py" and relative.startswith("models/"):
            yield PYTHON_MODELS, relative, "is a Python model"
            continue
        if file.suffix not in {".sql", ".yml", ".yaml", ".jinja", ".py"}:
            continue
        text = _JINJA_SET.sub(" ", _COMMENTS.sub(" ", file.read_text(errors="replace")))
        for kind, (does, pattern) in KINDS.items():
            found = pattern.search(text)
            if found:
                yield kind, relative, f"{does} ({' '.join(found.group(0).split())[:60]})"


def refused(name: str, domain_path: Path, mesh_root: Path) -> list[Finding]:
    """Each escape in the domain's code that the mesh does not allow it: (node, file,
    message). The build asks this before dbt runs, the publish gate and `mesh check` through
    the rule."""
    may = allowed(mesh_root).get(name, set())
    return [
        (f"file.{name}.{path}", path, f"{path} {does}; the mesh does not allow {name} {kind}.")
        for kind, path, does in escapes(domain_path)
        if kind not in may
    ]


def _mesh_root(domain_path: Path) -> Path:
    """The mesh the domain builds in: MESH_HOME's for a domain in a repository of its own,
    else the one above its folder."""
    try:
        return Mesh.find(domain_path).root
    except MeshNotFoundError:
        return domain_path.parent.parent


def check(state: DomainState, context: Context) -> Iterator[Finding]:
    yield from refused(state.name, state.path, _mesh_root(state.path))


RULE = Rule(
    name="dbt_code_stays_in_its_database",
    summary="Python models, ATTACH, COPY TO, extensions, settings",
    flags="""Python models, and SQL, macros and hooks (in `.sql` and `.yml` files and
        `dbt_project.yml`) that `ATTACH`/`DETACH` a database, write files (`COPY ... TO`,
        `EXPORT`/`IMPORT DATABASE`), `INSTALL`/`LOAD` an extension or change DuckDB settings
        (`SET`, `RESET`, `PRAGMA`, `CALL`), also inside `run_query` or `statement` blocks.
        `shared_macros` is the platform's and is not checked. A domain may use a kind only if
        `allowed_escapes.yml` at the mesh root lists it for the domain (`orders: [attach]`;
        kinds: `python_models`, `attach`, `files`, `extensions`, `settings`).""",
    why="""A build reads its upstreams through read-only attachments and writes one database:
        code that attaches other files, writes files or changes the session's settings can
        reach other domains' publishes and the machine. The build sandbox stops the writes
        (runner/sandbox.py); this rule tells a domain before its build runs, and makes any
        exception a decision the platform team reviews in one file, not a waiver the domain
        writes itself. It reads the text: SQL put together at run time is not seen, which is
        why the sandbox, not this rule, is the enforcement.""",
    fix="""Express the logic as SQL models reading refs and sources; move a needed macro into
        shared_macros; or ask the platform team to list the domain and kind in
        `allowed_escapes.yml`.""",
    example="""`macros/audit.sql attaches or detaches a database (attach); the mesh does not
        allow orders attach.` The build refuses the domain before dbt runs, `mesh check`
        reports the same, and a Python model `models/score.py` is reported as
        `python_models`.

        ```yaml
        # allowed_escapes.yml (owned by the platform team)
        analytics: [python_models]
        ```""",
    waivable=False,  # the exception is the mesh's to make, in allowed_escapes.yml
    check=check,
)
