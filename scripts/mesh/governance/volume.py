"""Plausibility of a product's volume: how much a product version's row count may change
from one publish to the next before the publish gate holds it.

A product declares its limits in its model's meta (and its ODCS contract states them):

    meta:
      volume: {max_shrink: 0.5, max_growth: 10}

`max_shrink` is the largest fraction of rows it may lose (default 0.5: losing more than half
is held); shrinking to no rows at all is always held. `max_growth` is the largest factor it
may grow by (default: none). `mesh build --accept-volume-change "<reason>"` publishes a held
change anyway, recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mesh.discovery.manifest import Node
from mesh.errors import DomainConfigError

DEFAULT_MAX_SHRINK = 0.5


@dataclass(frozen=True)
class Limits:
    max_shrink: float
    max_growth: float | None

    def describe(self) -> str:
        held = f"a shrink of more than {self.max_shrink:.0%} or to zero rows"
        return held + (f", or growth beyond {self.max_growth:g}x" if self.max_growth else "")


def limits(node: Node) -> Limits:
    """The limits a product version declares (meta `volume`), else the defaults."""
    declared = node.meta.get("volume") or {}
    where = f"{node.label} ({node.yaml_path})"
    if not isinstance(declared, dict) or set(declared) - {"max_shrink", "max_growth"}:
        raise DomainConfigError(
            f"{where}: meta volume takes max_shrink (a fraction, e.g. 0.5) and max_growth "
            f"(a factor, e.g. 10), not {declared!r}."
        )
    shrink, growth = declared.get("max_shrink", DEFAULT_MAX_SHRINK), declared.get("max_growth")
    if isinstance(shrink, bool) or not isinstance(shrink, int | float) or not 0 <= shrink <= 1:
        # (NaN fails the comparison too)
        raise DomainConfigError(
            f"{where}: meta volume.max_shrink must be a fraction between 0 and 1 (e.g. 0.5), "
            f"not {shrink!r}."
        )
    if growth is not None and (
        isinstance(growth, bool)
        or not isinstance(growth, int | float)
        or not 1 <= growth < math.inf
    ):
        raise DomainConfigError(
            f"{where}: meta volume.max_growth must be a factor of at least 1 (e.g. 10), "
            f"not {growth!r}."
        )
    return Limits(float(shrink), None if growth is None else float(growth))
