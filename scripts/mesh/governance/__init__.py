"""Governance: the mesh-wide rules and the reports on them.

Owns the policies (`policies`), breaking-change, consumer-impact and deprecation analysis
(`contracts`, with `column_reads` for the columns compiled SQL reads), consumers'
expectations of their producers (`expectations`), volume limits (`volume`), the PII key
(`pii_key`), ODCS data contracts (`odcs`), `mesh check` (`check`) and `mesh lint` (`lint`).
The pipeline calls these at the publish gate; `mesh check` reports the same findings earlier.

May import: mesh.errors, mesh.ids, mesh.workspace, mesh.discovery, mesh.data, mesh.runner.
"""

from collections.abc import Callable

Progress = Callable[[str, str, bool], None]
"""Told each domain's step as `mesh check` and `mesh lint` work: (domain, what, finished)."""


def quiet(domain: str, what: str, finished: bool) -> None:
    """Progress nobody watches."""
