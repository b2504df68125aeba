"""The publish gate: what stops a domain whose dbt build passed from being published.

Federated computational governance is enforced here, on the candidate (the build's artifacts
and products, not yet published), for every engine; `mesh check` reports the same findings
earlier, from the working tree. In order:
1. source freshness: landing data past a source's `error_after` (warn_after only warns);
2. the mesh's policies (`governance.rules`), on the build's manifest;
3. reads of another domain's product version past its deprecation date (no longer published);
4. the domain's own expectations of its upstreams' products that their publishes have not
   met yet (a new or changed expectation): run on those publishes, no producer is rebuilt;
5. breaking changes against the domain's current publish, with the consumers they break
   (`--allow-breaking "<reason>"` publishes anyway, recorded);
6. its consumers' expectations of its products (`domains/<consumer>/expectations.yml`),
   except those its own passing data tests already checked;
7. plausibility: a product version whose row count changes implausibly against the current
   publish (`--accept-volume-change "<reason>"` publishes anyway, recorded);
8. personal data: values that look like email addresses or phone numbers in any text column
   of any product.
Steps 4 and 6 to 8 are SQL the engine runs (`Engine.run_checks`), in one batch. Versions
past their deprecation date are left out of the publish (`Verdict.retired`).
"""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass, field, replace
from datetime import date

import duckdb

from mesh import ids
from mesh.data import freshness
from mesh.discovery import manifest
from mesh.discovery.domains import Domain
from mesh.discovery.manifest import Manifest, Node
from mesh.discovery.registry import RecordedOverride
from mesh.errors import DomainConfigError, MeshError
from mesh.governance import contracts, expectations, policies, volume
from mesh.governance.expectations import Query
from mesh.pipeline.engine import Candidate, Engine, Job

# Values that look like personal data. No backslashes: Spark and DuckDB read them alike.
PERSONAL_DATA = {
    "email addresses": "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}",
    "phone numbers": "([+][0-9]{1,3}[ .-]?[(]?[0-9]{1,4}[)]?[ .-]?[0-9]{3,}[ .-]?[0-9]{0,4})"
    "|([(]?[0-9]{3}[)]?[ .-][0-9]{3}[ .-][0-9]{4})"
    "|((^|[^0-9])[0-9]{3}[.-][0-9]{7}([^0-9]|$))"
    "|((^|[^0-9])0[0-9]{2,4}[ .-][0-9]{3,4}[ .-][0-9]{3,4}([^0-9]|$))",
}
# In a column named like a phone number, a bare run of 10 to 15 digits is one too.
PHONE_NAMES = ("phone", "mobile", "tel", "fax", "msisdn")
BARE_PHONE = "(^|[^0-9])[+]?[0-9]{10,15}([^0-9]|$)"
# Types that cannot hold text: every other column (text, JSON, structs, maps, lists) is
# scanned as text.
NOT_TEXT = {
    "tinyint", "smallint", "int", "integer", "bigint", "hugeint", "utinyint", "usmallint",
    "uinteger", "ubigint", "uhugeint", "long", "short", "byte", "int2", "int4", "int8",
    "decimal", "numeric", "double", "float", "real", "float4", "float8", "boolean", "bool",
    "date", "time", "timestamp", "timestamptz", "datetime", "interval",
}  # fmt: skip


@dataclass(frozen=True)
class Overrides:
    """Reasons given on the command line to publish despite a finding that allows it."""

    breaking: str | None = None  # --allow-breaking
    volume: str | None = None  # --accept-volume-change


@dataclass(frozen=True)
class Blocked:
    """Why a candidate is not published, and the findings."""

    reason: str
    details: list[str]


@dataclass
class Verdict:
    """What the gate decided for one candidate, and what its publish record notes."""

    blocked: Blocked | None = None
    warnings: list[str] = field(default_factory=list)
    overrides: list[RecordedOverride] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)  # relation names left out
    expectations_met: list[str] = field(default_factory=list)  # keys (Expectation.key)
    # Upstream publish id -> keys of this domain's expectations it met.
    upstream_expectations_met: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Findings:
    """Blocking findings by kind, in the order the gate reports them."""

    kinds: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, lines: list[str]) -> None:
        if lines:
            self.kinds.setdefault(kind, []).extend(lines)

    def blocked(self) -> Blocked | None:
        if not self.kinds:
            return None
        counts = ", ".join(f"{len(lines)} {kind}" for kind, lines in self.kinds.items())
        return Blocked(
            f"not published: {counts}", [line for lines in self.kinds.values() for line in lines]
        )


