"""Publishing: a build's products become a new version in one step, with a short history;
its private models' data goes to the publish's private store, never into the products file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from mesh.discovery.domains import Domain
from mesh.discovery.manifest import RunResults, parse
from mesh.discovery.registry import PublishRecord, current_publish_id, read_record
from mesh.engines.duckdb import DuckDB, storage
from mesh.errors import DamagedRecordError, MeshError
from mesh.ids import new_id
from mesh.pipeline import publish as publish_step
from mesh.pipeline import snapshot
from mesh.pipeline.engine import Candidate, Job, Upstream
from mesh.pipeline.snapshot import KEEP_PUBLISHES
from mesh.runner.workers import DbtOutcome
from mesh.workspace import Mesh

UPSTREAMS = {"customers": "20260601T000000000000Z-abcdef"}
RESULTS = {"success": 12, "warn": 1}


SECRET = "private-row-of-a-staging-model"


def _model(name: str, access: str, version: int | None = None) -> dict[str, object]:
    alias = f"{name}_v{version}" if version else name
    return {
        "resource_type": "model",
        "package_name": "orders",
        "name": name,
        "version": version,
        "access": access,
        "database": "orders" if access == "public" else "orders__private",
        "schema": "main",
        "alias": alias,
        "config": {"contract": {"enforced": access == "public"}},
    }


def manifest_of(marker: int) -> dict[str, object]:
    """A manifest with one product (orders v2) and one private staging model."""
    return {
        "metadata": {"run": marker},
        "nodes": {
            "model.orders.orders.v2": _model("orders", "public", 2),
            "model.orders.stg_orders": _model("stg_orders", "private"),
        },
    }


def stage(mesh: Mesh, run_id: str, marker: int, *, run_results: bool = True) -> Path:
    """What a successful build leaves: the domain's products database, its private one, and
    dbt's target/ files."""
    staging = mesh.builds / "orders" / run_id
    (staging / "target").mkdir(parents=True)
    # In the published storage format, as the mesh's dbt plugin creates it.
    compatible = {"storage_compatibility_version": storage.STORAGE_VERSION}
    with duckdb.connect(str(staging / "orders.duckdb"), config=compatible) as con:
        con.execute("create table orders_v2 (marker integer not null)")
        con.execute("insert into orders_v2 values (?)", [marker])
    with duckdb.connect(str(staging / "orders__private.duckdb")) as con:
        secrets = "select ? || range as secret from range(500)"
        con.execute(f"create table stg_orders as {secrets}", [SECRET])
    (staging / "target" / "manifest.json").write_text(json.dumps(manifest_of(marker)))
    if run_results:
        (staging / "target" / "run_results.json").write_text(json.dumps({"results": []}))
    return staging


def publish(
    mesh: Mesh,
    domain: str,
    staging: Path,
    run_id: str,
    upstreams: dict[str, str],
    results: dict[str, int],
) -> PublishRecord:
    """Publish a staged build through the pipeline's publish step on DuckDB."""
    job = Job(
        mesh=mesh,
        domain=Domain(domain, mesh.domains_dir / domain, tuple(upstreams), ()),
        run_id=run_id,
        staging=staging,
        upstreams={
            name: Upstream(name, mesh.published / name / publish_id, None)  # type: ignore[arg-type]
            for name, publish_id in upstreams.items()
        },
        current=None,
        code_fingerprint="code",
        code_files={},
        fingerprint="print",
        landing={},
        full=False,
        jobs=1,
        notice=print,
        run=lambda task: DbtOutcome(success=False),
    )
    target = staging / "target"
    manifest_file = target / "manifest.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
    candidate = Candidate(parse(manifest), RunResults(), DbtOutcome(True, counts=results))
    return publish_step.publish(DuckDB(), job, candidate)


def publish_run(mesh: Mesh, marker: int) -> PublishRecord:
    run_id = f"run-{marker}"
    return publish(mesh, "orders", stage(mesh, run_id, marker), run_id, UPSTREAMS, RESULTS)


def published_marker(mesh: Mesh) -> int:
    con = duckdb.connect(str(mesh.published_database("orders")), read_only=True)
    try:
        row = con.execute("select marker from orders_v2").fetchone()
    finally:
        con.close()
    assert row is not None
    return int(row[0])


