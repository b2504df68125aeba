"""The build sandbox and the forked child each dbt task runs in, without dbt: what the
child can and cannot do once confined, the time limit, and what the worker makes of a
child that misbehaves."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mesh.runner import sandbox, workers
from mesh.runner.workers import DbtOutcome, DbtTask

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


REPORT = {"fd": -1}  # in a child of in_child: the pipe it reports on


def in_child(body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run `body` in a forked child and return what it returned (JSON through a pipe)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        REPORT["fd"] = write
        try:
            os.close(read)
            result = body()
        except BaseException as error:
            result = {"error": f"{type(error).__name__}: {error}"}
        os.write(write, json.dumps(result).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return dict(json.loads(data))


def attempt(action: Callable[[], object]) -> str:
    try:
        action()
    except OSError as error:
        return f"refused: {os.strerror(error.errno or 0)}"
    return "done"


def test_a_confined_process_writes_only_its_writable_folder(tmp_path: Path) -> None:
    staging, elsewhere = tmp_path / "staging", tmp_path / "published"
    staging.mkdir()
    elsewhere.mkdir()
    (elsewhere / "orders.duckdb").write_text("published")

    def body() -> dict[str, Any]:
        sandbox.enter([staging])
        return {
            "staging": attempt(lambda: (staging / "out.txt").write_text("x")),
            "published": attempt(lambda: (elsewhere / "orders.duckdb").write_text("tampered")),
            "new file": attempt(lambda: (elsewhere / "new").write_text("x")),
            "delete": attempt(lambda: (elsewhere / "orders.duckdb").unlink()),
            "tmp": attempt(lambda: Path("/tmp/mesh-sandbox-test").write_text("x")),
            "dev null": attempt(lambda: Path("/dev/null").write_text("x")),
            "shared memory": attempt(lambda: Path("/dev/shm/mesh-test").write_text("x")),
        }

    found = in_child(body)
    assert found == {
        "staging": "done",
        "published": "refused: Read-only file system",
        "new file": "refused: Read-only file system",
        "delete": "refused: Read-only file system",
        "tmp": "refused: Read-only file system",
        "dev null": "done",
        "shared memory": "done",  # its own /dev/shm, gone with it
    }
    assert (elsewhere / "orders.duckdb").read_text() == "published"
    assert (staging / "out.txt").read_text() == "x"
    assert not Path("/tmp/mesh-sandbox-test").exists()
    assert not Path("/dev/shm/mesh-test").exists()


def test_a_confined_process_has_no_network_no_capabilities_and_no_way_back(
    tmp_path: Path,
) -> None:
    def body() -> dict[str, Any]:
        sandbox.enter([tmp_path])
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        status = Path("/proc/self/status").read_text().splitlines()
        remount = libc.mount(None, b"/", None, 0x20 | 0x1000, None)  # MS_REMOUNT|MS_BIND, rw
        unmount = libc.umount2(str(tmp_path).encode(), 2)  # MNT_DETACH
        return {
            "network": attempt(lambda: socket.create_connection(("127.0.0.1", 9), timeout=2)),
            "capabilities": sorted(
                line.split()[1] for line in status if line.startswith("Cap") and ":" in line
            ),
            "no new privileges": [
                line.split()[1] for line in status if line.startswith("NoNewPrivs")
            ],
            "remount": remount,
            "unmount": unmount,
            "enter the host's mounts": attempt(lambda: open("/proc/1/ns/mnt")),  # noqa: PTH123
        }

    found = in_child(body)
    assert found["network"].startswith("refused")
    assert set(found["capabilities"]) == {"0000000000000000"}  # all five sets empty
    assert found["no new privileges"] == ["1"]
    assert found["remount"] == -1 and found["unmount"] == -1
    assert found["enter the host's mounts"].startswith("refused")


def test_a_writable_path_that_does_not_exist_is_refused_before_anything_changes(
    tmp_path: Path,
) -> None:
    found = in_child(lambda: {"entered": sandbox.enter([tmp_path / "missing"]) is None})
    assert "a writable path of the build does not exist" in found["error"]


def test_inherited_file_descriptors_are_closed_but_those_kept(tmp_path: Path) -> None:
    inherited = os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT)
    kept = os.open(tmp_path / "kept", os.O_WRONLY | os.O_CREAT)

    def body() -> dict[str, Any]:
        sandbox.close_fds_except([kept, REPORT["fd"]])
        return {
            "inherited": attempt(lambda: os.write(inherited, b"escape")),
            "kept": attempt(lambda: os.write(kept, b"report")),
        }

    assert in_child(body) == {"inherited": "refused: Bad file descriptor", "kept": "done"}
    os.close(inherited)
    os.close(kept)


def test_the_switch_turns_the_sandbox_off_only_when_said() -> None:
    assert sandbox.enabled({})
    assert sandbox.enabled({"MESH_SANDBOX": "on"})
    assert not sandbox.enabled({"MESH_SANDBOX": "off"})
    assert not sandbox.enabled({"MESH_SANDBOX": "0"})


def task(tmp_path: Path, timeout: float | None = None, **more: Any) -> DbtTask:
    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    return DbtTask(
        "orders", [["build"]], {}, (str(staging),), str(staging), timeout=timeout, **more
    )


def test_a_task_is_stopped_at_its_time_limit_with_what_it_started(tmp_path: Path) -> None:
    marker = tmp_path / "staging" / "stray.pid"

    def body() -> list[DbtOutcome]:
        stray = os.fork()  # a process the task starts, in the task's process group
        if stray == 0:
            time.sleep(60)
            os._exit(0)
        marker.write_text(str(stray))
        time.sleep(60)
        return [DbtOutcome(success=True)]

    outcome = workers._in_child(task(tmp_path, timeout=1), body)[0]
    assert not outcome.success and outcome.timed_out
    assert outcome.error == "stopped at its time limit of 1 s"
    stray = int(marker.read_text())
    for _ in range(50):  # the kill is sent; the stray is reaped by init shortly after
        try:
            os.kill(stray, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(stray, signal.SIGKILL)
        pytest.fail("a process the task started outlived its time limit")


def test_a_task_outcome_comes_back_validated_and_marked_sandboxed(tmp_path: Path) -> None:
    outcome = workers._in_child(task(tmp_path), lambda: [DbtOutcome(True, counts={"model": 3})])
    assert outcome == [DbtOutcome(True, counts={"model": 3}, sandboxed=True)]
    unconfined = workers._in_child(task(tmp_path, isolation="fork"), lambda: [DbtOutcome(True)])
    assert unconfined == [DbtOutcome(True, sandboxed=False)]


def test_a_child_that_writes_garbage_on_its_report_pipe_fails_its_task(tmp_path: Path) -> None:
    def body() -> list[DbtOutcome]:
        for fd in range(3, 64):  # everything the task's code can find
            with contextlib.suppress(OSError):
                os.write(fd, b'{"outcomes": "forged"}\n')
        return [DbtOutcome(success=True)]

    outcome = workers._in_child(task(tmp_path), body)[0]
    assert not outcome.success
    assert outcome.error is not None
    assert outcome.error.startswith("the dbt process of orders sent a report the worker cannot")


def test_a_child_that_dies_without_reporting_fails_its_task(tmp_path: Path) -> None:
    def body() -> list[DbtOutcome]:
        os.kill(os.getpid(), signal.SIGKILL)
        return []

    outcome = workers._in_child(task(tmp_path), body)[0]
    assert outcome.error == (
        "the dbt process of orders ended without reporting its outcome (it was killed by signal 9)"
    )


def test_a_sandbox_that_cannot_be_made_fails_the_task_saying_how_to_run_without_it(
    tmp_path: Path,
) -> None:
    broken = DbtTask("orders", [["build"]], {}, (str(tmp_path / "missing"),), None)
    outcome = workers._in_child(broken, lambda: [DbtOutcome(success=True)])[0]
    assert not outcome.success
    assert outcome.error is not None
    assert "the build sandbox could not be made" in outcome.error
    assert "MESH_SANDBOX=off" in outcome.error
    assert "\n" not in outcome.error


def test_dbt_deps_alone_may_write_the_project_folder() -> None:
    deps = ["deps", "--project-dir", "/mesh/domains/orders"]
    both = DbtTask("orders", [deps, ["build"]], {}, ("/staging",), "/staging")
    first, rest = workers._split_deps(both)
    assert first is not None
    assert first.commands == [deps]
    assert first.writable == ("/staging", "/mesh/domains/orders")
    assert rest.commands == [["build"]] and rest.writable == ("/staging",)
    assert workers._split_deps(rest) == (None, rest)
