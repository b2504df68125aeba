"""The package's import rule: each subpackage's docstring says what it may import
("May import: ..."), and this test holds every module to it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import mesh

PACKAGE = Path(mesh.__file__).parent
CORE = {"mesh", "mesh.errors", "mesh.ids", "mesh.workspace"}


def _subpackages() -> list[Path]:
    return sorted(p.parent for p in PACKAGE.glob("*/__init__.py"))


def _allowed(subpackage: Path) -> set[str] | None:
    """What the subpackage's docstring allows; None for "every subpackage"."""
    doc = ast.get_docstring(ast.parse((subpackage / "__init__.py").read_text())) or ""
    found = re.search(r"May import: (.+?)\.\s*$", doc, re.S)
    assert found, f"{subpackage.name}/__init__.py: its docstring must end with 'May import: ...'"
    text = " ".join(found.group(1).split())
    if text == "every subpackage":
        return None
    return {name.strip() for name in text.split(",")}


def _is_module(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "mesh":  # `from mesh import x`: the module x, or a name of mesh
                names = [f"mesh.{a.name}" if _is_module(a.name) else "mesh" for a in node.names]
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name == "mesh" or name.startswith("mesh.")]


def _owner(module: str) -> str:
    """The subpackage (or core module) an imported name belongs to: `mesh.x.y` -> `mesh.x`."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_every_module_imports_only_what_its_subpackage_allows() -> None:
    broken = []
    for subpackage in _subpackages():
        allowed = _allowed(subpackage)
        if allowed is None:
            continue
        own = f"mesh.{subpackage.name}"
        for path in subpackage.rglob("*.py"):
            for line, name in _imports(path):
                owner = _owner(name)
                if owner != own and owner not in allowed | {"mesh"}:
                    broken.append(f"{path.relative_to(PACKAGE)}:{line} imports {name}")
    assert not broken, "imports the docstrings do not allow:\n" + "\n".join(broken)


def test_core_modules_import_no_subpackage() -> None:
    # The entry point starts the CLI; the package's `mesh.connect` is the client's, imported
    # when first used.
    exempt = {("__main__.py", "mesh.cli"), ("__init__.py", "mesh.client")}
    broken = [
        f"{path.name}:{line} imports {name}"
        for path in PACKAGE.glob("*.py")
        for line, name in _imports(path)
        if _owner(name) not in CORE and (path.name, _owner(name)) not in exempt
    ]
    assert not broken, "\n".join(broken)