def publish_folders(mesh: Mesh) -> list[str]:
    return sorted(
        p.name for p in (mesh.published / "orders").iterdir() if p.is_dir() and not p.is_symlink()
    )


def test_publish_creates_a_folder_and_points_current_at_it(fake_mesh: Mesh) -> None:
    staging = stage(fake_mesh, "run-1", 1)

    record = publish(fake_mesh, "orders", staging, "run-1", UPSTREAMS, RESULTS)

    folder = fake_mesh.published / "orders" / record.publish_id
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json",
        "orders.duckdb",
        "products",
        "publish.json",
        "run_results.json",
    ]
    current = fake_mesh.published_dir("orders")
    assert current.is_symlink()
    assert current.readlink() == Path(record.publish_id)  # relative: a copied mesh keeps working
    assert current_publish_id(fake_mesh, "orders") == record.publish_id
    assert published_marker(fake_mesh) == 1
    assert json.loads(fake_mesh.published_manifest("orders").read_text()) == manifest_of(1)
    assert not (staging / "orders.duckdb").exists()  # moved, not copied


def test_the_products_file_holds_the_products_and_nothing_private(fake_mesh: Mesh) -> None:
    record = publish_run(fake_mesh, 1)

    products = fake_mesh.published / "orders" / record.publish_id / "orders.duckdb"
    with duckdb.connect(str(products), read_only=True) as con:
        tables = con.execute("select table_name from duckdb_tables()").fetchall()
        views = con.execute("select view_name from duckdb_views() where not internal").fetchall()
    assert tables == [("orders_v2",)] and views == []
    # Not even fragments in the file: it was written new, not copied and pruned.
    assert SECRET.encode() not in products.read_bytes()
    private = fake_mesh.private / "orders" / record.publish_id / "orders__private.duckdb"
    assert SECRET.encode() in private.read_bytes()  # the check can see it where it is
    with duckdb.connect(str(private), read_only=True) as con:
        assert con.execute("select count(*) from stg_orders").fetchone() == (500,)


def test_publish_json_records_the_publish(fake_mesh: Mesh) -> None:
    record = publish_run(fake_mesh, 1)

    written = read_record(fake_mesh, "orders")
    assert written is not None

    assert written is not None
    assert written.domain == "orders"
    assert written.publish_id == record.publish_id
    assert written.run_id == "run-1"
    assert written.upstreams == UPSTREAMS
    assert written.dbt_results == RESULTS
    assert written.git_commit == record.git_commit
    assert written.published_at == record.published_at
    assert record.published_at.endswith("+00:00")


def test_run_results_are_optional(fake_mesh: Mesh) -> None:
    staging = stage(fake_mesh, "run-1", 1, run_results=False)

    record = publish(fake_mesh, "orders", staging, "run-1", {}, {})

    folder = fake_mesh.published / "orders" / record.publish_id
    assert not (folder / "run_results.json").exists()
    assert (folder / "publish.json").exists()


def test_publishing_again_switches_current_and_keeps_the_older_folder(fake_mesh: Mesh) -> None:
    first = publish_run(fake_mesh, 1)
    second = publish_run(fake_mesh, 2)

    assert current_publish_id(fake_mesh, "orders") == second.publish_id
    assert published_marker(fake_mesh) == 2
    assert publish_folders(fake_mesh) == sorted([first.publish_id, second.publish_id])
    older = fake_mesh.published / "orders" / first.publish_id / "orders.duckdb"
    assert older.is_file()
    leftovers = [p.name for p in (fake_mesh.published / "orders").iterdir()]
    assert sorted(leftovers) == sorted(
        [first.publish_id, second.publish_id, "current", "history.jsonl"]
    )
    assert sorted(p.name for p in (fake_mesh.private / "orders").iterdir()) == sorted(
        [first.publish_id, second.publish_id]
    )


