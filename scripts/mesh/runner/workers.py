"""Run dbt in-process, in worker processes.

dbt runs through `dbtRunner` inside worker processes rather than one CLI start per command:
the import cost is paid once per worker. Three measured facts decide the shape:
- dbt invocations must not run concurrently in one process (shared adapter state), so
  parallelism is processes, each running one invocation at a time;
- dbt-loom re-wraps dbt functions on every invocation and fails after ~1000 in a process,
  so a worker is replaced after TASKS_PER_WORKER tasks;
- `env_var()` in profiles and sources and dbt-loom's configuration are read from the
  process environment, so each task sets the whole environment it needs.

Workers report progress (node started/finished) to the parent through a queue.

Each task runs in a child the worker forks (warm: the worker imported dbt once), so that the
domain's own code runs apart from the worker: the child closes what it inherited, enters the
build sandbox (sandbox.py), runs the dbt commands and sends its progress and outcome back as
JSON lines on a pipe. JSON, not pickle: the child runs code the mesh does not trust, and the
worker rebuilds and validates what it sends. The worker stops the child's process group when
the task's time limit is up. A task of an engine that keeps state in the worker across
domains (Spark's JVM) runs in the worker itself, unconfined.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import gc
import json
import multiprocessing
import multiprocessing.forkserver
import os
import re
import select
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import resource_tracker
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any, Final, Literal

import pydantic

from mesh.runner import manifest_once, parse_cache, sandbox

# A worker runs this many tasks (a few dbt invocations each), then is replaced.
TASKS_PER_WORKER = 20

FAILED_STATUSES = {"error", "fail", "runtime error"}


@dataclass(frozen=True)
class NodesPlanned:
    """dbt is about to run `nodes` nodes of `domain`."""

    domain: str
    nodes: int


@dataclass(frozen=True)
class NodeFinished:
    """dbt finished one node of `domain`."""

    domain: str
    resource_type: str
    status: str


ProgressEvent = NodesPlanned | NodeFinished
"""What a worker reports to the parent while a task runs."""


@dataclass(frozen=True)
class NodeFailure:
    """A node that did not pass: what it is, where it is defined, and dbt's message."""

    unique_id: str
    resource_type: str
    status: str
    message: str
    path: str = ""

    @property
    def name(self) -> str:
        return self.unique_id.split(".", 2)[-1] if self.unique_id else "?"


@dataclass
class DbtOutcome:
    """What a dbt task did, in plain data that crosses process boundaries."""

    success: bool
    error: str | None = None
    failures: list[NodeFailure] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    warnings: int = 0
    deprecations: list[str] = field(default_factory=list)
    usage: Usage | None = None
    sandboxed: bool = False  # set by the worker, never by what the task sent
    timed_out: bool = False  # stopped at the task's time limit


@dataclass(frozen=True)
class Usage:
    """What a task cost its worker: wall and CPU seconds (all threads, DuckDB's included),
    the worker's peak resident memory during the task, and seconds per dbt command."""

    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    command_seconds: dict[str, float]


Isolation = Literal["sandbox", "fork", "worker"]
"""Where a task runs: a forked child in the build sandbox (the default); a forked child
without it (MESH_SANDBOX=off); the worker itself (an engine whose session must outlive a
task, Spark's; no sandbox and no time limit)."""


@dataclass(frozen=True)
class DbtTask:
    """dbt commands to run in order for one domain, stopping at the first that fails.

    `writable`: the only paths the commands may write in the sandbox (the staging folder,
    and what `dbt deps` installs into the project); everything else is read-only.
    """

    domain: str
    commands: list[list[str]]
    env: dict[str, str]
    writable: tuple[str, ...]
    cwd: str | None = None  # working directory: relative paths in the profile start here
    isolation: Isolation = "sandbox"
    timeout: float | None = None  # seconds before the commands are stopped (None: no limit)
    # Keep the confined child for the worker's next task of the same domain and settings
    # (`mesh dev`): dbt's caches of the project survive, and a rebuild takes a third of the
    # time. Never for a build that publishes: its child must not have run anything before.
    session: bool = False


class TaskTimeoutError(Exception):
    """A task ran past its time limit and was stopped."""


