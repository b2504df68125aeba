"""What checking published files costs, on a built mesh: the stat check a build runs on each
publish it reads (every current publish, as a build of every domain does), the same on a
copy of the mesh (new inodes: each file is hashed once), and `mesh verify`'s sha256.

    python -m benchmarks.integrity PATH/TO/BUILT/MESH [--repeat 20]

Prints the figures and writes them to `<mesh>/warehouse/bench/integrity.json`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mesh.discovery import integrity
from mesh.discovery.domains import discover
from mesh.discovery.registry import PublishRecord, read_record
from mesh.workspace import Mesh


def _median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _records(mesh: Mesh) -> list[PublishRecord]:
    found = [read_record(mesh, name) for name in sorted(discover(mesh))]
    return [record for record in found if record is not None]


def measure(mesh: Mesh, repeat: int) -> dict[str, float]:
    records = _records(mesh)
    names = [record.domain for record in records]
    stat_all = lambda: [integrity.publish_damage(mesh, r) for r in records]  # noqa: E731
    figures = {
        "domains": len(records),
        "files": sum(integrity.file_count(r) for r in records),
        "megabytes": round(sum(integrity.bytes_of(r) for r in records) / 1e6, 1),
        "stat_check_every_current_publish_ms": round(_median_ms(stat_all, repeat), 2),
        "verify_current_s": round(
            _median_ms(lambda: integrity.verify(mesh, names, current_only=True), 3) / 1000, 3
        ),
        "verify_every_kept_publish_s": round(
            _median_ms(lambda: integrity.verify(mesh, names), 1) / 1000, 3
        ),
    }
    with tempfile.TemporaryDirectory() as scratch:
        copy = Mesh(Path(scratch) / "mesh")
        shutil.copytree(mesh.root / "domains", copy.root / "domains")
        shutil.copy2(mesh.root / "profiles.yml", copy.root / "profiles.yml")
        for folder in ("published", "private"):
            shutil.copytree(mesh.warehouse / folder, copy.warehouse / folder, symlinks=True)
        started = time.perf_counter()
        for record in records:
            integrity.publish_damage(copy, record)
        figures["stat_check_on_a_copy_first_time_s"] = round(time.perf_counter() - started, 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mesh", type=Path)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    mesh = Mesh(args.mesh.resolve())
    figures = measure(mesh, args.repeat)
    for key, value in figures.items():
        print(f"{key}: {value}")
    out = mesh.warehouse / "bench" / "integrity.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