def test_pruning_keeps_the_newest_publishes_and_those_a_snapshot_needs(fake_mesh: Mesh) -> None:
    (fake_mesh.domains_dir / "orders").mkdir(parents=True)
    (fake_mesh.domains_dir / "orders" / "dbt_project.yml").write_text("name: orders\n")
    first = publish(fake_mesh, "orders", stage(fake_mesh, "run-0", 0), "run-0", {}, RESULTS)
    committed = snapshot.commit(fake_mesh, "test")
    assert committed is not None and committed.publishes == {"orders": first.publish_id}
    records = [
        publish(fake_mesh, "orders", stage(fake_mesh, f"run-{n}", n), f"run-{n}", {}, RESULTS)
        for n in range(1, KEEP_PUBLISHES + 2)
    ]

    snapshot.prune(fake_mesh, ["orders"])

    kept = publish_folders(fake_mesh)
    # The first is older than the newest five, but a kept snapshot reads it.
    assert kept == [first.publish_id, *[r.publish_id for r in records[-KEEP_PUBLISHES:]]]
    assert sorted(p.name for p in (fake_mesh.private / "orders").iterdir()) == kept
    assert current_publish_id(fake_mesh, "orders") == records[-1].publish_id
    assert published_marker(fake_mesh) == KEEP_PUBLISHES + 1


@pytest.mark.parametrize(
    "missing", ["orders.duckdb", "orders__private.duckdb", "target/manifest.json"]
)
def test_a_build_without_its_files_is_not_published(fake_mesh: Mesh, missing: str) -> None:
    live = publish_run(fake_mesh, 1)
    staging = stage(fake_mesh, "run-2", 2)
    (staging / missing).unlink()

    expected = f"Cannot publish orders: the build left no .*{re.escape(missing)}"
    with pytest.raises(MeshError, match=expected):
        publish(fake_mesh, "orders", staging, "run-2", UPSTREAMS, RESULTS)

    assert current_publish_id(fake_mesh, "orders") == live.publish_id
    assert published_marker(fake_mesh) == 1
    assert publish_folders(fake_mesh) == [live.publish_id]


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("create table stg_orders as select 1 as x", "also holds table main.stg_orders"),
        (
            "create view leak as select * from orders__private.main.stg_orders",
            "also holds view main.leak",
        ),
        ("drop table orders_v2", "lacks main.orders_v2"),
        ("create macro leak() as 'someone@example.com'", "also holds macro main.leak"),
        ("create type leak as enum ('someone@example.com')", "also holds type main.leak"),
        ("create sequence leak", "also holds sequence main.leak"),
        ("comment on table orders_v2 is 'someone@example.com'", "comment on main.orders_v2"),
    ],
    ids=[
        "private-table",
        "view-of-private-data",
        "missing-product",
        "macro",
        "type",
        "sequence",
        "comment",
    ],
)
def test_a_products_file_with_anything_but_the_products_is_not_published(
    fake_mesh: Mesh, sql: str, named: str
) -> None:
    live = publish_run(fake_mesh, 1)
    staging = stage(fake_mesh, "run-2", 2)
    with duckdb.connect(str(staging / "orders.duckdb")) as con:
        con.execute(f"attach '{staging / 'orders__private.duckdb'}' as orders__private")
        con.execute(sql)

    with pytest.raises(MeshError, match="must hold exactly its public model versions") as raised:
        publish(fake_mesh, "orders", staging, "run-2", UPSTREAMS, RESULTS)

    assert named in str(raised.value)
    assert current_publish_id(fake_mesh, "orders") == live.publish_id
    assert publish_folders(fake_mesh) == [live.publish_id]


def test_a_products_file_newer_than_duckdb_1_1_reads_is_not_published(fake_mesh: Mesh) -> None:
    live = publish_run(fake_mesh, 1)
    staging = stage(fake_mesh, "run-2", 2)
    products = staging / "orders.duckdb"
    products.unlink()
    with duckdb.connect(str(products)) as con:  # DuckDB's newest format: not the plugin's
        con.execute("create table orders_v2 (marker integer not null)")

    with pytest.raises(MeshError, match=r"storage format v2\.\d\.\d\+, not v1\.0\.0\+"):
        publish(fake_mesh, "orders", staging, "run-2", UPSTREAMS, RESULTS)

    assert current_publish_id(fake_mesh, "orders") == live.publish_id
    assert publish_folders(fake_mesh) == [live.publish_id]


