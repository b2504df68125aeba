"""`mesh dev`: the inner loop. A real `mesh dev` process watches a built mesh's copy; the
tests save files as an editor would and read what it prints."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import mesh as mesh_package
from tests.integration.conftest import MESH_BIN

pytestmark = pytest.mark.integration

PASSED = re.compile(r"^orders: (\d+) models?, (\d+) tests?(, \d+ unit tests?)? passed")


class Dev:
    """A running `mesh dev` and the lines it printed."""

    def __init__(self, root: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [str(MESH_BIN), "dev", *args],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def expect(self, pattern: str | re.Pattern[str], timeout: float = 90) -> re.Match[str]:
        """The first line from now on that matches `pattern`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(
            f"no line matching {pattern!r}; mesh dev printed:\n" + "\n".join(self.seen)
        )

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _current(root: Path, domain: str) -> str:
    return (root / "warehouse" / "published" / domain / "current").readlink().name


def _save(path: Path, text: str) -> None:
    """Write as an editor does, with a newer modification time even within one tick."""
    path.write_text(text)
    later = time.time_ns() + 1_000_000
    os.utime(path, ns=(later, later))


def test_a_save_rebuilds_the_model_and_what_follows_a_failure_names_its_file_ctrl_c_stops(
    mesh_copy: Path,
) -> None:
    model = mesh_copy / "domains/orders/models/marts/orders_v2.sql"
    original = model.read_text()
    published = _current(mesh_copy, "orders")
    dev = Dev(mesh_copy, "orders")
    try:
        dev.expect(r"^Watching orders \(rebuilding on the development target")
        first = dev.expect(PASSED)  # the whole domain, once, at the start
        assert (mesh_copy / "domains/orders/target/dev.duckdb").is_file()

        _save(model, original + "\n-- a comment: a save that changes nothing else\n")
        again = dev.expect(PASSED)
        assert int(again[1]) < int(first[1])  # the saved model and what is downstream of it

        _save(model, original.replace("select", "selec", 1))
        failed = dev.expect(r"^orders: FAILED: model ")
        assert "(models/marts/orders_v2.sql)" in dev.seen[-1]

        _save(model, original)
        dev.expect(PASSED)

        # The session child that keeps dbt warm is confined like a build's: the domain's code
        # writes only the folder's target/.
        escape = mesh_copy / "domains/orders/escaped.csv"
        hostile = mesh_copy / "domains/orders/models/marts/zz_escape.sql"
        hook = f"copy (select 1 as x) to '{escape}'"
        _save(hostile, '{{ config(post_hook="' + hook + '") }}\nselect 1 as x\n')
        denied = dev.expect(r"^orders: FAILED: model zz_escape \(models/marts/\w+\.sql\): (.*)")
        assert "Read-only file system" in denied[1]
        assert not escape.exists()
        hostile.unlink()
        dev.expect(PASSED)

        # The mesh's own code changes (a new install, an edit): the command restarts itself,
        # and with it its workers.
        code = Path(mesh_package.__file__)
        status = code.stat()
        try:
            os.utime(code, ns=(status.st_atime_ns, time.time_ns()))
            dev.expect(r"^The mesh's code or packages changed \(.*__init__\.py\): restarting\.")
        finally:
            os.utime(code, ns=(status.st_atime_ns, status.st_mtime_ns))
        dev.expect(r"^Watching orders")

        assert dev.stop() == 0  # while it builds: the build stops, nothing was published
        dev.expect(r"^mesh dev stopped \(Ctrl-C\); every published version is unchanged")
        assert failed is not None
    finally:
        dev.kill()
    assert _current(mesh_copy, "orders") == published  # the development target never publishes


def test_with_publish_a_save_goes_through_the_gate_and_publishes(mesh_copy: Path) -> None:
    model = mesh_copy / "domains/orders/models/marts/orders_v2.sql"
    published = _current(mesh_copy, "orders")
    dev = Dev(mesh_copy, "orders", "--publish")
    try:
        dev.expect(r"^Watching orders \(building and publishing")
        dev.expect(r"^orders: unchanged since its current publish")  # nothing changed yet
        _save(model, model.read_text() + "\n-- published by mesh dev --publish\n")
        now = dev.expect(r"^orders: published (\S+)")[1]
        assert now == _current(mesh_copy, "orders") != published
        record = mesh_copy / "warehouse/published/orders/current/publish.json"
        assert json.loads(record.read_text())["publish_id"] == now
        assert dev.stop() == 0
    finally:
        dev.kill()
