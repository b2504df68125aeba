"""Lint's stand-ins for the `dbt.*` and `shared_macros.*` macros: every macro a model calls
has one, and each stands in for a macro that exists. (That each renders what the real macro
compiles to is checked with dbt in tests/integration/test_lint.py.)"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from mesh.governance.lint import DbtMacros, SharedMacros

REPO = Path(__file__).resolve().parents[2]
# What `mesh lint` lints: every domain's models, and the models `mesh new-domain` writes.
LINTED = [*REPO.glob("domains/*/models"), REPO / "scripts/mesh/scaffold/templates/models"]
CALL = re.compile(r"\b(dbt|shared_macros)\.(\w+)\s*\(")
STAND_INS = {
    "dbt": {name for name in vars(DbtMacros) if not name.startswith("_")},
    "shared_macros": {name for name in vars(SharedMacros) if not name.startswith("_")},
}
MACROS = {
    "dbt": Path(str(files("dbt.include.global_project"))) / "macros",
    "shared_macros": REPO / "shared_macros" / "macros",
}


def calls() -> dict[tuple[str, str], str]:
    """Each `namespace.macro` the linted models call, with the first file that calls it."""
    found: dict[tuple[str, str], str] = {}
    for folder in LINTED:
        for path in sorted(folder.rglob("*.sql*")):
            for call in CALL.findall(path.read_text()):
                found.setdefault(call, str(path.relative_to(REPO)))
    return found


def defined(namespace: str) -> set[str]:
    text = "\n".join(path.read_text() for path in MACROS[namespace].rglob("*.sql"))
    return set(re.findall(r"\{%-?\s*macro\s+(\w+)\s*\(", text))


def test_every_macro_a_model_calls_has_a_stand_in() -> None:
    used = calls()
    assert len(LINTED) > 5 and used, "no models found"
    missing = [
        f"{namespace}.{macro} (called in {path})"
        for (namespace, macro), path in used.items()
        if macro not in STAND_INS[namespace]
    ]
    assert not missing, f"lint cannot render {missing}: add them to scripts/mesh/governance/lint.py"


def test_every_stand_in_is_used_and_stands_in_for_a_real_macro() -> None:
    used = calls()
    for namespace, stand_ins in STAND_INS.items():
        unused = sorted(stand_ins - {macro for space, macro in used if space == namespace})
        assert not unused, f"no model calls {namespace}.{unused}: remove their stand-ins"
        unknown = sorted(stand_ins - defined(namespace))
        assert not unknown, f"{namespace} has no macros {unknown}, yet lint stands in for them"
