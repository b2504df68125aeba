"""Integrity of published files: each publish records its files (size, mtime, inode, sha256)
after the last write; a build's stat check and `mesh verify`'s sha256 find what changed."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from mesh.discovery import integrity
from mesh.discovery.domains import discover
from mesh.discovery.registry import PublishRecord, read_record
from mesh.discovery.snapshots import view
from mesh.engines.duckdb import query
from mesh.errors import DamagedPublishError, QueryError
from mesh.pipeline.build import check_intact
from mesh.workspace import Mesh
from tests.damage import overwrite
from tests.unit.conftest import add_domain, make_mesh, publish_database
from tests.unit.test_publish import publish_run
from tests.unit.test_query import CUSTOMERS, ORDERS


def _folder(mesh: Mesh, record: PublishRecord) -> Path:
    return mesh.published / record.domain / record.publish_id


def test_a_publish_records_every_file_it_holds_and_makes_them_read_only(
    fake_mesh: Mesh,
) -> None:
    record = publish_run(fake_mesh, 1)

    written = read_record(fake_mesh, "orders")
    assert written is not None and written.files == record.files
    folder = _folder(fake_mesh, record)
    listed = {f.path for f in record.files}
    assert {"orders.duckdb", "manifest.json", "run_results.json"} <= listed
    assert any(p.endswith(".parquet") for p in listed)
    assert any(p.endswith("contract.odcs.yaml") for p in listed)
    assert "publish.json" not in listed  # the record cannot hold its own checksum
    assert [f.path for f in record.private_files] == ["orders__private.duckdb"]
    for stamp in record.files:
        path = folder / stamp.path
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
        assert (path.stat().st_size, path.stat().st_mtime_ns) == (stamp.size, stamp.mtime_ns)
        assert integrity.sha256(path) == stamp.sha256
    assert integrity.publish_damage(fake_mesh, record, full=True) == []


def test_the_stat_check_catches_a_change_of_size(fake_mesh: Mesh) -> None:
    record = publish_run(fake_mesh, 1)
    database = _folder(fake_mesh, record) / "orders.duckdb"
    database.chmod(0o644)
    with database.open("ab") as handle:
        handle.write(b"\0" * 10)

    [damage] = integrity.publish_damage(fake_mesh, record)

    assert damage.path == database
    size = database.stat().st_size
    assert damage.what == f"size {size:,} bytes, published {size - 10:,}"


def test_the_stat_check_catches_a_rewrite_that_changed_the_modification_time(
    fake_mesh: Mesh,
) -> None:
    record = publish_run(fake_mesh, 1)
    database = _folder(fake_mesh, record) / "orders.duckdb"
    overwrite(database, 0, b"\0" * 4096, keep_mtime=False)

    [damage] = integrity.publish_damage(fake_mesh, record)

    assert damage.path == database
    assert "content (sha256) differs; modified after it was published" in damage.what


def test_only_the_sha_catches_a_rewrite_with_the_modification_time_put_back(
    fake_mesh: Mesh,
) -> None:
    record = publish_run(fake_mesh, 1)
    parquet = next(_folder(fake_mesh, record).rglob("*.parquet"))
    size = parquet.stat().st_size
    overwrite(parquet, size // 2, b"\xff\x00\xff", keep_mtime=True)

    assert integrity.publish_damage(fake_mesh, record) == []  # stat cannot see it
    [damage] = integrity.publish_damage(fake_mesh, record, full=True)

    assert damage.path == parquet
    assert damage.what == "content (sha256) differs, though size and modification time match"


def test_a_copied_mesh_is_not_damaged(fake_mesh: Mesh, tmp_path: Path) -> None:
    """A copy (new inodes; `cp -a` keeps the times) is hashed once its stat differs, and
    the same content passes."""
    record = publish_run(fake_mesh, 1)
    copy = Mesh(tmp_path / "copy")
    shutil.copytree(fake_mesh.root, copy.root, symlinks=True)

    assert integrity.publish_damage(copy, record) == []
    copied, original = (_folder(m, record) / "orders.duckdb" for m in (copy, fake_mesh))
    assert copied.stat().st_ino != original.stat().st_ino


def test_missing_and_added_files_are_damage(fake_mesh: Mesh) -> None:
    record = publish_run(fake_mesh, 1)
    folder = _folder(fake_mesh, record)
    (folder / "run_results.json").unlink()
    (folder / "planted.sql").write_text("select 1")
    private = fake_mesh.private / "orders" / record.publish_id / "orders__private.duckdb"
    private.unlink()

    cheap = {(d.path.name, d.what) for d in integrity.publish_damage(fake_mesh, record)}
    full = {(d.path.name, d.what) for d in integrity.publish_damage(fake_mesh, record, True)}

    assert cheap == {("run_results.json", "missing"), ("orders__private.duckdb", "missing")}
    planted = ("planted.sql", "not part of the publish (added after it was published)")
    assert full == cheap | {planted}


def test_a_build_refuses_a_damaged_publish_naming_the_file_and_the_fix(fake_mesh: Mesh) -> None:
    record = publish_run(fake_mesh, 1)
    database = _folder(fake_mesh, record) / "orders.duckdb"
    overwrite(database, 0, b"garbage!" * 512, keep_mtime=False)

    with pytest.raises(DamagedPublishError) as upstream:
        check_intact(fake_mesh, record, reader="shipping")
    with pytest.raises(DamagedPublishError) as own:
        check_intact(fake_mesh, record)

    assert str(upstream.value).startswith(
        f"shipping reads orders's publish {record.publish_id}, which changed after it was "
        f"published: {database}: content (sha256) differs"
    )
    assert str(own.value).startswith(f"orders's current publish {record.publish_id}, which")
    for message in (str(upstream.value), str(own.value)):
        assert "`mesh repair orders`" in message and "`mesh rollback orders`" in message


def test_verify_hashes_every_kept_publish_or_only_the_current_one(fake_mesh: Mesh) -> None:
    first = publish_run(fake_mesh, 1)
    second = publish_run(fake_mesh, 2)
    overwrite(_folder(fake_mesh, first) / "manifest.json", 0, b"[", keep_mtime=True)

    every = integrity.verify(fake_mesh, ["orders"])
    current = integrity.verify(fake_mesh, ["orders"], current_only=True)

    assert [(v.publish_id, len(v.damage)) for v in every] == [
        (first.publish_id, 1),
        (second.publish_id, 0),
    ]
    assert [(v.publish_id, v.damage) for v in current] == [(second.publish_id, [])]
    assert every[1].files == len(second.files) + 1
    assert every[1].size == sum(f.size for f in (*second.files, *second.private_files))


def test_a_publish_from_before_files_were_stamped_is_not_called_damaged(fake_mesh: Mesh) -> None:
    record = publish_run(fake_mesh, 1).model_copy(update={"files": [], "private_files": []})

    assert integrity.publish_damage(fake_mesh, record, full=True) == []
    check_intact(fake_mesh, record)


@pytest.mark.parametrize("damage", ["zeroed header", "garbage header"])
def test_one_damaged_database_never_stops_reads_of_the_others(tmp_path: Path, damage: str) -> None:
    shop = make_mesh(tmp_path / "shop")
    add_domain(shop, "orders")
    add_domain(shop, "customers")
    publish_database(shop, "orders", "20260601T000000000000Z-aaaaaa", ORDERS)
    publish_database(shop, "customers", "20260601T000000000000Z-bbbbbb", CUSTOMERS)
    database = shop.published_database("customers")
    data = b"\0" * 4096 if damage == "zeroed header" else os.urandom(4096)
    overwrite(database, 0, data, keep_mtime=True)
    readers = view(shop, sorted(discover(shop)))

    result = query.run(readers, "select count(*) from orders.main.orders_v2")
    with pytest.raises(QueryError) as refused:
        query.run(readers, "select * from customers.main.customers_v1")

    assert result.rows == [(3,)]
    [warning] = result.warnings
    where = readers.database("customers")
    assert warning.startswith(f"customers's published database {where} cannot be read")
    assert str(refused.value) == f"The query reads customers.main.customers_v1, but {warning}"
    assert "`mesh repair customers`" in warning


@pytest.mark.parametrize("path", ["/etc/hostname", "../../../etc/hostname", "products/../x", ""])
def test_a_record_listing_a_file_outside_its_publish_is_damaged(fake_mesh: Mesh, path: str) -> None:
    # Checking it would read (and `mesh verify` hash) a file the publish does not hold.
    import json

    from mesh.errors import DamagedRecordError

    record = publish_run(fake_mesh, 1)
    file = _folder(fake_mesh, record) / "publish.json"
    data = json.loads(file.read_text())
    data["files"][0]["path"] = path
    file.chmod(0o644)
    file.write_text(json.dumps(data))

    with pytest.raises(DamagedRecordError, match="a file path outside the publish folder"):
        read_record(fake_mesh, "orders")
