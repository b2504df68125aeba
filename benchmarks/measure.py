"""Run a command and measure it: wall time, CPU time of it and all its descendants, and the
peak of their summed resident memory (a `mesh build` is a parent and its dbt workers, so the
largest single process would understate it).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Each sample reads /proc/<pid>/status of every process on the machine: about 2 ms of CPU.
# Every 20 ms that took a tenth of a core from what it measured, and the warm build (whose
# memory is not reported) ran 6.0 s under it against 5.3-5.6 s alone. A build's peak lasts
# seconds, so one sample every 100 ms finds it.
SAMPLE_SECONDS = 0.1


@dataclass(frozen=True)
class Measured:
    command: list[str]
    returncode: int
    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    stdout: str
    stderr: str

    def check(self) -> Measured:
        if self.returncode != 0:
            raise RuntimeError(
                f"{' '.join(self.command)} exited {self.returncode}:\n{self.stdout}\n{self.stderr}"
            )
        return self


def _tree_rss_bytes(root: int) -> int:
    """Summed resident memory of `root` and every process descending from it."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue  # the process ended while we looked
        ppid = re.search(r"^PPid:\s+(\d+)", status, re.M)
        resident = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        pid = int(entry.name)
        parents[pid] = int(ppid.group(1)) if ppid else 0
        rss[pid] = int(resident.group(1)) * 1024 if resident else 0
    total = 0
    for pid, size in rss.items():
        ancestor = pid
        while ancestor and ancestor != root:
            ancestor = parents.get(ancestor, 0)
        if ancestor == root:
            total += size
    return total


def run(
    command: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    sample_memory: bool = True,
) -> Measured:
    """Run `command` to completion, sampling its process tree's memory meanwhile (unless
    not `sample_memory`: then `peak_rss_bytes` is its largest process's). Output goes to
    files, so that nothing but `wait4` reaps the process (it reports the CPU time of the
    process and of the children it reaped)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command), cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=err
        )
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_bytes(process.pid))
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True) if sample_memory else None
        if sampler:
            sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        if sampler:
            sampler.join()
        out.seek(0)
        err.seek(0)
        return Measured(
            command=list(command),
            returncode=process.returncode,
            seconds=seconds,
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            peak_rss_bytes=max(peak, usage.ru_maxrss * 1024),
            stdout=out.read(),
            stderr=err.read(),
        )
