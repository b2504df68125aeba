"""Reliability under crashes and concurrency: what readers of published products see while
`mesh build` is killed, republishes, or races another build of the same domain.

Every test drives real `mesh build` processes on one copy of the built mesh.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from mesh.discovery import snapshots
from mesh.discovery.domains import discover
from mesh.engines.duckdb import query
from mesh.pipeline.engine import QueryResult
from mesh.workspace import Mesh
from tests.integration.conftest import MESH_BIN, mesh

pytestmark = pytest.mark.integration

DOMAIN = "orders"


@dataclass(frozen=True)
class Product:
    domain: str
    name: str
    version: str

    @property
    def read(self) -> str:
        """SQL reading the whole product: the file it came from, its rows and a checksum of
        its content (computed as publish.py computes the one in the publish record)."""
        return f"""
            select
                (select path from duckdb_databases() where database_name = '{self.domain}')
                    as path,
                count(*) as row_count,
                coalesce(sum(hash(product)), 0)::varchar as content_hash
            from {self.domain}.main.{self.name}_v{self.version} as product
        """

    def recorded(self, publish: Path) -> tuple[int, str]:
        """Rows and checksum of the product as the publish's own record states them."""
        record = json.loads((publish / "publish.json").read_text())
        [stats] = [
            p for p in record["products"] if (p["name"], p["version"]) == (self.name, self.version)
        ]
        return stats["rows"], stats["checksum"]


ORDERS = Product("orders", "orders", "2")
CUSTOMERS = Product("customers", "customers", "1")


def _digests(folder: Path) -> dict[str, str]:
    """Every file of a publish folder (output ports included) by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.is_file()
    }


def _published(root: Path, domain: str = DOMAIN) -> Path:
    return root / "warehouse/published" / domain


def _current(root: Path, domain: str = DOMAIN) -> Path:
    return (_published(root, domain) / "current").resolve()


def _hidden(root: Path, domain: str = DOMAIN) -> list[str]:
    """What an interrupted publish leaves: `.<id>.partial` folders, `.current-*` links."""
    return sorted(p.name for p in _published(root, domain).iterdir() if p.name.startswith("."))


def _start_build(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(MESH_BIN), "build", *args, "--quiet", "--full"],
        cwd=root,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run(mesh: Mesh, sql: str) -> QueryResult:
    """What `mesh query --latest` runs: `sql` over the newest publish of each domain. These
    tests republish one domain without its consumers, so the mesh snapshot (what `mesh query`
    reads, tests/integration/test_snapshots.py) keeps the earlier publish; each domain's own
    publish must be atomic all the same."""
    return query.run(snapshots.view(mesh, sorted(discover(mesh)), latest=True), sql)


def _checksum(content_hash: str) -> str:
    return f"{int(content_hash) % (1 << 64):016x}"


def _read_publish(folder: Path, product: Product) -> tuple[int, str]:
    """Rows and checksum of the product in a publish folder's database, read directly."""
    con = duckdb.connect(str(folder / f"{product.domain}.duckdb"), read_only=True)
    try:
        row = con.execute(product.read).fetchone()
    finally:
        con.close()
    assert row is not None
    return row[1], _checksum(row[2])


def _assert_current_is_complete_and_readable(root: Path, product: Product = ORDERS) -> Path:
    """`current` is a complete publish, and the query sandbox (what `mesh query` runs) reads
    from it exactly what its record says the product holds. Returns the publish folder."""
    current = _current(root, product.domain)
    assert (current / "publish.json").is_file(), f"{current} is not a complete publish"
    result = run(Mesh(root), product.read)
    row = dict(zip(result.columns, result.rows[0], strict=True))
    assert Path(row["path"]).parent == current
    assert (row["row_count"], _checksum(row["content_hash"])) == product.recorded(current)
    assert row["row_count"] > 0
    return current


# --- kill -9 -------------------------------------------------------------------------------

KILL_SEED = 7  # another seed explores other moments; the moments are printed either way
# One in each third of the build's duration, at a random moment within it; each named step
# of the publish is also stopped at deterministically (test_crash_points.py).
TIMED_KILLS = 3
# A dbt worker, forked from the fork server, is tied to its life within milliseconds; the
# kill lands up to this long after the worker appears.
WORKER_STARTING = 0.2


def _is_publishing(root: Path) -> bool:
    """A publish has begun and not finished: its hidden `.<id>.partial` folder exists."""
    return any(path.name.endswith(".partial") for path in _published(root).iterdir())


