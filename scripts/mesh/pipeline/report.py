"""What a build says about each domain as it goes, and how each domain ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from mesh.runner.workers import DbtOutcome


class Status(StrEnum):
    """How the build of one domain ended."""

    PUBLISHED = "published"
    UNCHANGED = "unchanged"  # code, landing data and upstreams as at its current publish
    FAILED = "failed"  # its current publish, if any, is untouched
    SKIPPED = "skipped"  # an upstream did not publish


@dataclass
class DomainResult:
    """How the build of one domain ended, and why."""

    domain: str
    status: Status
    seconds: float = 0.0
    outcome: DbtOutcome | None = None
    reason: str = ""
    publish_id: str | None = None
    log_dir: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Its current publish is good: just published, or unchanged and skipped."""
        return self.status in {Status.PUBLISHED, Status.UNCHANGED}


class Reporter:
    """What a build tells its caller as it goes. This base says nothing; the CLI's displays
    (cli/progress.py) override what they show."""

    def planned(self, domains: list[str]) -> None:
        """The domains this build will go through, in order."""

    def notice(self, domain: str, message: str) -> None:
        """Something worth saying before a domain starts (e.g. waiting for its lock)."""

    def started(self, domain: str, models: int) -> None:
        """dbt starts on `domain`, which has `models` models."""

    def totals(self, domain: str, nodes: int) -> None:
        """dbt will run `nodes` nodes for `domain`."""

    def node_done(self, domain: str, resource_type: str, status: str) -> None:
        """dbt finished one node of `domain`."""

    def finished(self, result: DomainResult) -> None:
        """`domain` ended: published, unchanged, failed or skipped."""