def test_a_public_model_without_a_contract_is_not_published(fake_mesh: Mesh) -> None:
    staging = stage(fake_mesh, "run-1", 1)
    manifest = manifest_of(1)
    manifest["nodes"]["model.orders.orders.v2"]["config"] = {}  # type: ignore[index]
    (staging / "target" / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(MeshError, match="public model orders v2 has no enforced contract"):
        publish(fake_mesh, "orders", staging, "run-1", UPSTREAMS, RESULTS)


def test_a_database_with_a_write_ahead_log_is_not_published(fake_mesh: Mesh) -> None:
    live = publish_run(fake_mesh, 1)
    staging = stage(fake_mesh, "run-2", 2)
    (staging / "orders.duckdb.wal").write_bytes(b"still writing")

    with pytest.raises(MeshError, match="write-ahead log"):
        publish(fake_mesh, "orders", staging, "run-2", UPSTREAMS, RESULTS)

    assert current_publish_id(fake_mesh, "orders") == live.publish_id
    assert (staging / "orders.duckdb").exists()


def test_a_domain_never_published_has_no_current_and_no_record(fake_mesh: Mesh) -> None:
    assert current_publish_id(fake_mesh, "orders") is None
    assert read_record(fake_mesh, "orders") is None


def test_new_ids_are_unique_and_sort_in_creation_order() -> None:
    ids = [new_id() for _ in range(50)]

    assert len(set(ids)) == 50
    assert sorted(ids) == ids
    assert all(len(i) == len(ids[0]) for i in ids)


def test_the_record_lists_the_waivers_of_the_published_models(fake_mesh: Mesh) -> None:
    staging = stage(fake_mesh, "run-1", 1)
    waiver = {
        "rule": "public_model_is_documented",
        "reason": "next release",
        "expires": "2999-01-31",
    }
    model = {
        "resource_type": "model",
        "package_name": "orders",
        "name": "orders",
        "version": 2,
        "config": {"meta": {"waivers": [waiver]}, "contract": {"enforced": True}},
    }
    manifest = manifest_of(1)
    manifest["nodes"]["model.orders.orders.v2"].update(model)  # type: ignore[index]
    (staging / "target" / "manifest.json").write_text(json.dumps(manifest))

    publish(fake_mesh, "orders", staging, "run-1", {}, {})

    written = read_record(fake_mesh, "orders")
    assert written is not None
    assert [w.model_dump() for w in written.waivers] == [
        {"model": "orders v2", "active": True, **waiver}
    ]


def test_a_damaged_record_is_named_in_one_line(fake_mesh: Mesh) -> None:
    publish_run(fake_mesh, 1)
    (fake_mesh.published_dir("orders") / "publish.json").write_text("{garbage")

    with pytest.raises(DamagedRecordError) as raised:
        read_record(fake_mesh, "orders")

    message = str(raised.value)
    assert "\n" not in message
    assert "publish.json is damaged" in message and "--full" in message


def _git(folder: Path, *args: str) -> None:
    import subprocess

    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@x.io", *args],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip


def test_a_build_of_uncommitted_code_is_marked_dirty(tmp_path: Path) -> None:
    """The record names the commit, and whether the code built differs from it: a changed
    or an untracked file of the domain, the shared macros or the profile; ignored files
    (dbt's target/) do not count, and outside git nothing is claimed."""
    root = tmp_path / "mesh"
    domain, macros, profile = root / "domains/orders", root / "shared_macros", root / "profiles.yml"
    (domain / "models").mkdir(parents=True)
    macros.mkdir()
    (domain / "models/a.sql").write_text("select 1\n")
    (macros / "m.sql").write_text("-- m\n")
    profile.write_text("mesh: {}\n")
    (root / ".gitignore").write_text("target/\n")
    code = [domain, macros, profile]
    assert publish_step.uncommitted(code) is None  # not a checkout

    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "code")
    assert publish_step.uncommitted(code) is False
    (domain / "target").mkdir()
    (domain / "target/dev.duckdb").write_text("ignored")
    assert publish_step.uncommitted(code) is False
    (domain / "models/b.sql").write_text("select 2\n")  # untracked
    assert publish_step.uncommitted(code) is True
    (domain / "models/b.sql").unlink()
    profile.write_text("mesh: {changed: true}\n")
    assert publish_step.uncommitted(code) is True
    (root / "README").write_text("not code of a build\n")
    profile.write_text("mesh: {}\n")
    assert publish_step.uncommitted(code) is False
