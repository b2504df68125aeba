"""How a build looks while it runs: a live table on a terminal, plain lines elsewhere."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from mesh.pipeline.report import DomainResult, Reporter, Status

STYLES = {
    "published": "green",
    "unchanged": "green",
    "failed": "red",
    "skipped": "yellow",
    "building": "cyan",
}


def _tests(counts: dict[str, int]) -> int:
    return counts.get("test", 0) + counts.get("unit_test", 0)


def describe_failure(result: DomainResult) -> list[str]:
    """The lines that say why a domain did not publish: each failing node and dbt's message."""
    lines = [
        f"{result.domain}: {result.status.upper()}"
        + (f" after {result.seconds:.1f} s" if result.seconds else "")
        + f", {result.reason}"
        + ("; the published version is unchanged." if result.status is Status.FAILED else ".")
    ]
    outcome = result.outcome
    if outcome and outcome.failures:
        for failure in outcome.failures:
            lines.append(
                f"  {failure.resource_type} {failure.name} ({failure.path}): {failure.status}"
            )
            lines.extend(f"    {line}" for line in failure.message.splitlines())
    elif outcome and outcome.error:
        lines.extend(f"  {line}" for line in outcome.error.splitlines())
    lines.extend(f"  {detail}" for detail in result.details)
    if result.log_dir:
        lines.append(f"  dbt log: {result.log_dir}")
    return lines


def deprecation_warnings(result: DomainResult) -> list[str]:
    """One line per reference to a deprecated product version, with dbt's date."""
    found = result.outcome.deprecations if result.outcome else []
    return [f"{result.domain}: warning: {message}" for message in found]


def summary_table(results: list[DomainResult]) -> Table:
    table = Table(title="mesh build", header_style="bold")
    for column in ("domain", "result", "models", "tests", "duration"):
        table.add_column(
            column, justify="right" if column in {"models", "tests", "duration"} else "left"
        )
    for result in results:
        table.add_row(
            result.domain,
            f"[{STYLES.get(result.status, '')}]{result.status}[/]",
            str(result.counts.get("model", 0)) if result.counts else "-",
            str(_tests(result.counts)) if result.counts else "-",
            f"{result.seconds:.1f} s" if result.seconds else "-",
        )
    return table


class PlainReporter(Reporter):
    """One line per event: for CI logs, pipes and --quiet."""

    def __init__(self, out: Console, err: Console) -> None:
        self.out, self.err = out, err

    def planned(self, domains: list[str]) -> None:
        what = f"{len(domains)} domains: {', '.join(domains)}" if len(domains) > 1 else domains[0]
        self.out.print(f"Building {what}", highlight=False)

    def notice(self, domain: str, message: str) -> None:
        self.out.print(message, highlight=False)

    def started(self, domain: str, models: int) -> None:
        self.out.print(f"{domain}: building ...", highlight=False)

    def finished(self, result: DomainResult) -> None:
        for warning in deprecation_warnings(result):
            self.err.print(warning, markup=False, highlight=False)
        if result.status is Status.PUBLISHED:
            self.out.print(
                f"{result.domain}: published {result.publish_id} "
                f"({result.counts.get('model', 0)} models, {_tests(result.counts)} tests; "
                f"{result.seconds:.1f} s)",
                highlight=False,
            )
        elif result.status is Status.SKIPPED:
            self.out.print(f"{result.domain}: skipped, {result.reason}", highlight=False)
        elif result.status is Status.UNCHANGED:
            self.out.print(
                f"{result.domain}: unchanged, still {result.publish_id} ({result.reason}; "
                "--full rebuilds it)",
                highlight=False,
            )
        else:
            for line in describe_failure(result):
                self.err.print(line, markup=False, highlight=False)


def _elapsed(started: float | None, ended: float | None, now: float) -> str:
    """A clock for a row: from its start to its end, or to now while it runs."""
    return f"{(ended or now) - started:.1f} s" if started is not None else ""


@dataclass
class _Row:
    state: str = "queued"
    started: float | None = None
    ended: float | None = None
    totals: dict[str, int] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=dict)
    note: str = ""