def _descendants(pid: int) -> dict[int, int]:
    """The processes below `pid` (children, grandchildren...), each with its depth (Linux
    /proc): the build's fork server is its child, the dbt workers are the server's."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    found, level, depth = {}, {pid}, 0
    while level:
        depth += 1
        level = {child for child, parent in parents.items() if parent in level}
        found.update(dict.fromkeys(level, depth))
    return found


@dataclass(frozen=True)
class Timeline:
    """When a `mesh build orders --full` began and ended publishing and exited, in seconds
    from its start (as seen on disk)."""

    publish_started: float
    publish_done: float
    exited: float


def _timed_build(root: Path) -> Timeline:
    """Run one build to the end, noting when its publish became visible on disk."""
    link = _published(root) / "current"
    before = link.readlink()
    seen: dict[str, float] = {}
    start = time.monotonic()
    build = _start_build(root, DOMAIN)
    while build.poll() is None:
        now = time.monotonic() - start
        if "partial" not in seen and _is_publishing(root):
            seen["partial"] = now
        if "current" not in seen and link.readlink() != before:
            seen["current"] = now
        time.sleep(0.002)
    exited = time.monotonic() - start
    out, err = build.communicate()
    assert build.returncode == 0, out + err
    return Timeline(seen["partial"], seen["current"], exited)


class Killer:
    """Starts `mesh build orders --full` and kills it with SIGKILL at a chosen moment."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.build = _start_build(root, DOMAIN)
        self.started = time.monotonic()

    def wait_for(self, ready: Callable[[], bool], what: str) -> float:
        """Wait until `ready()`; returns when that was, in seconds from the start."""
        while not ready():
            assert self.build.poll() is None, f"the build ended before {what}"
            time.sleep(0.001)
        return time.monotonic() - self.started

    def worker_started(self) -> bool:
        """A dbt worker exists: a process the build's fork server forked."""
        return 2 in _descendants(self.build.pid).values()

    def kill_9(self) -> str:
        """kill -9 the build unless it has already ended (then it must have succeeded)."""
        at = time.monotonic() - self.started
        if self.build.poll() is not None:
            out, err = self.build.communicate()
            assert self.build.returncode == 0, f"a build after a killed one failed:\n{out}{err}"
            return f"finished before {at:.2f} s"
        children = _descendants(self.build.pid)
        os.kill(self.build.pid, signal.SIGKILL)
        try:  # its fork server and workers die with it; the pipes close once all are gone
            self.build.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            for child in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            self.build.communicate()
            raise AssertionError(f"processes outlived the killed build: {children}") from None
        return f"killed at {at:.2f} s, left {_hidden(self.root) or 'nothing'}"


def _current_files(root: Path) -> dict[Path, dict[str, str]]:
    """Each domain's current publish folder with the digest of every file in it."""
    folders = [_current(root, domain.name) for domain in (root / "warehouse/published").iterdir()]
    return {folder: _digests(folder) for folder in folders}


def _assert_kill_lost_nothing(root: Path, before: dict[Path, dict[str, str]], what: str) -> None:
    """Every publish that was current before the build is byte-identical, and `current` is
    the same publish or a newer complete one."""
    for folder, files in before.items():
        assert _digests(folder) == files, f"the build {what} changed {folder}"
    previous = next(folder for folder in before if folder.parent.name == DOMAIN)
    current = _assert_current_is_complete_and_readable(root)
    assert current == previous or current.name > previous.name


def test_kill_9_at_random_moments_never_changes_or_breaks_a_publish(mesh_copy: Path) -> None:
    """`kill -9` of `mesh build` anywhere from its start to its exit, publishing included:
    the publishes readers had stay byte-identical, `current` is always a complete publish
    that `mesh query` reads, and builds go on from the wreck: the trials run one after the
    other in one copy, each build starting from what the kill before it left, and the
    build after the last one cleans everything up and publishes."""
    rng = random.Random(KILL_SEED)
    # A first build installs shared_macros (later builds skip that) and times the publish.
    first = _timed_build(mesh_copy)
    worker_offset = rng.uniform(0, WORKER_STARTING)
    publish_offset = rng.uniform(0, first.publish_done - first.publish_started)
    moments: list[str] = []

    # Two moments too short to hit by a delay from the start are timed from what the build
    # shows: its dbt worker process appearing, and its hidden publish folder appearing.
    before = _current_files(mesh_copy)
    killer = Killer(mesh_copy)
    killer.wait_for(killer.worker_started, "starting a dbt worker")
    time.sleep(worker_offset)
    moments.append(f"worker start + {worker_offset * 1000:.0f} ms: {killer.kill_9()}")
    _assert_kill_lost_nothing(mesh_copy, before, moments[-1])

    before = _current_files(mesh_copy)
    killer = Killer(mesh_copy)
    publish_began = killer.wait_for(lambda: _is_publishing(mesh_copy), "publishing")
    time.sleep(publish_offset)
    moments.append(f"publish + {publish_offset * 1000:.0f} ms: {killer.kill_9()}")
    _assert_kill_lost_nothing(mesh_copy, before, moments[-1])

    # The others at random moments over a whole build, start to exit, as measured above.
    duration = publish_began + (first.exited - first.publish_started)
    slice_ = duration / TIMED_KILLS
    delays = [rng.uniform(i * slice_, (i + 1) * slice_) for i in range(TIMED_KILLS)]
    rng.shuffle(delays)
    for delay in delays:
        before = _current_files(mesh_copy)
        killer = Killer(mesh_copy)
        time.sleep(delay)
        moments.append(killer.kill_9())
        _assert_kill_lost_nothing(mesh_copy, before, moments[-1])

    print(f"\nmesh build {DOMAIN} --full takes {duration:.1f} s; kill -9 at")
    print("\n".join(f"  {moment}" for moment in moments))
    assert len(moments) == TIMED_KILLS + 2
    # The next build removes what the killed ones left and publishes.
    assert f"{DOMAIN}: published" in mesh(mesh_copy, "build", DOMAIN, "--quiet", "--full").stdout
    assert _hidden(mesh_copy) == []
    assert list((mesh_copy / "warehouse/build" / DOMAIN).iterdir()) == []
    _assert_current_is_complete_and_readable(mesh_copy)