_events: Queue[ProgressEvent] | None = None
_warming = False  # the worker builds its warm-up project: nothing to report
_report_fd: int | None = None  # in a task's child: the pipe to the worker
_send_lock = threading.Lock()
_current_domain = ""
_deprecations: list[str] = []  # refs to deprecated product versions seen in this invocation
_operation_errors: list[str] = []  # what failed a run-operation (dbt logs it, returns False)
# Why dbt refused a semantic layer: its exception says only "Semantic Manifest validation failed."
_semantic_failures: list[str] = []

DEPRECATION_EVENTS = {"UpcomingReferenceDeprecation", "DeprecatedReference"}


# Set in the `mesh` command before it starts its fork server, and in the server before it
# forks a worker: each process's parent, as its children check it.
COMMAND_PID, SERVER_PID = "MESH_COMMAND_PID", "MESH_FORK_SERVER_PID"


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when its parent, the fork server, dies; the server is
    killed when the `mesh` command dies (preload.py), e.g. `kill -9` of mesh build. (Waiting
    for the server to notice would not do: each worker holds the pipe whose end tells the
    server its command is gone.)

    A server that died before the request was made sends nothing, and the worker would
    wait forever for work (it holds its own end of the task queue open): a worker whose
    parent is not the server any more exits now. (Not a check that the command is alive: a
    dead command not yet reaped by its own parent still answers as a process.)
    """
    sandbox.die_with_parent()
    if str(os.getppid()) != os.environ.get(SERVER_PID):
        os._exit(1)


def _init_worker(events: Queue[ProgressEvent] | None, output: str | None) -> None:
    global _events
    _events = events
    _die_with_parent()
    # Ctrl-C on a terminal reaches the whole foreground process group. Only the parent acts
    # on it: it stops the workers itself (DbtWorkers.close), so a worker never dies half way
    # through a reply and the parent never sees a broken pool instead of the interrupt.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Imported by the fork server before it forked this worker (preload.py), so a no-op;
    # here for a server that could not preload: every task's child starts with dbt loaded.
    import dbt.adapters.duckdb
    import dbt.cli.main  # noqa: F401

    if output:
        # What the worker and the programs it starts (a JVM for Spark) print goes to a log.
        with Path(output).open("a") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
    # Once its queues are flushed (multiprocessing does that before the interpreter exits),
    # a worker exits without tearing down dbt's modules one by one: about 0.6 s the parent
    # would wait for. Handlers registered before this one (logging's) are skipped on purpose.
    atexit.register(os._exit, 0)


WARM_UP_PROJECT = {
    "dbt_project.yml": "name: warm_up\nversion: '1.0.0'\nprofile: warm_up\n",
    "profiles.yml": (
        "warm_up:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: ':memory:'\n      threads: 1\n"
    ),
    # What the domains' builds use: a table with an enforced contract, a view, incremental
    # models (delete+insert by key, and appended), the four generic tests. dbt compiles each
    # macro's template once per process, on first use (its template_cache): compiled here,
    # every child forked after has them (0.1-0.2 s less per domain build). And what every
    # domain's manifest holds, whose classes' readers and writers dbt also compiles on first
    # use (the build writes them; `_read_back_partial_parse` reads them): a group, a source,
    # a docs block, a versioned public model, an exposure. Not the semantic layer: only
    # analytics has one, and compiling it here cost the server 0.45 s to save that one task
    # 0.1-0.2 s. No foreign_key constraint (dbt parses its `to:` with dbt-extractor, as
    # below). No unit test:
    # dbt parses its fixtures with dbt-extractor whatever the flags say, which leaves that
    # parser's native threads in the server (tests/unit/test_workers.py).
    "models/warm_up.sql": "select 1::bigint as id, 'a' as status",
    "models/warm_up_view.sql": (
        "{{ config(materialized='view') }} select * from {{ ref('warm_up') }}"
    ),
    "models/warm_up_keyed.sql": (
        "{{ config(materialized='incremental', unique_key='id', "
        "incremental_strategy='delete+insert') }} select * from {{ ref('warm_up') }}"
        "{% if is_incremental() %} where id > (select max(id) from {{ this }}){% endif %}"
    ),
    "models/warm_up_appended.sql": (
        "{{ config(materialized='incremental') }} select * from {{ ref('warm_up') }}"
    ),
    "models/docs.md": "{% docs warm_up %}A warm-up table.{% enddocs %}",
    "models/warm_up.yml": """\
groups:
  - {name: warm_up, owner: {name: Platform, email: platform@example.com}}
