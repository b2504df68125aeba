"""Hostile dbt code in one domain's build, and builds that never finish.

The policy that refuses such code is switched on for the domain (allowed_escapes.yml), so
that the code reaches the build sandbox, which must hold on its own: no other domain's
publish and no file outside the build's staging folder changes, and the build fails with
a clear line. A build that runs past `--timeout` is stopped, releases its lock, and the other
domains of the build go on.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from mesh.pipeline.locks import domain_lock
from tests.integration.conftest import mesh

pytestmark = pytest.mark.integration

REFUSED = re.compile(r"Read-only file system|Permission denied")
HOSTILE = "fulfillment"  # a small domain, consuming orders
VICTIM = "customers"  # a domain it has no business reading at all


def files(root: Path) -> dict[str, tuple[int, int, int, bytes]]:
    """Every file under `root`: size, modification time, inode and (if small) its bytes."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            stat = path.stat()
            data = path.read_bytes() if stat.st_size < 64 * 1024 * 1024 else b""
            found[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns, stat.st_ino, data)
    return found


def allow(root: Path, domain: str, *kinds: str) -> None:
    (root / "allowed_escapes.yml").write_text(f"{domain}: [{', '.join(kinds)}]\n")


def test_hostile_dbt_code_changes_nothing_outside_its_staging_folder(mesh_copy: Path) -> None:
    root, domain = mesh_copy, mesh_copy / "domains" / HOSTILE
    victim_db = root / "warehouse/published" / VICTIM / "current" / f"{VICTIM}.duckdb"
    upstream_db = root / "warehouse/published/orders/current/orders.duckdb"
    in_tmp = Path("/tmp") / f"mesh-sandbox-{uuid.uuid4().hex}.txt"
    outside = root / "copied_out.csv"
    planted = root / "domains" / VICTIM / "models" / "planted.sql"
    allow(root, HOSTILE, "python_models", "attach", "files", "settings")
    # An on-run-end hook and a model's run_query: ATTACH other domains' publishes read-write.
    (domain / "macros" / "hostile.sql").write_text(
        "{% macro tamper(path, alias, detach='') %}\n"
        "  {% if detach %}{% do run_query('detach ' ~ detach) %}{% endif %}\n"
        '  {% do run_query("attach \'" ~ path ~ "\' as " ~ alias ~ " (read_only false)") %}\n'
        "  {% do run_query('create table ' ~ alias ~ '.main.tampered as select 1 as x') %}\n"
        "{% endmacro %}\n"
    )
    project = domain / "dbt_project.yml"
    project.write_text(
        project.read_text() + f"\non-run-end:\n  - \"{{{{ tamper('{victim_db}', 'victim') }}}}\"\n"
    )
    hostile = domain / "models" / "intermediate"
    (hostile / "int_tamper_upstream.sql").write_text(
        f"{{% if execute %}}{{{{ tamper('{upstream_db}', 'upstream_rw', 'orders') }}}}"
        "{% endif %}\nselect 1 as x\n"
    )
    (hostile / "int_copy_out.sql").write_text(
        f"{{% if execute %}}{{% do run_query(\"copy (select 42 as x) to '{outside}'\") %}}"
        "{% endif %}\nselect 1 as x\n"
    )
    # A Python model: files in another domain's folder and in /tmp, the published file's
    # bytes, another ATTACH and a socket. It notes what happened to each.
    (hostile / "int_escape.py").write_text(
        f"""import json, os, socket


def attempt(action):
    try:
        action()
        return "done"
    except Exception as error:
        return type(error).__name__ + ": " + str(error)


def model(dbt, session):
    dbt.config(materialized="table")
    found = {{
        "other domain's folder": attempt(lambda: open({str(planted)!r}, "w").write("select 1")),
        "tmp": attempt(lambda: open({str(in_tmp)!r}, "w").write("x")),
        "published bytes": attempt(lambda: open({str(victim_db)!r}, "r+b").write(b"0" * 64)),
        "attach": attempt(lambda: session.execute("attach '" + {str(victim_db)!r} + "' as v2")),
        "socket": attempt(lambda: socket.create_connection(("1.1.1.1", 80), timeout=3)),
    }}
    # TMPDIR is in the staging folder, the one place the build may write.
    with open(os.path.join(os.environ["TMPDIR"], "attempts.json"), "w") as notes:
        json.dump(found, notes)
    return session.sql("select 1 as x")
"""
    )
    before = files(root / "domains") | files(root / "warehouse/published")
    before |= files(root / "warehouse/private")

    run = mesh(root, "build", HOSTILE, "--only", "--timeout", "300", check=False)

    assert run.returncode == 1
    assert f"{HOSTILE}: FAILED" in run.stderr
    assert "Traceback" not in run.output
    after = files(root / "domains") | files(root / "warehouse/published")
    after |= files(root / "warehouse/private")
    installed = f"domains/{HOSTILE}/dbt_packages", f"domains/{HOSTILE}/package-lock.yml"
    changed = {
        path
        for path in set(before) | set(after)
        if before.get(path) != after.get(path) and not path.startswith(installed)
    }
    assert changed == set()  # bytes, mtime and inode of every publish and every domain's code
    assert not in_tmp.exists() and not outside.exists() and not planted.exists()
    (staging,) = (root / "warehouse/build" / HOSTILE).iterdir()
    attempts = json.loads((staging / "tmp" / "attempts.json").read_text())
    # Refused by the read-only mount, or first by the 0444 mode published files have, which
    # the sandbox's dropped capabilities (no CAP_DAC_OVERRIDE) let hold even for root.
    for attack in ("other domain's folder", "tmp", "published bytes", "attach"):
        assert REFUSED.search(attempts[attack]), (attack, attempts[attack])
    assert "Network is unreachable" in attempts["socket"]
    # The SQL attacks failed their nodes and hook for the same reason, in dbt's own words.
    log = (staging / "logs" / "dbt.log").read_text()
    for database in (upstream_db, victim_db):  # the model's ATTACH, the hook's ATTACH
        opened = f'Cannot open file "{database.resolve()}": '
        assert re.search(re.escape(opened) + REFUSED.pattern, log), database
    assert re.search(r"int_copy_out.*?Read-only file system", log, re.DOTALL)


