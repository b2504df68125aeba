"""The order a build starts ready domains in: by the expected work of each one's last publish.
Only the order depends on it, so a record that cannot say falls back, never fails the build."""

from __future__ import annotations

import json

import pytest

from mesh.pipeline.build import expected_seconds
from mesh.workspace import Mesh
from tests.unit.test_publish import publish_run


@pytest.fixture
def mesh(orders_mesh: Mesh) -> Mesh:
    return orders_mesh


def _set_usage(mesh: Mesh, usage: object) -> None:
    path = mesh.published_dir("orders") / "publish.json"
    path.chmod(0o644)
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "usage": usage}))


def test_each_domain_is_expected_to_take_what_its_last_publish_took(mesh: Mesh) -> None:
    publish_run(mesh, 1)
    _set_usage(mesh, {"seconds": 7.5})

    # A domain never published is expected to take the others' mean.
    assert expected_seconds(mesh, ["orders", "fulfillment"]) == {
        "orders": 7.5,
        "fulfillment": 7.5,
    }
    assert expected_seconds(mesh, ["fulfillment"]) == {"fulfillment": 1.0}


@pytest.mark.parametrize(
    "usage",
    [
        {"seconds": "NaN"},  # float() would read it
        {"seconds": "7"},
        {"seconds": True},
        {"seconds": 10**400},  # an int too large for a float
        {},
        None,
        [1],  # not a record any more: DamagedRecordError
    ],
)
def test_a_record_that_cannot_say_falls_back(mesh: Mesh, usage: object) -> None:
    publish_run(mesh, 1)
    _set_usage(mesh, usage)

    assert expected_seconds(mesh, ["orders"]) == {"orders": 1.0}