sources:
  - name: landing
    schema: main
    tables: [{name: exports, columns: [{name: id}]}]
models:
  - name: warm_up
    description: '{{ doc("warm_up") }}'
    config: {materialized: table, contract: {enforced: true}, group: warm_up, access: public}
    constraints: [{type: primary_key, columns: [id]}]
    columns:
      - {name: id, data_type: bigint, constraints: [{type: not_null}], data_tests: [unique]}
      - name: status
        data_type: varchar
        data_tests: [not_null, {accepted_values: {arguments: {values: [a]}}}]
    latest_version: 1
    versions: [{v: 1}]
  - name: warm_up_view
    columns:
      - name: id
        data_tests: [{relationships: {arguments: {to: ref('warm_up'), field: id}}}]
exposures:
  - name: warm_up_report
    type: dashboard
    owner: {name: Platform, email: platform@example.com}
    depends_on: [ref('warm_up')]
""",
}
"""A project of the platform's own, with no domain code in it, that each worker builds once."""


def warm_up() -> DbtOutcome:
    """Build a tiny project of the platform's own in this process, once.

    A task runs in a child forked from its worker, and the workers are forked from one fork
    server per `mesh` command. Whatever dbt loads and builds on its first invocation (lazily
    imported modules and plugins, dbt-loom's included, its internal macros, serialisers)
    each task's child pays again, unless the server did it before forking: measured 2.65
    CPU-s once in the server against 0.6-1.6 CPU-s less in each domain build's child (0.04-
    0.2 s of it the macro templates of WARM_UP_PROJECT's features). So
    a pool that will run several tasks asks for it (`DbtWorkers(warm=True)`: warm.py; see
    `worth_warming`), and a one-domain build does not. Nothing of a domain runs here,
    outside the sandbox: the project is this module's own, in memory.
    """
    global _warming
    folder = Path(tempfile.mkdtemp(prefix="mesh-warm-up-"))
    try:
        for name, text in WARM_UP_PROJECT.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        _warming = True
        # --no-static-parser: dbt's static parser (dbt-extractor, native code) must not run
        # in a process that forks: a child forked after it deadlocked in its first parse.
        flags = ["--project-dir", str(folder), "--profiles-dir", str(folder),
                 "--target-path", str(folder / "target"), "--log-path", str(folder / "logs"),
                 "--log-level", "none", "--log-level-file", "none", "--no-use-colors",
                 "--no-static-parser"]  # fmt: skip
        built = invoke(["build", *flags])
        _read_back_partial_parse(folder / "target")
        return built
    finally:
        _warming = False
        _close_duckdb()
        shutil.rmtree(folder, ignore_errors=True)
        _release_semaphores()


def _read_back_partial_parse(target: Path) -> None:
    """Read the warm-up's partial-parse file as a domain build's dbt reads its own, so that
    the readers of every class in it are compiled here, once, and not in each child.

    dbt's artifacts are mashumaro dataclasses compiled lazily: each class's reader and
    writer is generated (Python source, then `exec`) on its first use in a process. A child
    forked from a server that never used them generates them again for its own build,
    mostly to read the partial-parse file every build reads
    (`ManifestLoader.read_manifest_for_partial_parse`, whose call this repeats) and to write
    its manifest. Measured in the tasks of warm builds: 0.10-0.20 s of each task before,
    0.04-0.05 s with this and WARM_UP_PROJECT's kinds of node (analytics 0.15-0.17 s: its
    semantic layer), for 0.25 s more once in the server. What is left: the unit tests'
    classes. Whatever goes wrong here (a dbt without these names, a file it cannot read) is
    left as it is: its children then compile them. Nothing may raise: this runs as the fork
    server starts, and a server that stops there fails every build that asks for it."""
    with contextlib.suppress(Exception):
        from dbt.contracts.graph.manifest import Manifest
        from dbt.parser.manifest import extended_mashumuro_decoder

        data = (target / parse_cache.PARTIAL_PARSE).read_bytes()
        Manifest.from_msgpack(data, decoder=extended_mashumuro_decoder)


