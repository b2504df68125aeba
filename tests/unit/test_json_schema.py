"""The two validators of a standard's schema agree: the Rust one decides whether a document is
valid, the Python one says why not (mesh.governance.json_schema)."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import jsonschema_rs
import pytest

from mesh.governance import json_schema, odcs, odps
from tests.unit.test_odcs import PUBLISHED_AT, contract_of, manifest

Edit = tuple[tuple[str | int, ...], Any]

# Changes that make a document invalid, and some that keep it valid, of every kind of
# keyword the standards use: enums, required, types, formats, and unevaluatedProperties.
CONTRACT_EDITS: list[Edit] = [
    (("apiVersion",), "v9.9.9"),
    (("schema", 0, "properties", 0, "logicalType"), "int"),
    (("schema", 0, "properties", 0, "colour"), "red"),
    (("schema", 0, "properties", 0, "customProperties"), [{"property": "a", "value": 1}]),
    (("schema", 0, "properties", 0, "name"), 7),
    (("schema", 0, "name"), None),
    (("team",), "someone"),
    (("contractCreatedTs",), "yesterday"),
    (("contractCreatedTs",), "2026-11-24"),
    (("contractCreatedTs",), "2026-11-24T13:00:00"),
    (("contractCreatedTs",), "2026-11-24 13:00:00+00:00"),
    (("contractCreatedTs",), "2026-11-24T13:00:00Z"),
    (("contractCreatedTs",), "2026-13-24T13:00:00Z"),
    (("status",), "retired"),
    (("status",), 3),
    (("description",), {"purpose": "x", "limitations": ["not text"]}),
]
DESCRIPTOR_EDITS: list[Edit] = [
    (("owner",), "someone"),
    (("apiVersion",), "v0"),
    (("status",), ["active"]),
    (("outputPorts", 0, "version"), 2),
    (("outputPorts", 0, "extra"), True),
    (("name",), "a name"),
]


def _edited(document: dict[str, Any], edit: Edit) -> dict[str, Any]:
    (*path, last), value = edit
    changed = copy.deepcopy(document)
    parent: Any = changed
    for step in path:
        parent = parent[step]
    parent[last] = value
    return changed


def _agree(schema: json_schema.Schema, document: dict[str, Any]) -> None:
    fast = schema.fast.is_valid(document)
    full = not list(schema.full.iter_errors(document))
    assert fast == full, (fast, full, schema.errors(document))


@pytest.mark.parametrize("edit", CONTRACT_EDITS, ids=lambda edit: "/".join(map(str, edit[0])))
def test_the_validators_agree_on_contracts(edit: Edit) -> None:
    document = contract_of("orders", "model.orders.orders.v2")
    _agree(odcs._schema(), document)
    _agree(odcs._schema(), _edited(document, edit))


@pytest.mark.parametrize("edit", DESCRIPTOR_EDITS, ids=lambda edit: "/".join(map(str, edit[0])))
def test_the_validators_agree_on_descriptors(edit: Edit) -> None:
    document = odps.describe(
        "orders", manifest("orders"), "model.orders.orders.v2", published_at=PUBLISHED_AT
    )
    _agree(odps._schema(), document)
    _agree(odps._schema(), _edited(document, edit))


@pytest.mark.parametrize("owner", ["Jane Doe (jane@shop.example)", "données@shop.example"])
def test_an_owner_that_is_no_uri_as_written_still_gets_a_valid_descriptor(owner: str) -> None:
    def owned(raw: dict[str, Any]) -> None:
        node = raw["nodes"]["model.orders.orders.v2"]
        node["config"]["meta"]["owner"] = node["meta"]["owner"] = owner

    document = odps.describe(
        "orders", manifest("orders", owned), "model.orders.orders.v2", published_at=PUBLISHED_AT
    )
    assert odps.validate(document) == []
    assert document["support"][0]["url"].startswith("mailto:")
    assert " " not in document["support"][0]["url"]


def test_where_they_differ_the_stricter_wins() -> None:
    """jsonschema-rs checks `format: uri`; Python's jsonschema cannot without rfc3987."""
    document = odps.describe(
        "orders", manifest("orders"), "model.orders.orders.v2", published_at=PUBLISHED_AT
    )
    document["support"][0]["url"] = "mailto:Jane Doe"
    assert not list(odps._schema().full.iter_errors(document))
    assert odps.validate(document) == ['$.support[0].url: "mailto:Jane Doe" is not a "uri"']


def test_when_they_disagree_the_fast_validators_words_are_given() -> None:
    """A document only the Rust validator rejects is still invalid, with its message."""
    schema = json_schema.Schema(
        fast=jsonschema_rs.Draft201909Validator({"properties": {"a": {"type": "string"}}}),
        full=jsonschema.Draft201909Validator({}),
    )
    assert schema.errors({"a": 5}) == ['$.a: 5 is not of type "string"']
    assert schema.errors({"a": "five"}) == []


def test_a_schema_never_makes_the_build_fetch_a_reference() -> None:
    with pytest.raises(jsonschema_rs.ValidationError, match="Retrieval is disabled"):
        json_schema.Schema.of('{"$ref": "https://example.com/schema.json"}')


def test_a_document_the_fast_validator_cannot_read_is_judged_by_the_other() -> None:
    # jsonschema-rs raises on a mapping key that is not text; a publish then said nothing
    # but a traceback. jsonschema reads it, and says what is wrong.
    schema = json_schema.Schema.of('{"properties": {"a": {"type": "string"}}}')
    assert schema.errors({1: "x"}) == []
    assert schema.errors({1: "x", "a": 5}) == ["$.a: 5 is not of type 'string'"]
