"""The inner loop of a domain developer: `mesh dev` watches, rebuilds, and shows the result.

A foreground command the developer leaves running while they edit, as web developers do with
a dev server. It keeps one pool of dbt workers warm (they imported dbt once), polls the files
of the domains it watches, and on each save rebuilds what the save changed:

- without `--publish`, on the development target (profiles.yml `dev`, what plain `dbt build`
  in the domain folder runs: its own databases in the folder's `target/`, the upstreams'
  current publishes attached read-only): the models whose SQL changed and everything
  downstream of them (`--select path:<file>+`), or the whole domain when YAML, macros, the
  project, the shared macros or its landing data changed. Nothing is published.
- with `--publish`, through `mesh build` on the same warm workers: the full gate, then a
  publish, or nothing when a rule fails.

What it watches: each domain's dbt project (as the build fingerprint reads it), the shared
macros, the profile and the domain's landing folders. When the mesh's own code or the
installed packages change, the caller restarts the command (`Platform`), which restarts its
workers with it: a worker must never run code older than the files on disk.
"""

from __future__ import annotations

import site
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mesh as mesh_package
from mesh.discovery.domains import LOOM_CONFIG, Domain
from mesh.pipeline.fingerprint import code_files
from mesh.runner.dbt import base_env, dbt_args, with_packages
from mesh.runner.workers import DbtTask
from mesh.workspace import Mesh

DEV_TARGET = "dev"
# The files of a model a save can change without changing what else the domain holds.
MODEL_SUFFIXES = (".sql", ".py")

Stamp = tuple[int, int]  # a file's modification time (ns) and size
Stamps = dict[Path, Stamp]


def _stamp(paths: Iterable[Path]) -> Stamps:
    found: Stamps = {}
    for path in paths:
        try:
            status = path.stat()
        except OSError:  # removed between the listing and the stat
            continue
        found[path] = (status.st_mtime_ns, status.st_size)
    return found


def _files(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        yield from (path for path in sorted(folder.rglob("*")) if path.is_file())


def watched(mesh: Mesh, domain: Domain) -> Stamps:
    """Every file whose change rebuilds `domain`: its project, the shared macros, the
    profile and its landing exports."""
    paths = [*code_files(domain.path), *code_files(mesh.root / "shared_macros")]
    paths.append(mesh.root / "profiles.yml")
    for table in domain.landing_tables(mesh):
        paths.extend(_files(table))
    return _stamp(paths)


def changed(before: Stamps, after: Stamps) -> list[Path]:
    """The files added, removed or changed between two looks, in path order."""
    return sorted(
        path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
    )


@dataclass(frozen=True)
class Rebuild:
    """What one save rebuilds in one domain: the dbt selection (None: the whole domain)."""

    domain: Domain
    select: tuple[str, ...] | None

    @property
    def label(self) -> str:
        if self.select is None:
            return "every model"
        return ", ".join(selector.removeprefix("path:") for selector in self.select)


def rebuild(domain: Domain, paths: list[Path]) -> Rebuild:
    """The smallest dbt selection that rebuilds what changing `paths` changed: the saved
    models and what is downstream of them, when only models' SQL (or Python) changed inside
    the project's models folder; else every model of the domain."""
    models = domain.path / "models"
    selected = []
    for path in paths:
        if (
            path.suffix not in MODEL_SUFFIXES
            or not path.is_relative_to(models)
            or not path.exists()
        ):
            return Rebuild(domain, None)
        selected.append(f"path:{path.relative_to(domain.path).as_posix()}+")
    return Rebuild(domain, tuple(selected))


def dev_task(mesh: Mesh, job: Rebuild) -> DbtTask:
    """`dbt build` of the selection on the development target, as plain dbt in the domain
    folder runs it: its working directory, its dbt-loom configuration, its `target/`."""
    domain = job.domain
    target = domain.path / "target"
    target.mkdir(exist_ok=True)
    # --no-write-json: the result comes back in-process; writing manifest.json and
    # run_results.json would cost 0.4 s of each rebuild (`dbt parse` or `dbt docs generate`
    # in the folder writes them when wanted).
    command = ["build", *dbt_args(mesh, domain, target), "--target", DEV_TARGET, "--no-write-json"]
    if job.select is not None:
        command += ["--select", *job.select]
    env = base_env(mesh, domain, DEV_TARGET)
    # Plain dbt's: the folder's own file, relative to the folder (a warm worker must not
    # keep the configuration a build wrote for an earlier task).
    env["DBT_LOOM_CONFIG"] = LOOM_CONFIG
    return DbtTask(
        domain=domain.name,
        commands=with_packages(mesh, domain, target, command),
        env=env,
        writable=(str(target),),
        cwd=str(domain.path),
        session=True,  # the same confined child for each save: dbt stays warm on the project
    )


@dataclass(frozen=True)
class Platform:
    """What the running command's code is made of: the mesh package's files and the
    folders packages are installed in. When a look differs from the first, restart."""

    stamps: Stamps

    @classmethod
    def look(cls) -> Platform:
        code = Path(mesh_package.__file__).parent
        paths = [path for path in _files(code) if path.suffix == ".py"]
        folders = {Path(folder) for folder in [*site.getsitepackages(), site.getusersitepackages()]}
        paths += [folder for folder in folders if folder.is_dir()]
        paths.append(Path(sys.executable))
        return cls(_stamp(paths))

    def changed_since(self, first: Platform) -> list[Path]:
        return changed(first.stamps, self.stamps)


@dataclass(frozen=True)
class Restart:
    """The mesh's code or the installed packages changed: restart the command."""

    because: tuple[Path, ...]


# Seconds between looks at the domains' files, at the platform's, and the quiet a save must
# have before it is rebuilt (an editor may write a file in several steps).
LOOK_EVERY = 0.2
PLATFORM_EVERY = 1.0
SETTLE = 0.1


def saves(
    mesh: Mesh,
    domains: list[Domain],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[list[Rebuild] | Restart]:
    """First every domain whole, then, for each save, what it rebuilds (one Rebuild per
    domain it touched), until the platform changes (one Restart, then the end)."""
    looks = {domain.name: watched(mesh, domain) for domain in domains}
    platform, platform_looked = Platform.look(), clock()
    yield [Rebuild(domain, None) for domain in domains]
    while True:
        sleep(LOOK_EVERY)
        if clock() - platform_looked >= PLATFORM_EVERY:
            platform_looked = clock()
            if paths := Platform.look().changed_since(platform):
                yield Restart(tuple(paths))
                return
        now = {domain.name: watched(mesh, domain) for domain in domains}
        if all(now[name] == looks[name] for name in looks):
            continue
        while True:  # until a look shows the save complete
            sleep(SETTLE)
            settled = {domain.name: watched(mesh, domain) for domain in domains}
            if settled == now:
                break
            now = settled
        batch = []
        for domain in domains:
            if paths := changed(looks[domain.name], now[domain.name]):
                batch.append(rebuild(domain, paths))
        looks = now
        yield batch
