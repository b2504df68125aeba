"""The Spark target's bookkeeping, without Spark: Java detection, version schemas, what a
publish holds and which versions stay. (tests/spark builds the mesh on Spark itself.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mesh.discovery import snapshots
from mesh.discovery.manifest import parse
from mesh.discovery.snapshots import Snapshot
from mesh.engines import spark
from mesh.engines.spark import java, local
from mesh.pipeline.snapshot import prune
from mesh.workspace import Mesh
from tests.unit.conftest import full_record


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ("no version here", None),
    ],
)
def test_java_major_version(output: str, major: int | None) -> None:
    assert java.major_version(output) == major


def test_java_missing_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    found = java.problem()
    assert found is not None and "Java 17 or newer" in found and "PATH" in found


def test_version_schema_is_a_spark_identifier() -> None:
    schema = spark.version_schema("orders", "20261124T213437806125Z-3dc6f4")
    assert schema == "orders__20261124t213437806125z_3dc6f4"


def test_products_are_the_public_models_only() -> None:
    def model(name: str, access: str, package: str = "orders") -> dict[str, str]:
        return {
            "resource_type": "model",
            "package_name": package,
            "access": access,
            "alias": name,
            "name": name,
        }

    manifest = {
        "nodes": {
            "a": model("orders_v2", "public"),
            "b": model("int_orders_latest", "private"),
            "c": model("customers_v1", "public", package="customers"),  # injected by dbt-loom
        }
    }
    assert spark.public_relations("orders", parse(manifest)) == ["orders_v2"]
    assert spark.public_relations("orders", parse(manifest), omit=("orders_v2",)) == []


def _publish(mesh: Mesh, domain: str, publish_id: str, **record: object) -> None:
    """A publish folder and its line in the history, as a publish that became current has."""
    folder = mesh.published / domain / publish_id
    folder.mkdir(parents=True)
    (folder / "publish.json").write_text(json.dumps(full_record(domain, publish_id, record)))
    line = {"event": "publish", "publish_id": publish_id, "at": "2026-06-30T00:00:00+00:00"}
    with (folder.parent / "history.jsonl").open("a") as history:
        history.write(json.dumps(line) + "\n")


def test_kept_versions_hold_every_version_a_kept_snapshot_reads(tmp_path: Path) -> None:
    """Pruning keeps the newest publishes and those a kept mesh snapshot names (here the
    oldest, for `mesh query --at`); their version schemas stay, the pruned ones' do not."""
    mesh = Mesh(tmp_path).on("spark")
    for number in range(1, 9):
        _publish(mesh, "orders", str(number), schema=f"orders__{number}")
    (mesh.published / "orders" / "current").symlink_to("8")
    old = Snapshot(snapshot_id="s1", committed_at="2026-06-30T23:00:00+00:00", cause="test",
                   publishes={"orders": "1"})  # fmt: skip
    snapshots.folder(mesh).mkdir(parents=True)
    (snapshots.folder(mesh) / "s1.json").write_text(old.to_json())
    prune(mesh, ["orders"])
    assert spark.kept_versions(mesh, "orders") == [f"orders__{n}" for n in (1, 4, 5, 6, 7, 8)]


def test_spark_keeps_its_state_apart_from_duckdb(tmp_path: Path) -> None:
    mesh = Mesh(tmp_path)
    on_spark = mesh.on("spark")
    assert on_spark.landing == mesh.landing
    assert on_spark.published == tmp_path / "warehouse" / "spark" / "published"
    assert on_spark.locks != mesh.locks and on_spark.builds != mesh.builds


@pytest.mark.parametrize(
    ("value", "server"),
    [
        ("", None),
        ("127.0.0.1:10000", ("127.0.0.1", 10000)),
        (" spark-thrift.internal:443 ", ("spark-thrift.internal", 443)),
    ],
)
def test_the_thrift_server_is_host_and_port(value: str, server: tuple[str, int] | None) -> None:
    assert local.thrift_server({local.THRIFT: value}) == server


@pytest.mark.parametrize(
    "value",
    ["localhost", "localhost:0", "localhost:70000", "host:port", "a b:1", "h'; drop:1", ":10000"],
)
def test_a_thrift_server_that_is_not_host_and_port_is_refused(value: str) -> None:
    with pytest.raises(local.SparkUnavailableError, match=r"is not a Spark Thrift server's host"):
        local.thrift_server({local.THRIFT: value})


def test_the_thrift_server_picks_the_target_and_the_catalog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(local.THRIFT, raising=False)
    assert (local.target(), local.catalog()) == ("spark", "session")
    monkeypatch.setenv(local.THRIFT, "127.0.0.1:10001")
    assert (local.target(), local.catalog()) == ("spark_thrift", "thrift://127.0.0.1:10001")