def _release_semaphores() -> None:
    """Let go of the locks the warm-up's dbt made, so that the server removes them now.

    dbt makes its locks in multiprocessing's spawn context (an adapter's connection lock, a
    manifest's): named semaphores, each registered with the command's resource tracker until
    its owner removes it on garbage collection. This server and its workers end without
    running finalizers (the kernel kills them, or they `os._exit`), so the tracker removed
    the warm-up's two at the command's end and printed a warning about leaked semaphores
    under every build of four domains or more."""
    with contextlib.suppress(Exception):  # best effort: the server must go on serving
        from dbt.adapters.factory import reset_adapters

        reset_adapters()  # type: ignore[no-untyped-call]
        gc.collect()


def _on_event(event: Any) -> None:
    """dbt callback: report planned and finished nodes; note operation errors, deprecations."""
    name = event.info.name
    if name in ("RunningOperationCaughtError", "RunningOperationUncaughtError"):
        _operation_errors.append(str(event.data.exc).strip())
    if name == "SemanticValidationFailure":
        _semantic_failures.append(" ".join(str(event.data.msg).split()))
    if name in DEPRECATION_EVENTS:
        message = " ".join(event.info.msg.split())
        if message not in _deprecations:
            _deprecations.append(message)
    if name == "LogStartLine" and event.data.index == 1:
        _report(NodesPlanned(_current_domain, int(event.data.total)))
    elif name == "NodeFinished":
        info = event.data.node_info
        _report(NodeFinished(_current_domain, info.resource_type, info.node_status))


def _report(event: ProgressEvent) -> None:
    """Progress goes to the worker's pipe in a task's child, else on the events queue."""
    if _warming:
        return
    if _report_fd is not None:
        _send(_report_fd, {"event": type(event).__name__, **dataclasses.asdict(event)})
    elif _events is not None:
        _events.put(event)


def _summarise(result: Any) -> tuple[list[NodeFailure], dict[str, int], int]:
    failures: list[NodeFailure] = []
    counts: dict[str, int] = {}
    warnings = 0
    for node_result in getattr(result, "results", None) or []:
        node = getattr(node_result, "node", None)
        if node is None:  # a run-operation's result: no node, nothing to count
            continue
        status = str(node_result.status)
        resource_type = str(node.resource_type)
        counts[resource_type] = counts.get(resource_type, 0) + 1
        if status == "warn":
            warnings += 1
        if status in FAILED_STATUSES:
            failures.append(
                NodeFailure(
                    unique_id=node.unique_id,
                    resource_type=resource_type,
                    status=status,
                    message=(node_result.message or "").strip(),
                    path=getattr(node, "original_file_path", "") or "",
                )
            )
    return failures, counts, warnings


def invoke(args: list[str]) -> DbtOutcome:
    """Run one dbt command in this process."""
    from dbt.cli.main import dbtRunner

    _deprecations.clear()
    _operation_errors.clear()
    _semantic_failures.clear()
    try:
        with manifest_once.written_at_end(args[0] if args else ""):
            outcome = dbtRunner(callbacks=[_on_event]).invoke(args)
    except Exception as raised:  # dbt raised instead of reporting: still one outcome
        return DbtOutcome(success=False, error=f"{type(raised).__name__}: {raised}")
    failures, counts, warnings = _summarise(outcome.result)
    message = None
    if outcome.exception is not None:
        message = "\n".join([str(outcome.exception).strip(), *_semantic_failures])
    elif not outcome.success and _operation_errors:
        message = "\n".join(_operation_errors)
    elif not outcome.success and not failures:
        message = "dbt reported failure without a failing node; see the build log."
    return DbtOutcome(
        success=bool(outcome.success),
        error=message,
        failures=failures,
        counts=counts,
        warnings=warnings,
        deprecations=list(_deprecations),
    )


