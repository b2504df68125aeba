"""A publish's manifest is parsed once per process while its file is unchanged
(mesh.discovery.manifest.load_published)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mesh.discovery import manifest

FIXTURE = Path(__file__).parent / "fixtures" / "orders_manifest.json"


def test_an_unchanged_manifest_is_parsed_once(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    shutil.copy(FIXTURE, path)
    first = manifest.load_published(path)
    assert manifest.load_published(path) is first
    assert first == manifest.load(path)


def test_a_changed_or_replaced_manifest_is_parsed_again(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    shutil.copy(FIXTURE, path)
    first = manifest.load_published(path)
    data = json.loads(path.read_text())
    data["nodes"] = {}
    text = json.dumps(data)
    path.write_text(text)  # rewritten in place
    rewritten = manifest.load_published(path)
    assert rewritten is not first and rewritten.nodes == {}
    replacement = tmp_path / "new.json"
    shutil.copy(FIXTURE, replacement)
    replacement.replace(path)  # another file under the same name
    assert manifest.load_published(path).nodes == first.nodes
