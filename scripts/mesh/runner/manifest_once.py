"""A `dbt build` in a worker writes its manifest once, when it ends, not also after parsing.

dbt-core writes `target/manifest.json` (and `semantic_manifest.json`) twice in a build: when
it has parsed the project (`dbt.parser.manifest.parse_manifest`) and when the run ends
(`GraphRunnableTask.run`, with each node's compiled code). The second overwrites the first,
and the mesh reads a build's manifest only after the build. Serialising a domain's manifest
takes about a twentieth of a warm build's task, once per domain on a build's critical path.
What is lost: a build that stops before its run ends (a cycle in its graph, a database that
does not open) leaves no manifest.json and no run_results.json; its error is in dbt's
outcome and its log either way.

While a build runs here, `parse_manifest`'s write only does what the write did to the
manifest in memory (its parent, child and group maps, its tracking metadata: the build uses
them); the run's own write, which `dbt.task.runnable` imported by name, is untouched. A dbt
without these names is left as it is: a build then writes twice, as plain dbt does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

# The dbt commands that parse, run nodes and write the manifest again when they end.
WRITE_AT_END = frozenset({"build", "run", "test", "seed", "snapshot", "compile"})


def _maps_only(manifest: Any, target_path: str, which: str | None = None) -> None:
    manifest.build_parent_and_child_maps()
    manifest.build_group_map()
    manifest.fill_tracking_metadata()


@contextlib.contextmanager
def written_at_end(command: str) -> Iterator[None]:
    """While dbt runs `command`, its parse does not write the manifest if its end will."""
    from dbt.parser import manifest as parser
    from dbt.task import runnable

    original: Any = getattr(parser, "write_manifest", None)
    patch = (
        command in WRITE_AT_END
        and original is not None
        and getattr(runnable, "write_manifest", None) is original
    )
    if patch:
        parser.write_manifest = _maps_only
    try:
        yield
    finally:
        if patch:
            parser.write_manifest = original