def _peak_rss_bytes() -> int:
    """The high-water mark of this process's resident memory since the last reset."""
    with contextlib.suppress(OSError):
        found = re.search(r"^VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
        if found:
            return int(found.group(1)) * 1024
    return 0


@contextlib.contextmanager
def _task(task: DbtTask) -> Iterator[None]:
    """Enter the task's domain, environment and directory; after it, close its DuckDB, go back."""
    global _current_domain
    _current_domain = task.domain
    os.environ.update(task.env)
    previous = Path.cwd()
    if task.cwd:
        os.chdir(task.cwd)
    try:
        yield
    finally:
        _close_duckdb()
        os.chdir(previous)


def _run_commands(task: DbtTask) -> DbtOutcome:
    """Run a domain's dbt commands in this process, stopping at the first that fails."""
    with contextlib.suppress(OSError):  # a new high-water mark of resident memory (Linux)
        Path("/proc/self/clear_refs").write_text("5")
    started, cpu_started = time.perf_counter(), time.process_time()
    outcome = DbtOutcome(success=True)
    command_seconds: dict[str, float] = {}
    with _task(task):
        for command in task.commands:
            command_started = time.perf_counter()
            outcome = invoke(command)
            # `build`, `deps`...; a run-operation by its macro (a task may run several)
            name = " ".join(command[:2]) if command[0] == "run-operation" else command[0]
            command_seconds[name] = time.perf_counter() - command_started
            if not outcome.success:
                break
    outcome.usage = Usage(
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        peak_rss_bytes=_peak_rss_bytes(),
        command_seconds=command_seconds,
    )
    return outcome


def _run_all(task: DbtTask) -> list[DbtOutcome]:
    with _task(task):
        return [invoke(command) for command in task.commands]


def run_task(task: DbtTask) -> DbtOutcome:
    """Run a domain's dbt commands, stopping at the first that fails. Called in a worker."""
    if task.isolation == "worker":
        return _run_commands(task)
    deps, rest = _split_deps(task)
    if deps is not None:
        installed = _in_child(
            dataclasses.replace(deps, session=False), lambda: [_run_commands(deps)]
        )[0]
        if not installed.success or not rest.commands:
            return installed
        rest = dataclasses.replace(rest, timeout=_left(task, installed))
    if rest.session:
        return _in_session(rest)
    return _in_child(rest, lambda: [_run_commands(rest)])[0]


def run_each(task: DbtTask) -> list[DbtOutcome]:
    """Run every command of a task, whatever the outcome of the ones before; in a worker."""
    if task.isolation == "worker":
        return _run_all(task)
    deps, rest = _split_deps(task)
    outcomes = []
    for part in (deps, rest):
        if part is not None and part.commands:
            done = _in_child(part, lambda part=part: _run_all(part))  # type: ignore[misc]
            if len(done) != len(part.commands):  # the child failed before running them
                done = [done[0]] * len(part.commands)
            outcomes += done
    return outcomes


def _split_deps(task: DbtTask) -> tuple[DbtTask | None, DbtTask]:
    """`dbt deps` first, on its own: it installs packages into the project folder, so only
    it may write there (it renders the project's YAML but runs none of its SQL or Python);
    the other commands get the task's writable paths alone."""
    first = task.commands[0] if task.commands else []
    if not first or first[0] != "deps" or "--project-dir" not in first:
        return None, task
    project = first[first.index("--project-dir") + 1]
    deps = dataclasses.replace(task, commands=[first], writable=(*task.writable, project))
    return deps, dataclasses.replace(task, commands=task.commands[1:])


def _left(task: DbtTask, spent: DbtOutcome) -> float | None:
    if task.timeout is None:
        return None
    return max(0.001, task.timeout - (spent.usage.seconds if spent.usage else 0.0))


# What a task's child may send before the worker stops reading it: its outcome and progress
# are a few kilobytes; a child that floods the pipe fails its task instead of the worker.
MAX_REPORT_BYTES = 64 * 1024 * 1024

_EVENTS: dict[str, type[NodesPlanned] | type[NodeFinished]] = {
    "NodesPlanned": NodesPlanned,
    "NodeFinished": NodeFinished,
}


@functools.cache
def _reader(line: str) -> pydantic.TypeAdapter[Any]:
    """The validator of one kind of report line ("outcomes" or an event's name), made once
    per worker, not once per line."""
    return pydantic.TypeAdapter(list[DbtOutcome] if line == "outcomes" else _EVENTS[line])


class _BadReportError(Exception):
    """What a task's child sent is not a report the worker can read."""


def _send(fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    with _send_lock:  # dbt reports nodes from its threads: one line at a time
        while data:
            data = data[os.write(fd, data) :]


def _in_child(task: DbtTask, body: Callable[[], list[DbtOutcome]]) -> list[DbtOutcome]:
    """Run `body` in a forked child of this worker (confined unless the task says "fork"),
    stopped at the task's time limit; its outcomes, rebuilt from the JSON it sent."""
    read, write = os.pipe()

    def run() -> None:  # the child
        os.close(read)
        _child(task, write, body)

    pid = _fork(run)
    os.close(write)
    try:
        outcomes = _collect(task, pid, read)
    except TaskTimeoutError:
        return [_timed_out(task)]
    except _BadReportError as error:
        return [DbtOutcome(success=False, error=f"the dbt process of {task.domain} {error}")]
    finally:
        os.close(read)
        _stop(pid)
    sandboxed = task.isolation == "sandbox"
    return [dataclasses.replace(outcome, sandboxed=sandboxed) for outcome in outcomes]


def _fork(child: Callable[[], None]) -> int:
    """Fork a child of this worker that runs `child` and exits (status 1 if it raised)."""
    gc.freeze()  # the worker's objects (dbt, warm): the child's collections skip them
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 1
        try:
            child()
            status = 0
        finally:
            os._exit(status)
    return pid


def _timed_out(task: DbtTask) -> DbtOutcome:
    limit = f"stopped at its time limit of {task.timeout:g} s"
    return DbtOutcome(success=False, timed_out=True, error=limit)


def _stop(pid: int) -> int:
    """Kill what is left of a task's process group (a child's strays, or the child at its
    time limit) and reap the child; its wait status."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        return os.waitpid(pid, 0)[1]
    return 0


def _child(
    task: DbtTask,
    fd: int,
    body: Callable[[], list[DbtOutcome]],
    keep: list[int] | None = None,
    report_outcomes: bool = True,
) -> None:
    """In the forked child: leave the worker's session and files, enter the sandbox, run;
    send the outcomes on `fd` (unless `body` sends them itself: a session's)."""
    global _report_fd, _events
    os.setsid()  # its own process group, which the worker kills at the time limit
    sandbox.die_with_parent()
    sandbox.close_fds_except([fd, *(keep or [])])
    _events, _report_fd = None, fd
    # dbt's adapter takes multiprocessing locks, which register with the worker's resource
    # tracker through a pipe the child just closed; in the sandbox they live in its own
    # /dev/shm, gone with it, so there is nothing for a tracker to clean up.
    resource_tracker.register = resource_tracker.unregister = _untracked  # type: ignore[assignment]
    try:
        if task.isolation == "sandbox":
            sandbox.enter(task.writable)
        if task.writable:  # temporary files in its first writable folder (a build's staging)
            temporary = Path(task.writable[0]) / "tmp"
            temporary.mkdir(exist_ok=True)
            os.environ["TMPDIR"] = str(temporary)
        tempfile.tempdir = None  # found again here: the worker's (warm-up) is read-only now
        outcomes = body()
    except sandbox.SandboxError as error:
        reason = f"the build sandbox could not be made ({error}); {sandbox.OFF_HINT}"
        outcomes = [DbtOutcome(success=False, error=reason)]
    except OSError as error:  # setting up its folders: said, not a silent exit
        outcomes = [DbtOutcome(success=False, error=f"{type(error).__name__}: {error}")]
        report_outcomes = True
    if report_outcomes:
        _send(fd, {"outcomes": [dataclasses.asdict(outcome) for outcome in outcomes]})


def _untracked(name: str, rtype: str) -> None:
    return None


def _collect(task: DbtTask, pid: int, fd: int) -> list[DbtOutcome]:
    """Read the child's report until it closes the pipe or its time is up; forward its
    progress to the events queue."""
    outcomes, rest = _read_report(task, fd, until_outcome=False)
    status = _stop(pid)
    if outcomes is None or rest.strip() or not outcomes:
        raise _BadReportError(f"ended without reporting its outcome (it {_ended(status)})")
    return outcomes


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _read_report(
    task: DbtTask, fd: int, until_outcome: bool
) -> tuple[list[DbtOutcome] | None, bytes]:
    """Read a child's report lines from `fd`, forwarding its progress to the events queue,
    until the pipe closes (a task's child) or, with `until_outcome`, until its outcome (a
    session's child, which stays); the outcomes and what was left unread of the last line."""
    deadline = time.monotonic() + task.timeout if task.timeout else None
    buffer, received = b"", 0
    outcomes: list[DbtOutcome] | None = None
    while not (until_outcome and outcomes is not None):
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            raise TaskTimeoutError(task.domain)
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        received += len(chunk)
        if received > MAX_REPORT_BYTES:
            raise _BadReportError("sent more than the worker reads from a task")
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            try:
                message = json.loads(line)
                if not isinstance(message, dict):
                    raise TypeError("not a JSON object")
                if "outcomes" in message:
                    if outcomes is not None:  # one report per task: a second is forged
                        raise ValueError("a second outcome")
                    outcomes = _reader("outcomes").validate_python(message["outcomes"])
                    continue
                if outcomes is not None:  # nothing of a task comes after its outcome
                    raise ValueError("a line after the outcome")
                kind = message.pop("event")
                if kind not in _EVENTS:
                    raise KeyError(kind)
                message["domain"] = task.domain  # the worker knows whose task it is
                event = _reader(kind).validate_python(message)
            except (ValueError, TypeError, KeyError) as error:
                # Not the child the worker started any more: stopped at once (by the caller).
                raise _BadReportError(f"sent a report the worker cannot read: {error}") from None
            if _events is not None:
                _events.put(event)
    return outcomes, buffer


# Sessions (`DbtTask.session`) -----------------------------------------------------------------


@dataclass
class _Session:
    """A confined child of this worker that runs one domain's tasks, one after the other."""

    key: tuple[Any, ...]
    pid: int
    commands: int  # the pipe the worker writes each task's commands to
    report: int  # the pipe the child reports on


_session: _Session | None = None  # at most one per worker: `mesh dev` gives each domain a worker


def _session_key(task: DbtTask) -> tuple[Any, ...]:
    return (task.domain, task.writable, task.cwd, task.isolation, sorted(task.env.items()))


def _end_session() -> None:
    global _session
    if _session is not None:
        for fd in (_session.commands, _session.report):
            with contextlib.suppress(OSError):
                os.close(fd)
        _stop(_session.pid)
        _session = None


def _in_session(task: DbtTask) -> DbtOutcome:
    """Run the task's commands in this worker's session child for its domain and settings,
    starting one (confined as a task's child is) when there is none or it is another's."""
    global _session
    key = _session_key(task)
    if _session is not None and _session.key != key:
        _end_session()
    if _session is None:
        commands_read, commands_write = os.pipe()
        report_read, report_write = os.pipe()

        def serve() -> None:  # the child: serves until the worker closes its commands pipe
            os.close(commands_write)
            os.close(report_read)
            _serve(task, commands_read, report_write)

        pid = _fork(serve)
        os.close(commands_read)
        os.close(report_write)
        _session = _Session(key, pid, commands_write, report_read)
    session = _session
    try:
        _send(session.commands, {"commands": task.commands})
        outcomes, rest = _read_report(task, session.report, until_outcome=True)
        if outcomes is None or rest.strip() or len(outcomes) != 1:
            status = _stop(session.pid)
            raise _BadReportError(f"ended without reporting its outcome (it {_ended(status)})")
    except TaskTimeoutError:
        _end_session()
        return _timed_out(task)
    except (_BadReportError, OSError) as error:
        _end_session()
        return DbtOutcome(success=False, error=f"the dbt process of {task.domain} {error}")
    return dataclasses.replace(outcomes[0], sandboxed=task.isolation == "sandbox")


def _serve(task: DbtTask, commands: int, report: int) -> None:
    """In a session's child: confine itself as a task's child does, then run each task the
    worker sends (one JSON line of commands), reporting each outcome on `report`."""

    def serve() -> list[DbtOutcome]:
        with os.fdopen(commands, "rb", buffering=0) as lines:
            for line in iter(lines.readline, b""):
                sent = json.loads(line)["commands"]
                outcome = _run_commands(dataclasses.replace(task, commands=sent))
                _send(report, {"outcomes": [dataclasses.asdict(outcome)]})
        return []

    _child(task, report, serve, keep=[commands], report_outcomes=False)


def _close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open across the nodes of an invocation
    (`keep_open: true` in profiles.yml saves opening the file and attaching the upstreams
    for every node), so no file stays locked by this worker once its task is done."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()  # type: ignore[no-untyped-call]
        DuckDBConnectionManager._ENV = None


# The warm-up pays in CPU from about three tasks on, but it comes before the first task
# starts: a three-domain build took 1 to 4 s longer with it, a five-domain one about 1 s less.
WARM_FROM_TASKS = 4


def worth_warming(tasks: int) -> bool:
    """Whether a pool that will run about `tasks` tasks should have its server warm up."""
    return tasks >= WARM_FROM_TASKS


class DbtWorkers:
    """A pool of worker processes running dbt tasks, each worker recycled after a while."""

    def __init__(
        self,
        workers: int = 1,
        events: Queue[ProgressEvent] | None = None,
        output: Path | None = None,
        tasks_per_worker: int = TASKS_PER_WORKER,
        preload: Sequence[str] = (),
        warm: bool = False,
    ) -> None:
        """`output`: a file for what workers print (default: the parent's terminal);
        `preload`: modules the fork server imports too; `warm`: the server warms dbt up
        first (`warm_up`), for a pool that will run several tasks. Both only if this pool
        starts the command's fork server."""
        self.size = workers
        self.events = events
        self._started = False
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_context([*preload, *(["mesh.runner.warm"] if warm else [])]),
            max_tasks_per_child=tasks_per_worker,
            initializer=_init_worker,
            initargs=(events, str(output) if output else None),
        )

    def submit(self, task: DbtTask) -> Future[DbtOutcome]:
        """Run the task's commands in order, stopping at the first that fails."""
        self._start()
        return self._pool.submit(run_task, task)

    def submit_each(self, task: DbtTask) -> Future[list[DbtOutcome]]:
        """Run all of the task's commands, each whatever the others did."""
        self._start()
        return self._pool.submit(run_each, task)

    def _start(self) -> None:
        if not self._started:
            _start_server()
            self._started = True

    def close(self, stop: bool = False) -> None:
        """Wait for the running tasks to end; with `stop` (after Ctrl-C), kill the workers at
        once instead: each task's child dies with its worker (PR_SET_PDEATHSIG), and what it
        left in its staging folder the next build removes."""
        if stop:
            # ProcessPoolExecutor has no public way to stop running work before Python 3.14.
            for process in list((self._pool._processes or {}).values()):
                process.kill()
        self._pool.shutdown(wait=not stop, cancel_futures=True)
        if stop:  # the server too, now: one still warming up would hold the exit
            stop_server(patience=0.0)

    def __enter__(self) -> DbtWorkers:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self.close(stop=kind is not None and issubclass(kind, KeyboardInterrupt))


START_METHOD: Final = "forkserver"


def _context(preload: Sequence[str] = ()) -> multiprocessing.context.ForkServerContext:
    """Workers are forked from a fork server: a clean process (not this one, which may have
    threads) that imports dbt once per `mesh` command before forking the first worker
    (preload.py), then `preload`. Started with spawn, each worker imported dbt again: 1.9
    CPU-s per worker, on the same two cores the builds need. One server serves the command:
    the first pool's `preload` is the one it has."""
    context = multiprocessing.get_context(START_METHOD)
    context.set_forkserver_preload(["mesh.runner.preload", *preload])
    return context


def _start_server() -> None:
    """Start the command's fork server if it is not running: at the first task, so that a
    build with nothing to build (or whose domains all fail their checks first) starts none,
    and from the thread that submits it (the command's main thread, not the pool's own: the
    server dies with the thread that started it). It starts with Ctrl-C blocked, until it
    ignores it (preload.py): only the command acts on Ctrl-C, and a server importing dbt
    would print a traceback. The command's own Ctrl-C is kept pending meanwhile."""
    os.environ[COMMAND_PID] = str(os.getpid())
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    atexit.unregister(stop_server)  # once, whatever the number of pools
    atexit.register(stop_server)


def stop_server(patience: float = 1.0) -> None:
    """At the command's exit, after its pools have ended (and before `mesh dev` replaces
    itself: `exec` skips exit handlers): stop the fork server and reap it.
    Unreaped, it died after the command, and the CPU time of every worker it forked was not
    counted in the command's (what `wait4` and `time` report: `make bench` showed 2.2 CPU-s
    for a build that used 9). An idle server ends at once; one still importing dbt or
    warming up is killed after `patience` seconds (at once after Ctrl-C: `close`)."""
    server: Any = getattr(multiprocessing.forkserver, "_forkserver")  # noqa: B009
    with server._lock:  # not while a pool's thread starts it again (ensure_running)
        pid, alive = server._forkserver_pid, server._forkserver_alive_fd
        if pid is None:
            return
        server._forkserver_pid = server._forkserver_alive_fd = None
        server._forkserver_address = None
    with contextlib.suppress(OSError):
        os.close(alive)  # the server's signal to end
    deadline = time.monotonic() + patience
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.005)


def event_queue() -> Queue[ProgressEvent]:
    """A queue workers can report progress on (made in the same context as the workers)."""
    return multiprocessing.get_context(START_METHOD).Queue()
