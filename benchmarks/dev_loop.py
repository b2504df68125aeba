"""`mesh dev`'s edit-to-result time: a real `mesh dev` of every domain, a one-model save in
each domain, and the seconds from the save to the line that reports its result.

The save appends a comment to the domain's newest product model (a change dbt parses and
rebuilds, which changes no data), three times per domain, then restores the file. The time
runs from just before the write to the moment the result line reaches this process, so it
includes `mesh dev`'s polling and settling. Also measured here, from a cold start: the
seconds from `mesh build --full` starting to its first domain's result line.

    python -m benchmarks.dev_loop MESH_ROOT [--saves 3]    prints one JSON object
"""

from __future__ import annotations

import argparse
import json
import queue
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from mesh.discovery.domains import discover
from mesh.workspace import Mesh

MESH = [sys.executable, "-m", "mesh"]
TIMEOUT = 300.0


class _Lines:
    """The lines a process prints, each with the time it arrived."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[tuple[float, str]] = queue.Queue()
        self.process = process
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.queue.put((time.perf_counter(), line.rstrip("\n")))

    def wait_for(self, pattern: str) -> tuple[float, str]:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                arrived, line = self.queue.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if re.search(pattern, line):
                return arrived, line
        raise SystemExit(f"mesh dev printed no line matching {pattern!r}")


def _model(mesh: Mesh, domain: str) -> Path:
    """The newest version of the domain's last product model (marts/<product>_v<N>.sql)."""
    marts = discover(mesh)[domain].path / "models" / "marts"
    return sorted(marts.glob("*_v*.sql"), key=lambda p: (p.stem.rsplit("_v", 1)[0], p.stem))[-1]


def edit_to_result(mesh: Mesh, saves: int) -> dict[str, list[float]]:
    domains = [d.name for d in discover(mesh).values() if not d.published_only]
    process = subprocess.Popen(
        [*MESH, "dev", *domains], cwd=mesh.root, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    lines = _Lines(process)
    found: dict[str, list[float]] = {}
    try:
        waiting = set(domains)  # the first build of each, on the dev target
        while waiting:
            _, line = lines.wait_for(r"^\w+: ")
            domain = line.split(":", 1)[0]
            if "passed" not in line:
                raise SystemExit(f"the first build failed: {line}")
            waiting.discard(domain)
        for domain in domains:
            path = _model(mesh, domain)
            original = path.read_text()
            found[domain] = []
            try:
                for n in range(saves):
                    saved = time.perf_counter()
                    path.write_text(original + f"\n-- mesh dev benchmark save {n}\n")
                    arrived, line = lines.wait_for(rf"^{domain}: ")
                    if "passed" not in line:
                        raise SystemExit(f"the rebuild failed: {line}")
                    found[domain].append(arrived - saved)
            finally:
                path.write_text(original)
                lines.wait_for(rf"^{domain}: ")  # the restore's rebuild, not counted
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    return found


def first_domain(mesh: Mesh) -> float:
    """Seconds from a cold `mesh build --full` starting to its first domain's result line."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [*MESH, "build", "--full", "--quiet"], cwd=mesh.root, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    lines = _Lines(process)
    arrived, _ = lines.wait_for(r"^\w+: (published|FAILED)")
    process.wait(timeout=TIMEOUT)
    return arrived - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mesh", type=Path)
    parser.add_argument("--saves", type=int, default=3)
    args = parser.parse_args()
    mesh = Mesh(args.mesh.resolve())
    seconds = edit_to_result(mesh, args.saves)
    result: dict[str, Any] = {
        "edit_to_result": seconds,
        "medians": {domain: statistics.median(times) for domain, times in seconds.items()},
        "first_domain_seconds": first_domain(mesh),
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