class LiveReporter(Reporter):
    """A table that updates in place: domain, state, models and tests done, elapsed time.

    Live draws it 8 times a second from `__rich__`, so each running domain's clock moves
    even while dbt reports nothing (starting, parsing, a long model)."""

    def __init__(self, out: Console, err: Console) -> None:
        self.out, self.err = out, err
        self.rows: dict[str, _Row] = {}
        self.failures: list[DomainResult] = []
        self.live = Live(self, console=out, refresh_per_second=8, transient=True)

    def __rich__(self) -> Table:
        return self._render()

    def planned(self, domains: list[str]) -> None:
        self.rows = {name: _Row() for name in domains}
        self._refresh()

    def __enter__(self) -> LiveReporter:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)
        for result in self.failures:
            for line in describe_failure(result):
                self.err.print(line, markup=False, highlight=False)

    def _render(self) -> Table:
        table = Table(header_style="bold", box=None)
        for column in ("domain", "state", "models", "tests", "elapsed", ""):
            table.add_column(column)
        now = time.monotonic()
        for name, row in self.rows.items():

            def progress(kind: str, row: _Row = row) -> str:
                total = row.totals.get(kind, 0)
                return f"{row.done.get(kind, 0)}/{total}" if total else ""

            elapsed = _elapsed(row.started, row.ended, now)
            table.add_row(
                name,
                f"[{STYLES.get(row.state, 'dim')}]{row.state}[/]",
                progress("model"),
                progress("test"),
                elapsed,
                row.note,
            )
        return table

    def _refresh(self) -> None:
        self.live.refresh()

    def notice(self, domain: str, message: str) -> None:
        self.rows[domain].note = message.removeprefix(f"{domain}: ")
        self._refresh()

    def started(self, domain: str, models: int) -> None:
        row = self.rows[domain]
        row.state, row.started, row.note = "building", time.monotonic(), "starting dbt, parsing"
        row.totals = {"model": models}
        self._refresh()

    def totals(self, domain: str, nodes: int) -> None:
        # dbt says how many nodes it will run; what is not a model is a test.
        row = self.rows[domain]
        row.totals["test"] = nodes - row.totals.get("model", 0)
        row.note = ""  # dbt has parsed and runs its nodes: the counts say the rest
        self._refresh()

    def node_done(self, domain: str, resource_type: str, status: str) -> None:
        done = self.rows[domain].done
        kind = "model" if resource_type == "model" else "test"
        done[kind] = done.get(kind, 0) + 1
        self._refresh()

    def finished(self, result: DomainResult) -> None:
        row = self.rows[result.domain]
        row.state, row.ended = result.status, time.monotonic()
        if result.status is Status.SKIPPED:
            row.note = result.reason
        if result.status is Status.FAILED:
            self.failures.append(result)
        for warning in deprecation_warnings(result):
            self.live.console.print(warning, markup=False, highlight=False)
        self._refresh()


def summary_line(results: list[DomainResult]) -> str:
    """One sentence for a build where every domain is published or unchanged."""
    if len(results) == 1:
        return f"{results[0].domain} {results[0].status}."
    unchanged = sum(result.status is Status.UNCHANGED for result in results)
    if not unchanged:
        return f"All {len(results)} domains published."
    return f"{len(results) - unchanged} domains published, {unchanged} unchanged."


@dataclass
class _Step:
    what: str = "queued"
    started: float | None = None
    ended: float | None = None


class DomainSteps:
    """Per-domain progress of `mesh check` and `mesh lint` on stderr, so that their report on
    stdout stays clean: a live table with each domain's step and clock on a terminal, one
    line per finished domain elsewhere. Called from worker threads: Live redraws under its
    own lock, and each call changes one row."""

    def __init__(self, err: Console, command: str, live: bool, lines: bool = False) -> None:
        """`lines`: print the line of each finished step on a terminal too, above the table
        (`mesh dev`, whose results stay on the screen)."""
        self.err, self.command, self.lines = err, command, lines
        self.steps: dict[str, _Step] = {}
        self.live = Live(self, console=err, refresh_per_second=8, transient=True) if live else None

    def __rich__(self) -> Table:
        table = Table(header_style="bold", box=None, title=self.command, title_justify="left")
        for column in ("domain", "step", "elapsed"):
            table.add_column(column)
        now = time.monotonic()
        for name, step in list(self.steps.items()):
            elapsed = _elapsed(step.started, step.ended, now)
            style = "dim" if step.started is None else "cyan" if step.ended is None else ""
            # Text, not markup: a domain's name or a step is shown as it is, brackets and all.
            table.add_row(Text(name), Text(step.what, style=style), elapsed)
        return table

    def __call__(self, domain: str, what: str, finished: bool) -> None:
        step = self.steps.setdefault(domain, _Step())
        now = time.monotonic()
        if step.ended is not None and not finished:  # a new step of a domain that finished one
            step.started, step.ended = None, None
        if step.started is None and what != "queued":
            step.started = now
        step.what = what
        if finished:
            step.ended = now
            if self.live is None or self.lines:
                seconds = _elapsed(step.started, now, now)
                took = f" ({seconds})" if seconds else ""
                self.err.print(f"{domain}: {what}{took}", markup=False, highlight=False)

    def __enter__(self) -> DomainSteps:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)