# --- readers during republishing ------------------------------------------------------------

REPUBLISHES = 2  # each a full build of orders under two readers; 2 show a switch
READERS = 2


def test_readers_never_fail_while_a_domain_republishes(mesh_copy: Path) -> None:
    """Readers query a product without pause while its domain is rebuilt and republished:
    every read succeeds and returns exactly what its publish's record says."""
    reads: Counter[str] = Counter()  # publish id -> successful reads of it
    failures: list[str] = []
    counting = threading.Lock()
    stop = threading.Event()

    def reader() -> None:
        sandboxed = Mesh(mesh_copy)
        while not stop.is_set():
            try:
                path, row_count, content_hash = run(sandboxed, ORDERS.read).rows[0]
                publish = Path(path).parent
                if (row_count, _checksum(content_hash)) != ORDERS.recorded(publish):
                    raise AssertionError(f"{publish.name} holds other content than recorded")
            except Exception as error:  # any failed read is what this test counts
                with counting:
                    failures.append(f"{type(error).__name__}: {error}")
            else:
                with counting:
                    reads[publish.name] += 1

    first = _current(mesh_copy).name
    threads = [threading.Thread(target=reader) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(REPUBLISHES):
            built = mesh(mesh_copy, "build", DOMAIN, "--quiet", "--full")
            assert f"{DOMAIN}: published" in built.stdout
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    total = sum(reads.values())
    print(f"\n{total} reads, {len(failures)} failed, publishes seen: {dict(reads)}")
    assert failures == []
    assert total >= 200  # about 400 on 2 cores; reads go on throughout both builds
    assert first in reads
    assert len(reads) >= 2
    assert _current(mesh_copy).name != first


# --- two builds of one domain at once -------------------------------------------------------


def _wait_for_lock_holder(root: Path, domain: str, timeout: float = 30) -> None:
    lock = root / "warehouse/locks" / f"{domain}.lock"
    build_dir = root / "warehouse/build" / domain
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock.exists() and build_dir.is_dir() and any(build_dir.iterdir()):
            return
        time.sleep(0.05)
    raise AssertionError(f"no build of {domain} started")


def _publish_ids(root: Path, domain: str) -> list[str]:
    history = _published(root, domain) / "history.jsonl"
    events = [json.loads(line) for line in history.read_text().splitlines()]
    return [event["publish_id"] for event in events if event["event"] == "publish"]


def _assert_nothing_half_done(root: Path, domain: str) -> None:
    assert _hidden(root, domain) == []
    assert list((root / "warehouse/build" / domain).iterdir()) == []


def test_a_second_build_of_the_same_domain_stops_with_a_clear_message(mesh_copy: Path) -> None:
    published_before = _publish_ids(mesh_copy, "customers")
    first = _start_build(mesh_copy, "customers")
    _wait_for_lock_holder(mesh_copy, "customers")
    second = mesh(mesh_copy, "build", "customers", "--quiet", "--lock-timeout", "0", check=False)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, out + err
    assert second.returncode == 1
    assert f"customers is being built by process {first.pid}" in second.stderr

    # Exactly the first build published, and what it published is whole.
    new = _publish_ids(mesh_copy, "customers")[len(published_before) :]
    assert len(new) == 1
    assert _assert_current_is_complete_and_readable(mesh_copy, CUSTOMERS).name == new[0]
    _assert_nothing_half_done(mesh_copy, "customers")


def test_a_second_build_waits_for_the_first_by_default(mesh_copy: Path) -> None:
    published_before = _publish_ids(mesh_copy, "customers")
    first = _start_build(mesh_copy, "customers")
    _wait_for_lock_holder(mesh_copy, "customers")
    second = mesh(mesh_copy, "build", "customers", "--quiet", "--full")
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert "waiting for the build in process" in second.stdout
    assert "customers: published" in second.stdout

    # Both published, one after the other; the second is current, and both are whole.
    new = _publish_ids(mesh_copy, "customers")[len(published_before) :]
    assert len(new) == 2
    assert _assert_current_is_complete_and_readable(mesh_copy, CUSTOMERS).name == new[1]
    earlier = _published(mesh_copy, "customers") / new[0]
    assert _read_publish(earlier, CUSTOMERS) == CUSTOMERS.recorded(earlier)
    _assert_nothing_half_done(mesh_copy, "customers")
