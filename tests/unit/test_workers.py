"""The dbt workers' fork server: what it loads before forking them."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a Python of its own, apart from pytest's process, as the server runs."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )


def test_the_warm_up_project_builds() -> None:
    # A warm-up that dbt refused (as its `version: '1'` once was, silently) warms nothing up:
    # each build's child then pays dbt's first invocation itself. Run apart from pytest's
    # process, as the fork server runs it.
    code = (
        "import dataclasses, json\n"
        "from mesh.runner.workers import warm_up\n"
        "print(json.dumps(dataclasses.asdict(warm_up())))\n"
    )
    done = _python(code)
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome["success"], outcome["error"]
    assert outcome["counts"] == {"model": 4, "test": 4, "exposure": 1}


def test_after_the_warm_up_reading_a_partial_parse_file_compiles_nothing() -> None:
    # dbt's artifact classes compile their readers on first use (mashumaro, lazily); those
    # the server did not use, every build's child compiled again, mostly to read its
    # partial-parse file: 0.1-0.2 s of each task. After the warm-up, dbt parsing a project
    # again (reading the file its first parse wrote) compiles none.
    code = (
        "import pathlib, tempfile\n"
        "from mashumaro.core.meta.code.builder import CodeBuilder\n"
        "from mesh.runner import workers\n"
        "assert workers.warm_up().success\n"
        "folder = pathlib.Path(tempfile.mkdtemp())\n"
        "for name, text in workers.WARM_UP_PROJECT.items():\n"
        "    (folder / name).parent.mkdir(parents=True, exist_ok=True)\n"
        "    (folder / name).write_text(text)\n"
        "flags = ['--project-dir', str(folder), '--profiles-dir', str(folder),\n"
        "         '--log-level', 'none', '--no-static-parser']\n"
        "assert workers.invoke(['parse', *flags]).success\n"
        "compiled, read = [], []\n"
        "original = CodeBuilder.add_unpack_method\n"
        "def counted(builder):\n"
        "    compiled.append(builder.cls.__name__)\n"
        "    return original(builder)\n"
        "CodeBuilder.add_unpack_method = counted\n"
        "from dbt.parser.manifest import ManifestLoader\n"
        "reader = ManifestLoader.read_manifest_for_partial_parse\n"
        "def reading(loader):\n"
        "    found = reader(loader)\n"
        "    read.append(found is not None)\n"
        "    return found\n"
        "ManifestLoader.read_manifest_for_partial_parse = reading\n"
        "assert workers.invoke(['parse', *flags]).success\n"
        "print('read' if read == [True] else 'not read', ' '.join(compiled) or 'none')\n"
    )
    # The second parse did read the file (else it would compile nothing either).
    assert _python(code).stdout.split()[-2:] == ["read", "none"]


def test_the_fork_server_imports_dbt_and_ignores_ctrl_c() -> None:
    code = (
        "import os, signal, sys\n"
        "import mesh.runner.preload\n"
        "assert 'dbt.cli.main' in sys.modules and 'dbt.adapters.duckdb' in sys.modules\n"
        "assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN\n"
        "assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])\n"
        "assert os.environ['MESH_FORK_SERVER_PID'] == str(os.getpid())\n"
    )
    command = {**os.environ, "MESH_COMMAND_PID": str(os.getpid())}  # its parent: this process
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env=command)


def test_a_fork_server_whose_command_is_gone_exits_at_once() -> None:
    # Its parent is not the command that started it (that one died and it was adopted).
    elsewhere = {**os.environ, "MESH_COMMAND_PID": str(os.getpid() + 1_000_000)}
    done = subprocess.run(
        [sys.executable, "-c", "import mesh.runner.preload; print('served')"],
        capture_output=True, text=True, timeout=120, env=elsewhere,
    )  # fmt: skip
    assert done.returncode == 1 and "served" not in done.stdout


def test_the_warm_up_leaves_no_thread_behind() -> None:
    # The fork server forks every worker after the warm-up: a thread left running there (the
    # native pool of dbt's static parser left three) is missing in the fork, and a lock it
    # held stays held. Every domain build's child hung in its first parse.
    code = (
        "import os\n"
        "from mesh.runner import workers\n"
        "assert workers.warm_up().success\n"
        "print(len(os.listdir('/proc/self/task')))\n"
    )
    done = _python(code)
    assert done.stdout.split() == ["1"]


def test_the_warm_up_leaves_no_semaphore_for_the_resource_tracker() -> None:
    # dbt's locks are named semaphores of the spawn context, registered with the command's
    # resource tracker. The fork server ends without running finalizers (the kernel ends it;
    # os._exit here), so the tracker removed any the warm-up left alive and printed a warning
    # about leaked semaphores at the end of builds of four domains or more.
    code = (
        "import os\n"
        "from multiprocessing import resource_tracker\n"
        "from mesh.runner import workers\n"
        "resource_tracker.ensure_running()\n"
        "assert workers.warm_up().success\n"
        "os._exit(0)\n"
    )
    done = _python(code)
    assert "leaked semaphore" not in done.stderr, done.stderr


def _cpu_seconds_of(code: str) -> float:
    """The CPU time `wait4` reports for a Python running `code`: its own and that of every
    descendant reaped before it ended, as `time` and `make bench` count a command's."""
    process = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0
    return usage.ru_utime + usage.ru_stime


def test_a_commands_cpu_time_counts_its_fork_server() -> None:
    # The server imports dbt (about 2 CPU-s) and forks every worker. Left unreaped when the
    # command ended, none of that was counted: `make bench` showed 2.2 CPU-s for a build
    # whose workers alone used 9.
    # The worker's round trip waits for the server to have imported dbt; the command then
    # ends as a build does, its server idle.
    start = "import os\nfrom mesh.runner import workers\nw = workers.DbtWorkers(1)\n"
    alone = _cpu_seconds_of(start)
    served = _cpu_seconds_of(start + "w._start()\nw._pool.submit(os.getpid).result()\nw.close()\n")
    assert served - alone > 1.0, (alone, served)
