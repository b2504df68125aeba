"""The site written out: Jinja pages, the lineage image, assets and published files, put
together in a hidden folder beside the output and swapped into place."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mesh.catalog.collect import collect
from mesh.catalog.metrics import RunQuery, collect_metrics
from mesh.catalog.svg import site_svg
from mesh.discovery import snapshots
from mesh.errors import MeshError
from mesh.workspace import Mesh

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = ("catalog.css", "catalog.js")
MARKER = ".mesh-catalog"  # written into every catalog, so only a catalog is ever replaced


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(when=_when, hours=_hours, size=_size)
    return env


def _when(value: str | None) -> str:
    """An ISO time as "2026-11-24 13:30 UTC"."""
    if not value:
        return "unknown"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _hours(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value < 1:
        return f"{round(value * 60)} min"
    if value < 48:
        return f"{value:.0f} h" if value == round(value) else f"{value:.1f} h"
    return f"{value / 24:.1f} days"


def _size(value: int | None) -> str:
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _check_replaceable(path: Path) -> None:
    """Refuse to replace `path` unless it is absent, an empty folder or a catalog built here."""
    if not path.exists() and not path.is_symlink():
        return
    if not (path.is_dir() and ((path / MARKER).is_file() or not any(path.iterdir()))):
        raise MeshError(
            f"{path} exists and is not a catalog built by mesh; choose another folder or remove it."
        )


def _swap_in(new: Path, out: Path) -> None:
    """Put the finished site `new` at `out` with renames (the old one goes last)."""
    _check_replaceable(out)
    if not out.exists() and not out.is_symlink():
        new.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{os.urandom(3).hex()}")
    out.rename(old)
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def build_catalog(
    mesh: Mesh,
    out_dir: Path | None = None,
    *,
    now: datetime | None = None,
    run: RunQuery | None = None,
) -> Path:
    """Write the catalog site of everything published in `mesh`; returns its index.html.

    `out_dir` defaults to `warehouse/catalog`. `now` is the time freshness is judged at.
    `run` runs the saved metric queries the charts draw, on the snapshot shown (None: listed,
    not drawn).
    """
    out = (out_dir or mesh.warehouse / "catalog").absolute()
    _check_replaceable(out)
    moment = now or datetime.now(UTC)
    view = snapshots.view(mesh)
    site = collect(view, moment)
    metrics = collect_metrics(view, site.products, run)
    env = _environment()
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp-{os.urandom(3).hex()}")
    try:
        for folder in ("products", "files", "assets", "charts"):
            (temporary / folder).mkdir(parents=True)
        for asset in ASSETS:
            shutil.copyfile(TEMPLATES / asset, temporary / "assets" / asset)
        for target, source in site.files.items():
            shutil.copyfile(source, temporary / target)
        (temporary / "lineage.svg").write_text(site_svg(site))
        common = {
            "built_at": moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "product_count": len(site.products),
            "domain_count": sum(1 for section in site.sections if section.products),
            "snapshot": site.snapshot,
            "metrics": metrics,
        }
        archetypes = sorted({p.archetype for p in site.products if p.archetype})
        (temporary / "index.html").write_text(
            env.get_template("index.html").render(
                root="",
                sections=site.sections,
                products=site.products,
                archetypes=archetypes,
                edges=site.edges,
                **common,
            )
        )
        if metrics.shown:
            (temporary / "metrics.html").write_text(
                env.get_template("metrics.html").render(root="", **common)
            )
        for chart in metrics.charts:
            if chart.svg and chart.href:
                (temporary / chart.href).write_text(chart.svg)
        for page in site.products:
            (temporary / page.href).write_text(
                env.get_template("product.html").render(root="../", product=page, **common)
            )
        (temporary / MARKER).write_text("Built by `mesh catalog`; replaced on every build.\n")
        _swap_in(temporary, out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return out / "index.html"
