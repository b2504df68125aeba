"""The live build display: a running domain's clock moves with no event from dbt, and it says
what the domain is doing before dbt reports its first node."""

from __future__ import annotations

import io
import re
import time

from rich.console import Console

from mesh.cli.progress import DomainSteps, LiveReporter


def _shown(reporter: LiveReporter) -> str:
    console = Console(file=io.StringIO(), width=120)
    console.print(reporter)  # what Live draws, 8 times a second
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


def test_the_clock_moves_without_events_and_the_state_is_named() -> None:
    reporter = LiveReporter(Console(file=io.StringIO()), Console(file=io.StringIO()))
    reporter.planned(["orders"])
    reporter.started("orders", models=9)
    first = _shown(reporter)
    assert "starting dbt, parsing" in first
    time.sleep(0.25)
    second = _shown(reporter)
    elapsed = [float(re.search(r"([\d.]+) s", shown)[1]) for shown in (first, second)]  # type: ignore[index]
    assert elapsed[1] - elapsed[0] >= 0.2
    reporter.totals("orders", nodes=60)  # dbt parsed: its counts take over
    assert "starting dbt" not in _shown(reporter)
    assert "0/51" in _shown(reporter)


def test_check_and_lint_progress_shows_names_and_steps_as_they_are() -> None:
    """A domain folder's name is input: brackets in it are shown, not read as markup (a
    stray `[/]` made Rich raise inside the live display)."""
    steps = DomainSteps(Console(file=io.StringIO()), "mesh check", live=False)
    steps("x[/]y", "queued", False)
    steps("x[/]y", "parsing", False)
    console = Console(file=io.StringIO(), width=120)
    console.print(steps)
    assert re.search(r"x\[/\]y +parsing +\d\.\d s", console.file.getvalue())  # type: ignore[attr-defined]
