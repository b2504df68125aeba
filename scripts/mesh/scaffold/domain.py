"""`mesh new-domain`: a new domain from the template in `templates/domain/`.

The template is a complete, working domain: a dbt project using shared_macros, a group with
its owner, staging / intermediate / marts layers, an example data product with an enforced
contract, a version, data tests and a unit test, and example source data as a seed. The new
domain is also registered where the mesh needs it: a section in CODEOWNERS and a job in the
generated CI workflow. It uses the mesh's one profile (`profile: mesh`, and a `profiles.yml`
link in its folder for plain dbt), so adding it changes no other domain's build fingerprint.
Template files use [[ ]] and [% %] so dbt's own {{ }} pass through untouched.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import jinja2

from mesh.discovery.domains import discover
from mesh.errors import MeshError
from mesh.scaffold import ci
from mesh.workspace import Mesh

ARCHETYPES = ("source-aligned", "aggregate", "consumer-aligned")
NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
OWNER = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>@\s]+@[^<>@\s]+)>\s*$")


class ScaffoldError(MeshError):
    """The new domain's name, owner or upstreams are not acceptable."""


@dataclass(frozen=True)
class NewDomain:
    name: str
    owner_name: str
    owner_email: str
    archetype: str
    consumes: tuple[str, ...]


def parse_request(
    mesh: Mesh, name: str, owner: str, archetype: str, consumes: list[str]
) -> NewDomain:
    if not NAME.match(name):
        raise ScaffoldError(
            f"Domain name {name!r} is not valid: use 2-40 lower-case letters, digits or "
            "underscores, starting with a letter (it becomes a dbt project and database name)."
        )
    existing = discover(mesh)
    if name in existing or (mesh.domains_dir / name).exists():
        raise ScaffoldError(f"domains/{name} already exists; choose another name.")
    match = OWNER.match(owner)
    if not match:
        raise ScaffoldError(f'Owner {owner!r} is not of the form "Team Name <team@example.com>".')
    if archetype not in ARCHETYPES:
        raise ScaffoldError(f"Archetype {archetype!r} is not one of {', '.join(ARCHETYPES)}.")
    unknown = [upstream for upstream in consumes if upstream not in existing]
    if unknown:
        raise ScaffoldError(
            f"Cannot consume {', '.join(unknown)}: no such domain. "
            f"The domains of this mesh are: {', '.join(sorted(existing))}."
        )
    return NewDomain(name, match["name"], match["email"], archetype, tuple(sorted(set(consumes))))


def _walk(folder: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    files = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            files.extend(_walk(entry, f"{prefix}{entry.name}/"))
        elif entry.name.endswith(".j2"):
            files.append((prefix + entry.name.removesuffix(".j2"), entry))
    return files


def render(request: NewDomain) -> dict[str, str]:
    """The new domain's files: relative path -> content."""
    env = jinja2.Environment(
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    context = asdict(request)
    files = {}
    for relative, template in _walk(resources.files("mesh.scaffold") / "templates"):
        if relative == "dbt_loom.config.yml" and not request.consumes:
            continue
        path = env.from_string(relative).render(context)
        files[path] = env.from_string(template.read_text()).render(context)
    return files


def _link_profiles(mesh: Mesh, root: Path) -> Path:
    """The folder's `profiles.yml`, a link to the mesh's, where plain dbt looks first."""
    link = root / "profiles.yml"
    link.symlink_to(Path("..", "..", "profiles.yml"))
    return link


def _register_codeowners(mesh: Mesh, request: NewDomain) -> Path | None:
    codeowners = mesh.root / ".github" / "CODEOWNERS"
    if not codeowners.exists():
        return None
    text = codeowners.read_text().rstrip("\n")
    codeowners.write_text(
        f"{text}\n\n# {request.name}\n/domains/{request.name}/  {request.owner_email}\n"
    )
    return codeowners


def create(mesh: Mesh, request: NewDomain) -> list[Path]:
    """Write the new domain and register it; returns the files written or changed."""
    root = mesh.domains_dir / request.name
    written = []
    for relative, content in render(request).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        written.append(path)
    written.append(_link_profiles(mesh, root))
    codeowners = _register_codeowners(mesh, request)
    if codeowners:
        written.append(codeowners)
    if ci.workflow_path(mesh).exists():  # the new domain gets its own CI job
        written.append(ci.write_workflow(mesh))
    return written