def evaluate(
    engine: Engine,
    job: Job,
    candidate: Candidate,
    consumers: list[Domain],
    overrides: Overrides | None = None,
    today: date | None = None,
) -> Verdict:
    """Every gate on the candidate; `blocked` when any finding holds the publish."""
    overrides, today = overrides or Overrides(), today or ids.today()
    verdict, findings = Verdict(), _Findings()
    own = candidate.manifest
    retired = contracts.retired_versions(job.name, own, today)
    verdict.retired = sorted(node.relation_name for node in retired)
    for node in retired:
        job.notice(
            f"{job.name}: {node.label} is past its deprecation date "
            f"{contracts.deprecation_day(node)}: this publish leaves it out"
        )

    if today != ids.calendar_today():  # a rehearsal of another day: say so in the record
        warning = f"date rules judged as of {today} ({ids.TODAY}), not {ids.calendar_today()}"
        job.notice(f"{job.name}: {warning}")
        verdict.warnings.append(warning)
    stale, warned = stale_sources(engine, job, candidate)
    findings.add("source(s) whose landing data is older than their error_after allows", stale)
    verdict.warnings += warned
    state = policies.DomainState(job.name, job.domain.path, own)
    findings.add(
        "policy violation(s)",
        [policies.describe(v) for v in policies.evaluate([state], today=today)],
    )
    findings.add(
        "read(s) of removed product versions", contracts.removed_reads(job.name, own, today)
    )
    try:
        before = current_manifest(job)
        readers = manifest.published(job.mesh, [c.name for c in consumers])
        changes = contracts.reports(job.name, before, own, readers, today) if before else []
        lines = ["\n    ".join(contracts.describe_report(report)) for report in changes]
    except (OSError, ValueError) as error:  # then nothing proves the change is not breaking
        lines = [
            f"the current publish's manifest could not be read to compare contracts ({error}); "
            'publishing without the comparison takes --allow-breaking "<reason>"'
        ]
        before = None
    if lines and overrides.breaking:
        verdict.overrides.append(_override("allow-breaking", overrides.breaking, lines))
    else:
        findings.add("breaking change(s)", lines)

    try:
        checks = _data_checks(engine, job, candidate, consumers, before, verdict)
    except MeshError as error:
        findings.add("configuration error(s)", [str(error)])
        checks = {}
    pending = [query for queries in checks.values() for query in queries]
    failed = engine.run_checks(job, pending) if pending else []
    by_kind = classify(checks, failed)
    findings.add("check(s) that could not be run", by_kind["unrun"])
    findings.add("failed expectation(s) of upstream products", by_kind.get("upstream", []))
    findings.add("consumer expectation(s) failed", by_kind.get("consumers", []))
    volume = by_kind.get("volume", [])
    if volume and overrides.volume:
        verdict.overrides.append(_override("accept-volume-change", overrides.volume, volume))
    else:
        findings.add(
            'implausible volume change(s) (override: --accept-volume-change "<reason>")', volume
        )
    findings.add("product column(s) holding personal data", by_kind.get("personal", []))
    verdict.blocked = findings.blocked()
    for override in [] if verdict.blocked else verdict.overrides:
        job.notice(f"{job.name}: publishing despite {override.describe()}")
    return verdict


def _override(flag: str, reason: str, findings: list[str]) -> RecordedOverride:
    return RecordedOverride(flag=flag, reason=reason, by=_user(), findings=findings)


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def classify(checks: dict[str, list[Query]], failed: list[str]) -> dict[str, list[str]]:
    """The failure lines of each kind of check; under `unrun`, those no check claims: the
    engine saying the checks could not run, which holds the publish too."""
    by_kind = {
        kind: [line for line in failed if line.startswith(tuple(f"{q.label} -> " for q in qs))]
        for kind, qs in checks.items()
    }
    claimed = {line for lines in by_kind.values() for line in lines}
    return {**by_kind, "unrun": [line for line in failed if line not in claimed]}


def stale_sources(engine: Engine, job: Job, candidate: Candidate) -> tuple[list[str], list[str]]:
    """The domain's sources past their error_after, and (warnings) past their warn_after."""
    try:
        found = freshness.check(
            job.name, candidate.manifest, landing_dir=engine.freshness_landing(job)
        )
    except (OSError, ValueError, duckdb.Error) as error:
        return [f"source freshness could not be read: {error}"], []
    warned = [
        f"{job.name}: warning: {stale.describe()}" for stale in found if stale.level == "warn"
    ]
    for warning in warned:
        job.notice(warning)
    return [stale.describe() for stale in found if stale.level == "error"], warned


# Breaking changes ---------------------------------------------------------------------------


def current_manifest(job: Job) -> Manifest | None:
    """The manifest of the domain's current publish (None before its first), read once for
    the breaking changes and the volume checks."""
    current = job.current_publish
    if current is None or not (current.folder / "manifest.json").exists():
        return None
    return manifest.load_published(current.folder / "manifest.json")


# Checks of data, run by the engine ---------------------------------------------------------


