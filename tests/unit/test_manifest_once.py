"""A build in a worker writes its manifest once, at its end (mesh.runner.manifest_once)."""

from __future__ import annotations

from dbt.parser import manifest as parser
from dbt.task import runnable

from mesh.runner import manifest_once


def test_a_build_skips_the_write_after_parsing_and_keeps_the_one_at_its_end() -> None:
    original = parser.write_manifest
    with manifest_once.written_at_end("build"):
        assert parser.write_manifest is not original  # what parse_manifest calls
        assert runnable.write_manifest is original  # what the run calls when it ends
    assert parser.write_manifest is original


def test_commands_that_do_not_write_at_their_end_are_left_alone() -> None:
    original = parser.write_manifest
    for command in ("parse", "deps", "run-operation", "docs", "ls", ""):
        with manifest_once.written_at_end(command):
            assert parser.write_manifest is original


def test_the_write_is_restored_when_dbt_raises() -> None:
    original = parser.write_manifest
    try:
        with manifest_once.written_at_end("build"):
            raise RuntimeError("dbt failed")
    except RuntimeError:
        pass
    assert parser.write_manifest is original


def test_the_maps_kept_are_what_the_write_did_to_the_manifest_in_memory() -> None:
    # `_maps_only` stands in for the write: if dbt's write starts doing more to the manifest
    # before serialising it, this fails and the stand-in must do it too.
    import inspect

    from dbt.contracts.graph.manifest import Manifest

    source = inspect.getsource(Manifest.writable_manifest)
    before = source.split("return WritableManifest(")[0]
    called = [line.strip() for line in before.splitlines() if line.strip().startswith("self.")]
    assert called == [
        "self.build_parent_and_child_maps()",
        "self.build_group_map()",
        "self.fill_tracking_metadata()",
    ]
    kept = inspect.getsource(manifest_once._maps_only)
    assert all(call.replace("self.", "manifest.") in kept for call in called)
