"""The governance rules, one module per rule named for it, each holding its `RULE`."""

from __future__ import annotations

from importlib import import_module
from pkgutil import iter_modules

from mesh.governance.rules._base import Rule

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            import_module(f"{__name__}.{module.name}").RULE
            for module in iter_modules(__path__)
            if not module.name.startswith("_")
        ),
        key=lambda rule: rule.name,
    )
)