def _data_checks(
    engine: Engine,
    job: Job,
    candidate: Candidate,
    consumers: list[Domain],
    before: Manifest | None,
    verdict: Verdict,
) -> dict[str, list[Query]]:
    """The gate's SQL checks by kind: upstream expectations not yet met, consumers'
    expectations, volume and personal data. Notes in `verdict` which expectations the
    candidate meets if they pass."""
    products = replace(candidate, retired=tuple(verdict.retired)).products(job.name)
    live = {node.unique_id for node in products}
    quote, literal = engine.quote, engine.literal
    # 4. what this domain expects of its upstreams, not yet met by the publish it reads
    declared = expectations.load(job.domain)
    _check_targets(job, declared)
    mine = [e for e in declared if not _met(job, e)]
    verdict.upstream_expectations_met = {
        upstream.folder.name: sorted(e.key for e in declared if e.domain == upstream.name)
        for upstream in job.upstreams.values()
    }
    upstream = expectations.queries(
        mine, lambda e: engine.relation(job, e.relation, job.upstreams[e.domain]), quote, literal
    )
    # 6. what consumers expect of this domain's products (not of a retired version)
    theirs = [e for e in expectations.on_products_of(job.name, consumers) if e.model in live]
    tested = expectations.passed_tests(candidate.manifest, candidate.run_results)
    consumer = expectations.queries(
        expectations.untested(theirs, tested),
        lambda e: engine.relation(job, e.relation),
        quote,
        literal,
    )
    verdict.expectations_met = sorted({e.key for e in theirs})
    return {
        "upstream": upstream,
        "consumers": consumer,
        "volume": volume_checks(engine, job, products, before),
        "personal": personal_data_checks(engine, job, products),
    }


def _check_targets(job: Job, declared: list[expectations.Expectation]) -> None:
    """Raise a DomainConfigError for an expectation of a domain the build does not read, or
    of a product version its upstream does not publish."""
    where = job.domain.path / expectations.FILE
    published: dict[str, set[str]] = {}
    for e in declared:
        upstream = job.upstreams.get(e.domain)
        if upstream is None:
            raise DomainConfigError(
                f"{where}: {e.label}, but {job.name} does not consume {e.domain}; add it to "
                f"{job.domain.loom_config.name} or remove the expectation."
            )
        if e.domain not in published:
            upstream_manifest = manifest.load_published(upstream.folder / "manifest.json")
            found = upstream_manifest.public_models(e.domain)
            retired = upstream.record.retired
            published[e.domain] = {n.unique_id for n in found if n.relation_name not in retired}
        if e.model not in published[e.domain]:
            raise DomainConfigError(
                f"{where}: {e.label}, but {e.domain}'s publish {upstream.folder.name} has no "
                f"product version {e.domain}.{e.relation}; expect one it publishes."
            )


def _met(job: Job, expectation: expectations.Expectation) -> bool:
    """Whether the upstream publish the build reads already met this expectation: at its
    own publish, or in this domain's last build that read the same publish."""
    upstream = job.upstreams[expectation.domain]
    if expectation.key in upstream.record.expectations_met:
        return True
    met = job.current.upstream_expectations_met if job.current else {}
    return expectation.key in met.get(upstream.folder.name, [])


def volume_checks(
    engine: Engine, job: Job, products: list[Node], before: Manifest | None
) -> list[Query]:
    """One query per product version also in the current publish (whose manifest is
    `before`): its row count against the current one's, held beyond the version's
    thresholds (meta `volume`)."""
    current = job.current_publish
    if current is None or before is None:
        return []
    published = {
        node.unique_id
        for node in before.public_models(job.name)
        if node.relation_name not in current.record.retired
    }
    queries = []
    for node in products:
        if node.unique_id not in published:
            continue
        limits = volume.limits(node)
        held = [
            f"new_rows < old_rows * {1 - limits.max_shrink!r}",
            "(new_rows = 0 and old_rows > 0)",
        ]
        if limits.max_growth is not None:
            held.append(f"(old_rows > 0 and new_rows > old_rows * {limits.max_growth!r})")
        new = engine.relation(job, node.relation_name)
        old = engine.relation(job, node.relation_name, current)
        queries.append(
            Query(
                f"{job.name}.{node.label} changed volume implausibly (held: {limits.describe()})",
                f"select case when {' or '.join(held)} then cast(old_rows as string) || ' to ' "
                f"|| cast(new_rows as string) end from (select count(*) as new_rows from {new}) "
                f"as candidate, (select count(*) as old_rows from {old}) as published",
                "rows, current publish to this build",
            )
        )
    return queries


def personal_data_checks(engine: Engine, job: Job, products: list[Node]) -> list[Query]:
    """One query per column of every product that can hold text (as text: a struct, map,
    list or JSON too): values that look like email addresses or phone numbers."""
    queries = []
    for node in products:
        for column in node.columns.values():
            kind = re.match(r"[a-z0-9_]*", (column.data_type or "").strip().lower())
            if kind and kind.group(0) in NOT_TEXT:
                continue
            text = f"cast({engine.quote(column.name)} as string)"
            patterns = list(PERSONAL_DATA.values())
            if any(name in column.name.lower() for name in PHONE_NAMES):
                patterns.append(BARE_PHONE)
            looks = " or ".join(engine.matches(text, pattern) for pattern in patterns)
            queries.append(
                Query(
                    f"{job.name}.{node.label} column {column.name} holds personal data in clear "
                    f"(drop it, or publish shared_macros.hash_pii({column.name}))",
                    f"select nullif(count(*), 0) from {engine.relation(job, node.relation_name)} "
                    f"where {looks}",
                    f"values look like {' or '.join(PERSONAL_DATA)}",
                )
            )
    return queries