def test_a_model_writing_to_every_inherited_descriptor_fails_only_its_build(
    mesh_copy: Path,
) -> None:
    root = mesh_copy
    allow(root, HOSTILE, "python_models")
    (root / "domains" / HOSTILE / "models" / "intermediate" / "int_descriptors.py").write_text(
        "import os\n\n\ndef model(dbt, session):\n"
        "    dbt.config(materialized='table')\n"
        "    for fd in range(3, 1024):\n"
        "        try:\n"
        "            os.write(fd, b'not a report\\n')\n"
        "        except OSError:\n"
        "            pass\n"
        "    return session.sql('select 1 as x')\n"
    )
    published = files(root / "warehouse/published")

    run = mesh(root, "build", HOSTILE, "--only", "--timeout", "300", check=False)

    assert run.returncode == 1
    assert f"{HOSTILE}: FAILED" in run.stderr
    assert f"the dbt process of {HOSTILE} sent a report the worker cannot read" in run.stderr
    assert "Traceback" not in run.output
    assert "did not publish" in run.stderr  # the build itself went on to its summary
    assert files(root / "warehouse/published") == published


def test_a_build_past_its_time_limit_is_stopped_and_the_others_go_on(mesh_copy: Path) -> None:
    root = mesh_copy
    allow(root, HOSTILE, "python_models")
    (root / "domains" / HOSTILE / "models" / "intermediate" / "int_forever.py").write_text(
        "import time\n\n\ndef model(dbt, session):\n"
        "    dbt.config(materialized='table')\n    time.sleep(3600)\n"
        "    return session.sql('select 1 as x')\n"
    )

    run = mesh(root, "build", HOSTILE, VICTIM, "--only", "--full", "--timeout", "20", check=False)

    assert run.returncode == 1
    assert (
        f"{HOSTILE}: FAILED after" in run.stderr
        and "its dbt build ran past the time limit of 20 s and was stopped; raise the limit "
        "with `mesh build --timeout SECONDS`"
        in run.stderr
    )
    assert f"{VICTIM}: published" in run.stdout
    assert "Traceback" not in run.output
    with domain_lock(root / "warehouse/locks", HOSTILE, 0):  # released: taken at once
        pass
    builds = str(root / "warehouse/build")
    assert [p for p in Path("/proc").iterdir() if _working_in(p).startswith(builds)] == []


def _working_in(process: Path) -> str:
    """The working directory of a process (a build's child works in its staging folder)."""
    try:
        return str((process / "cwd").readlink()) if process.name.isdigit() else ""
    except OSError:
        return ""
