"""The `mesh` command: parses arguments, calls the platform modules and prints. No logic here."""

from __future__ import annotations

import json
import os
import queue
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext, suppress
from datetime import datetime
from enum import Enum, StrEnum
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from rich.console import Console

from mesh import catalog as catalog_module
from mesh import engines
from mesh.cli.output import Format, to_csv, to_json, to_table
from mesh.cli.progress import DomainSteps, LiveReporter, PlainReporter, summary_line, summary_table
from mesh.data.generate import append as append_landing
from mesh.data.generate import generate as generate_landing
from mesh.discovery import graph, integrity, registry, snapshots
from mesh.discovery import lineage as lineage_module
from mesh.discovery.domains import discover, location, require_projects, select, standing_in
from mesh.discovery.products import list_products
from mesh.engines.duckdb.query import read_sql
from mesh.errors import MeshError
from mesh.governance import check as check_module
from mesh.governance import lint as lint_module
from mesh.metrics import layer
from mesh.pipeline import build as build_module
from mesh.pipeline import dev as dev_module
from mesh.pipeline import publish as publish_module
from mesh.pipeline import repair as repair_module
from mesh.pipeline import timings as timings_module
from mesh.pipeline.engine import QueryLimits, QueryResult
from mesh.pipeline.gates import Overrides
from mesh.pipeline.locks import domain_lock
from mesh.pipeline.report import Status
from mesh.runner.workers import (
    DbtOutcome,
    DbtWorkers,
    NodeFinished,
    NodesPlanned,
    ProgressEvent,
    event_queue,
    stop_server,
)
from mesh.scaffold import ci as ci_module
from mesh.scaffold import domain as scaffold
from mesh.workspace import Mesh


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


TargetOption = Annotated[
    Engine,
    typer.Option(
        "--target",
        help="Engine: duckdb (default), or spark (dbt-spark; one domain at a time; see "
        "`make test-spark`).",
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f")]
AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        metavar="TIME",
        help="Read the mesh snapshot that was current at this time (ISO 8601, UTC unless it "
        "names an offset), within the kept history.",
    ),
]
LatestOption = Annotated[
    bool,
    typer.Option(
        "--latest",
        help="Read the newest publish of each domain, even where they were not built together.",
    ),
]

app = typer.Typer(
    help="Self-serve platform of the data mesh: generate, build, query and list data products.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Markdown joins a docstring's wrapped lines (Rich mode keeps each break in the command list)
    # and shows `code` plainly.
    rich_markup_mode="markdown",
)
# Off a terminal (pipes, CI logs) Rich would squeeze tables into 80 columns; allow more.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 200)


@contextmanager
def _interruptible(what: str, unchanged: str) -> Iterator[None]:
    """Ctrl-C (on a terminal or a SIGINT in a script) ends `what` with one line and exit 130,
    where typer would exit without a word."""
    try:
        yield
    except KeyboardInterrupt:
        err.print(f"{what} interrupted (Ctrl-C): {unchanged}", highlight=False)
        raise typer.Exit(130) from None


def _print_version(asked: bool) -> None:
    if asked:
        from mesh import __version__
        from mesh.pipeline.fingerprint import toolchain

        out.print(f"mesh {__version__}\n{toolchain()}".rstrip(), markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the versions of mesh and of the dbt toolchain it runs, and exit.",
        ),
    ] = False,
) -> None:
    """Self-serve platform of the data mesh: generate, build, query and list data products."""


@app.command()
def generate(
    scale: Annotated[
        float, typer.Option(help="Size of the data; 10 gives ten times the rows of 1.")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed and scale give identical files.")] = 42,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            metavar="TIME",
            help="Instant of the export: the year of history ends here. Default: the last "
            "full hour (UTC).",
            formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        ),
    ] = None,
    append_days: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Instead of a new history, export the next N days after the last export "
            "(new orders, payments, shipments and delivery events) as new files.",
        ),
    ] = None,
) -> None:
    """Write each domain's operational source data into warehouse/landing/."""
    mesh = Mesh.find()
    out.print("Generating the source systems' exports into warehouse/landing/ ...")
    if append_days is not None:
        result = append_landing(mesh, append_days)
        what = f"appended {append_days} day(s), exported as of {result.export_to:%Y-%m-%d %H:%M}"
    else:
        result = generate_landing(mesh, scale=scale, seed=seed, as_of=as_of)
        what = f"scale {scale:g}, seed {seed}, as of {result.export_to:%Y-%m-%d %H:%M}"
    for f in result.files:
        out.print(f"  {f.path.relative_to(mesh.root)}  {f.rows:,} rows")
    out.print(
        f"Generated {result.rows:,} rows in {len(result.files)} files in "
        f"{result.seconds:.2f} s, {result.rows_per_second / 1e6:.1f} million rows/s ({what})."
    )


@app.command()
def build(
    domains: Annotated[
        list[str] | None,
        typer.Argument(help="Domains to build; default all. Their upstreams are built first."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", metavar="N", help="Domains built at once; default: cores."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Plain lines, no live display.")
    ] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Rebuild even the domains where nothing changed.")
    ] = False,
    only: Annotated[
        bool,
        typer.Option(
            "--only",
            help="Build just the named domains, reading their upstreams as the mesh snapshot has "
            "them.",
        ),
    ] = False,
    lock_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="Seconds to wait for another build of the same domain."
        ),
    ] = build_module.DEFAULT_LOCK_TIMEOUT,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            min=1,
            help="Seconds each domain's dbt build may run; one that runs longer is stopped and "
            "fails, and the other domains go on.",
        ),
    ] = build_module.DEFAULT_TIMEOUT,
    allow_breaking: Annotated[
        str | None,
        typer.Option(
            "--allow-breaking",
            metavar="REASON",
            help="Publish despite breaking changes to published products (an emergency): the "
            "reason is recorded in the publish record, the history and the catalog.",
        ),
    ] = None,
    accept_volume_change: Annotated[
        str | None,
        typer.Option(
            "--accept-volume-change",
            metavar="REASON",
            help="Publish despite an implausible change in a product's row count; recorded "
            "like --allow-breaking.",
        ),
    ] = None,
    target: TargetOption = Engine.duckdb,
) -> None:
    """Build domains in dependency order, in parallel where possible; publish each one whose
    models and tests all pass and that the publish gate lets through (policies, breaking
    changes, deprecations, expectations, volume, personal data)."""
    for flag, reason in (
        ("--allow-breaking", allow_breaking),
        ("--accept-volume-change", accept_volume_change),
    ):
        if reason is not None and len(reason.strip()) < 3:
            raise MeshError(f'{flag} needs a reason, recorded with the publish: {flag} "<why>".')
    if (allow_breaking or accept_volume_change) and not domains:
        raise MeshError(
            "An override applies to the domains you name: mesh build <domain> "
            '--allow-breaking "<why>" (or --accept-volume-change).'
        )
    overrides = Overrides(breaking=allow_breaking, volume=accept_volume_change)
    mesh = Mesh.find()
    live = out.is_terminal and not quiet
    reporter = LiveReporter(out, err) if live else PlainReporter(out, err)
    stopped = (
        "the domains still building were stopped and not published; every published version "
        "is unchanged."
    )
    display = reporter if isinstance(reporter, LiveReporter) else nullcontext()
    with _interruptible("mesh build", stopped), display:
        results = build_module.build(
            mesh, domains or [], engines.get(target), reporter, jobs, lock_timeout, only,
            full, overrides=overrides, timeout=timeout,
        )  # fmt: skip
    out.print(summary_table(results))
    _print_snapshot(snapshots.current(Mesh.find().on(target)))
    failed = [r.domain for r in results if not r.ok]
    if failed:
        err.print(
            f"[red]{len(failed)} of {len(results)} domains did not publish:[/] {', '.join(failed)}."
        )
        raise typer.Exit(1)
    out.print(f"[green]{summary_line(results)}[/]")


# A dev loop runs many more tasks per worker than a build: each is one dbt invocation or two,
# far below the thousand dbt-loom allows a process (mesh.runner.workers).
DEV_TASKS_PER_WORKER = 200


def _outcome_line(outcome: DbtOutcome) -> str:
    """What one rebuild did: the counts, or the first failure with its file."""
    counts = ", ".join(
        f"{n} {kind.replace('_', ' ')}{'s' if n != 1 else ''}"
        for kind, n in sorted(outcome.counts.items())
    )
    if outcome.success:
        return f"{counts or 'nothing'} passed"
    if outcome.failures:
        first = outcome.failures[0]
        where = f" ({first.path})" if first.path else ""
        # dbt's first line repeats the node and its file ("Runtime Error in model x (...)"):
        # the cause is on the lines after it.
        lines = [line.strip() for line in first.message.splitlines() if line.strip()]
        if len(lines) > 1 and " in " in lines[0] and lines[0].endswith(")"):
            lines = lines[1:]
        message = " ".join(lines)[:300] if lines else first.status
        more = f"; {len(outcome.failures) - 1} more" if len(outcome.failures) > 1 else ""
        return f"FAILED: {first.resource_type} {first.name}{where}: {message}{more}"
    return f"FAILED: {(outcome.error or 'dbt failed').splitlines()[0]}"


def _dev_rebuild(
    mesh: Mesh,
    jobs: list[dev_module.Rebuild],
    workers: dict[str, DbtWorkers],
    steps: DomainSteps,
    events: Queue[ProgressEvent],
) -> None:
    """Rebuild each domain's selection on the development target, on its own warm worker
    (whose session child keeps dbt warm on the domain's project)."""
    running = {}
    for job in jobs:
        steps(job.domain.name, f"building {job.label}", False)
        running[job.domain.name] = workers[job.domain.name].submit(dev_module.dev_task(mesh, job))
    planned: dict[str, int] = {}
    done: dict[str, int] = {}
    while running:
        with suppress(queue.Empty):
            event = events.get(timeout=0.05)
            if isinstance(event, NodesPlanned):
                planned[event.domain], done[event.domain] = event.nodes, 0
            elif isinstance(event, NodeFinished) and event.domain in running:
                done[event.domain] = done.get(event.domain, 0) + 1
                total = planned.get(event.domain, 0)
                steps(event.domain, f"building {done[event.domain]}/{total}", False)
        for name, future in list(running.items()):
            if future.done():
                del running[name]
                try:
                    line = _outcome_line(future.result())
                except Exception as error:  # a worker died: say so, keep watching
                    line = f"FAILED: the dbt worker stopped ({type(error).__name__}: {error})"
                steps(name, line, True)


def _dev_publish(
    mesh: Mesh, jobs: list[dev_module.Rebuild], workers: DbtWorkers, steps: DomainSteps
) -> None:
    """Build and publish the saved domains through the full gate, on the warm workers."""
    names = [job.domain.name for job in jobs]
    for name in names:
        steps(name, "building and publishing", False)
    results = build_module.build(
        mesh, names, engines.get(Engine.duckdb), PlainReporter(out, err), workers=workers
    )
    for result in results:
        if result.domain in names:
            if result.status is Status.PUBLISHED:
                line = f"published {result.publish_id}"
            elif result.ok:
                line = "unchanged since its current publish"
            else:
                line = f"{result.status.upper()}: {result.reason or 'see the lines above'}"
            steps(result.domain, line, True)


@app.command()
def dev(
    domains: Annotated[
        list[str] | None, typer.Argument(help="Domains to watch; default: every domain.")
    ] = None,
    publish: Annotated[
        bool,
        typer.Option(
            "--publish",
            help="On each save, build and publish through the full publish gate (as `mesh "
            "build`), instead of rebuilding on the development target.",
        ),
    ] = False,
) -> None:
    """Watch domains and rebuild on each save, on dbt workers kept warm: the saved models and
    what is downstream of them on the development target (plain dbt's `dev`), and the whole
    domain when its YAML, macros or landing data change. Ctrl-C stops."""
    mesh = Mesh.find()
    found = discover(mesh)
    if domains:
        chosen = select(found, domains)
        require_projects(mesh, chosen, "watch")
    else:  # those with a dbt project here
        chosen = [domain for domain in found.values() if not domain.published_only]
    if not chosen:
        raise MeshError("There is no domain to watch: add one with `mesh new-domain`.")
    size = max(1, min(len(chosen), build_module.default_jobs()))
    steps = DomainSteps(out, "mesh dev", live=out.is_terminal, lines=True)
    restart: dev_module.Restart | None = None
    what = "building and publishing" if publish else "rebuilding on the development target"
    try:
        out.print(
            f"Watching {', '.join(d.name for d in chosen)} ({what} on each save); Ctrl-C stops.",
            highlight=False,
        )
        events = event_queue()
        with ExitStack() as stack:
            # Warm: every save is a task; the plugin: both targets connect through it.
            settings: dict[str, Any] = {
                "tasks_per_worker": DEV_TASKS_PER_WORKER,
                "preload": engines.get(Engine.duckdb).worker_modules,
                "warm": True,
            }
            if publish:  # one pool for the builds, as `mesh build` has
                pool = stack.enter_context(DbtWorkers(size, events, **settings))
            else:  # a worker per domain, so that each save reaches the domain's warm session
                pools = {
                    d.name: stack.enter_context(DbtWorkers(1, events, **settings)) for d in chosen
                }
            stack.enter_context(steps)
            for item in dev_module.saves(mesh, chosen):
                if isinstance(item, dev_module.Restart):
                    restart = item
                    break
                if publish:
                    _dev_publish(mesh, item, pool, steps)
                else:
                    _dev_rebuild(mesh, item, pools, steps, events)
    except KeyboardInterrupt:
        unchanged = "" if publish else " (it never publishes)"
        out.print(
            f"mesh dev stopped (Ctrl-C); every published version is unchanged{unchanged}.",
            highlight=False,
        )
        return
    if restart is not None:
        changed = ", ".join(str(path) for path in restart.because[:3])
        out.print(f"The mesh's code or packages changed ({changed}): restarting.", highlight=False)
        sys.stdout.flush()
        stop_server()  # exec skips the exit handler that reaps it
        os.execv(sys.executable, [sys.executable, "-m", "mesh", *sys.argv[1:]])


@app.command()
def query(
    sql: Annotated[
        str | None,
        typer.Argument(
            help="Read-only SQL over the published products, "
            "e.g. select * from orders.main.orders_v2"
        ),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Run the SQL saved in this file.")
    ] = None,
    format: FormatOption = Format.table,
    target: TargetOption = Engine.duckdb,
    at: AtOption = None,
    latest: LatestOption = False,
    timeout: Annotated[
        float,
        typer.Option(
            min=0, metavar="SECONDS", help="Stop the query after this many seconds (0: no limit)."
        ),
    ] = QueryLimits.timeout,
    max_rows: Annotated[
        int,
        typer.Option(
            min=0,
            metavar="N",
            help="Fetch at most this many rows; a note says when there were more (0: all).",
        ),
    ] = QueryLimits.max_rows,
    memory_limit: Annotated[
        str, typer.Option(metavar="SIZE", help="Memory the engine may use, e.g. 4GB.")
    ] = QueryLimits.memory_limit,
    spill_limit: Annotated[
        str,
        typer.Option(
            metavar="SIZE",
            help="Temporary disk DuckDB may spill to (in warehouse/tmp, removed after), e.g. 8GB.",
        ),
    ] = QueryLimits.spill_limit,
) -> None:
    """Run read-only SQL across the data products of all domains, in one consistent snapshot
    of the mesh. Ctrl-C stops it (exit 130)."""
    text = read_sql(sql, file)
    view = _view(Mesh.find().on(target), at, latest)
    limits = QueryLimits(timeout, max_rows, memory_limit, spill_limit)
    _run_and_print(lambda: engines.get(target).query(view, text, limits), view, limits, format)


def _run_and_print(
    run: Callable[[], QueryResult], view: snapshots.View, limits: QueryLimits, format: Format
) -> None:
    """Run a read-only query and print its rows, where they came from, its warnings and a
    note if the row limit cut it. Ctrl-C ends it with one line and exit 130."""
    try:
        result = run()
    except KeyboardInterrupt:  # typer would exit 130 without a word
        err.print("Query stopped (Ctrl-C).", highlight=False)
        raise typer.Exit(130) from None
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    _print_rows(format, result.columns, result.rows)
    if format is Format.table:
        rows = f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}"
        out.print(f"{rows}, from {view.label}", highlight=False)
    note = result.cut_note(limits)
    if note:  # on stderr: JSON and CSV on stdout stay whole
        err.print(f"[yellow]note:[/] {note}", highlight=False)


metrics_app = typer.Typer(
    help="Metrics on the data products: list them, and query them by name and dimension.",
    no_args_is_help=True,
)
app.add_typer(metrics_app, name="metrics")


def _names(values: list[str] | None) -> list[str]:
    """Repeated or comma-separated option values: `--metrics a,b --metrics c`."""
    return [name.strip() for value in values or [] for name in value.split(",") if name.strip()]


@metrics_app.command("list")
def metrics_list(
    format: FormatOption = Format.table,
    at: AtOption = None,
    latest: LatestOption = False,
    saved: Annotated[
        bool, typer.Option("--saved", help="List the saved metric queries instead.")
    ] = False,
) -> None:
    """List the metrics the domains declare: what each measures (its definition), who owns
    it, the products it reads and the dimensions it can be grouped by."""
    view = _view(Mesh.find(), at, latest)
    if saved:
        _print_saved_queries(layer.saved_queries(view), view, format)
        return
    found = layer.metrics(view)
    columns = ["metric", "domain", "owner", "type", "description", "definition", "reads",
               "dimensions"]  # fmt: skip
    rows = [
        [m.name, m.domain, m.owner, m.type, m.description, m.definition, ", ".join(m.reads),
         ", ".join(m.dimensions)]
        for m in found
    ]  # fmt: skip
    if format is not Format.table:
        _print_rows(format, columns, rows)
        return
    if not rows:
        out.print(f"No domain declares metrics in {view.label}.", highlight=False)
        return
    _print_rows(format, columns, rows)
    out.print(f"{len(rows)} metrics, from {view.label}", highlight=False)


def _print_saved_queries(
    found: list[layer.SavedQuery], view: snapshots.View, format: Format
) -> None:
    columns = ["saved query", "domain", "description", "metrics", "group by", "where"]
    rows = [
        [q.name, q.domain, q.description, ", ".join(q.metrics), ", ".join(q.group_by),
         " and ".join(q.where)]
        for q in found
    ]  # fmt: skip
    if format is Format.table and not rows:
        out.print(f"No domain declares saved metric queries in {view.label}.", highlight=False)
        return
    _print_rows(format, columns, rows)
    if format is Format.table:
        noun = "saved query" if len(rows) == 1 else "saved queries"
        out.print(f"{len(rows)} {noun}, from {view.label}", highlight=False)


@metrics_app.command("query")
def metrics_query(
    metrics: Annotated[
        list[str] | None,
        typer.Option("--metrics", "-m", metavar="NAMES", help="Metrics, comma-separated."),
    ] = None,
    group_by: Annotated[
        list[str] | None,
        typer.Option(
            "--group-by",
            "-g",
            metavar="NAMES",
            help="Dimensions, comma-separated, e.g. metric_time__month,order__customer__region.",
        ),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            metavar="FILTER",
            help="A MetricFlow filter, e.g. \"{{ Dimension('customer__region') }} = 'Europe'\".",
        ),
    ] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option(
            "--order-by",
            metavar="NAMES",
            help="Metrics or dimensions to sort by, comma-separated; -name sorts descending.",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Return at most this many rows.")
    ] = None,
    format: FormatOption = Format.table,
    at: AtOption = None,
    latest: LatestOption = False,
    show_sql: Annotated[
        bool, typer.Option("--sql", help="Print the SQL MetricFlow wrote instead of running it.")
    ] = False,
    saved: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Run a saved query (`mesh metrics list --saved` lists them) instead of "
            "--metrics, --group-by, --where, --order-by and --limit.",
        ),
    ] = None,
) -> None:
    """Query metrics by name and dimension over one consistent snapshot of the mesh:
    MetricFlow writes the joins across the products, `mesh query`'s read-only sandbox runs
    them. Ctrl-C stops it (exit 130)."""  # fmt: skip
    view = _view(Mesh.find(), at, latest)
    request = layer.MetricQuery(
        _names(metrics), _names(group_by), list(where or []), _names(order_by), limit
    )
    if saved is not None:
        if request != layer.MetricQuery([]):
            raise MeshError(
                "--saved runs the saved query as it is declared; leave out --metrics, "
                "--group-by, --where, --order-by and --limit."
            )
        sql = layer.compile_saved(view, saved)
    else:
        sql = layer.compile_sql(view, request)
    if show_sql:
        sys.stdout.write(sql + "\n")
        return
    limits, duckdb = QueryLimits(), engines.get(Engine.duckdb)
    _run_and_print(lambda: duckdb.query(view, sql, limits), view, limits, format)


def _print_snapshot(snapshot: snapshots.Snapshot | None, lead: str = "Readers see") -> None:
    """Which mesh snapshot readers see, and which domains it holds behind (with `lead` "",
    only those)."""
    if snapshot is None:
        return
    if lead:
        out.print(f"{lead} {snapshot.label}.", highlight=False)
    for name, why in sorted(snapshot.behind.items()):
        out.print(f"  {name} is behind its newest publish: {why}", highlight=False)


def _view(mesh: Mesh, at: str | None, latest: bool) -> snapshots.View:
    """What a reader command reads: the mesh snapshot, one `--at` a time, or `--latest`."""
    view = snapshots.view(mesh, at_time=at, latest=latest)
    if view.mixed:
        err.print(
            f"[yellow]--latest mixes publishes that were not built together:[/] "
            f"{'; '.join(view.mixed)}.",
            highlight=False,
        )
    return view


@app.command()
def products(
    format: FormatOption = Format.table, at: AtOption = None, latest: LatestOption = False
) -> None:
    """List the data products of the mesh snapshot readers see, one entry per version."""
    view = _view(Mesh.find(), at, latest)
    found = list_products(view)
    if format is Format.json:
        sys.stdout.write(json.dumps([p.model_dump() for p in found], indent=2) + "\n")
        return
    if format is Format.csv:
        columns = [
            "domain",
            "name",
            "version",
            "latest_version",
            "relation",
            "owner",
            "contract_enforced",
            "deprecation_date",
            "published_at",
        ]
        sys.stdout.write(to_csv(columns, [[getattr(p, c) for c in columns] for p in found]))
        return
    rows = []
    for p in found:
        status = f"deprecated {p.deprecation_date}" if p.deprecation_date else ""
        status = "latest" if p.version == p.latest_version else status
        published = (p.published_at or "")[:16].replace("T", " ")
        rows.append(
            (p.domain, p.name, p.version or "", status, p.relation, p.owner or "", published)
        )
    if not found:
        out.print("Nothing is published yet: `mesh build` builds and publishes every domain.")
        return
    columns = ["domain", "product", "v", "status", "relation", "owner", "published (UTC)"]
    out.print(to_table(columns, rows, whole=["relation"]))
    out.print(f"{len(found)} product versions in {view.label}", highlight=False)
    _print_snapshot(view.snapshot, lead="")


@app.command()
def domains() -> None:
    """List the domains in build order with the domains each one consumes."""
    mesh = Mesh.find()
    found = discover(mesh)
    rows = [
        (
            name,
            ", ".join(found[name].upstreams) or "-",
            location(mesh, found[name]),
        )
        for name in graph.build_order(found)
    ]
    out.print(to_table(["domain (build order)", "consumes", "dbt project"], rows))


@app.command()
def check(
    domains: Annotated[
        list[str] | None, typer.Argument(help="Domains to check; default all.")
    ] = None,
    format: FormatOption = Format.table,
) -> None:
    """Check mesh-wide policies, breaking changes against the published state (with the
    consumers they would break) and consumers of deprecated product versions."""
    mesh = Mesh.find()
    steps = DomainSteps(err, "mesh check", live=err.is_terminal)
    with _interruptible("mesh check", "nothing was published or changed."), steps:
        report = check_module.run(mesh, domains or [], progress=steps)
    if format is Format.json:
        sys.stdout.write(json.dumps(check_module.as_dict(report), indent=2) + "\n")
    else:
        for line in check_module.as_lines(report):
            out.print(line, markup=False, highlight=False)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def lint(
    domains: Annotated[
        list[str] | None, typer.Argument(help="Domains to lint; default all.")
    ] = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="Fix what sqlfluff can, then report what is left.")
    ] = False,
    format: Annotated[str, typer.Option("--format", "-f", metavar="table|json")] = "table",
) -> None:
    """Check the SQL style of the domains' dbt models with sqlfluff (see .sqlfluff)."""
    if format not in {"table", "json"}:
        raise MeshError(f"--format must be table or json, not {format!r}.")
    mesh = Mesh.find()
    found = discover(mesh)
    domains = domains or [name for name in [standing_in(mesh, found)] if name]  # its own repo
    chosen = (
        select(found, domains) if domains else [d for d in found.values() if not d.published_only]
    )
    require_projects(mesh, chosen, "lint")
    steps = DomainSteps(err, "mesh lint --fix" if fix else "mesh lint", live=err.is_terminal)
    with _interruptible("mesh lint", "nothing was published."), steps:
        results = lint_module.lint(mesh, chosen, fix, progress=steps)
    if format == "json":
        sys.stdout.write(json.dumps(lint_module.as_dict(results), indent=2) + "\n")
    else:
        for line in lint_module.as_lines(results):
            out.print(line, markup=False, highlight=False)
    if not all(result.ok for result in results):
        raise typer.Exit(1)


@app.command("ci-workflow")
def ci_workflow(
    check_only: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the file is out of date.")
    ] = False,
) -> None:
    """Write .github/workflows/domains.yml: one CI job per domain, each after the jobs of the
    domains it consumes."""
    mesh = Mesh.find()
    path = ci_module.workflow_path(mesh).relative_to(mesh.root)
    if not check_only:
        ci_module.write_workflow(mesh)
        out.print(f"wrote {path}", highlight=False)
    elif ci_module.workflow_is_current(mesh):
        out.print(f"{path} is up to date.", highlight=False)
    else:
        err.print(
            f"[red]{path} is out of date:[/] run `mesh ci-workflow` and commit the file.",
            highlight=False,
        )
        raise typer.Exit(1)


@app.command()
def catalog(
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder to write the site to; default warehouse/catalog."),
    ] = None,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Then serve it on http://127.0.0.1:PORT/ until Ctrl-C."),
    ] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8000,
) -> None:
    """Write the data product catalog: a static HTML site of every published product (search,
    schemas, contracts, last publish, consumers, lineage) that works offline from file://."""
    index = catalog_module.build_catalog(Mesh.find(), out_dir, run=_read_only_rows)
    out.print(f"wrote {index}", highlight=False)
    if serve:
        out.print(f"serving on http://127.0.0.1:{port}/ (Ctrl-C stops)", highlight=False)
        try:
            catalog_module.serve(index.parent, port)
        except KeyboardInterrupt:
            out.print("stopped")


def _read_only_rows(
    view: snapshots.View, sql: str
) -> tuple[list[str], list[tuple[Any, ...]], list[str]]:
    """The rows of read-only SQL on `view`, run as `mesh query` runs it, with its warnings
    and a note when its row limit cut it (the catalog's charts of saved metric queries)."""
    limits = QueryLimits()
    result = engines.get(Engine.duckdb).query(view, sql, limits)
    note = result.cut_note(limits)
    return result.columns, result.rows, [*result.warnings, *([note] if note else [])]


@app.command("timings")
def timings_command(
    domains: Annotated[
        list[str] | None, typer.Argument(help="Domains to look at; default all.")
    ] = None,
    top: Annotated[
        int, typer.Option("--top", "-n", metavar="N", help="How many of the slowest.")
    ] = 10,
    all_nodes: Annotated[
        bool, typer.Option("--all-nodes", help="Tests and unit tests too, not only models.")
    ] = False,
    format: FormatOption = Format.table,
) -> None:
    """The slowest models of the current publishes, from dbt's run results."""
    mesh = Mesh.find()
    found = discover(mesh)
    names = [d.name for d in select(found, domains)] if domains else sorted(found)
    slowest = timings_module.timings(mesh, names, models_only=not all_nodes)[:top]
    if not slowest:
        raise MeshError("Nothing has been published yet; run `mesh build` first.")
    columns = ["domain", "node", "type", "seconds", "status"]
    rows = [(t.domain, t.node, t.resource_type, round(t.seconds, 3), t.status) for t in slowest]
    _print_rows(format, columns, rows, title=f"{len(rows)} slowest")


def _print_rows(
    format: Format, columns: list[str], rows: Sequence[Sequence[Any]], title: str | None = None
) -> None:
    """Rows as JSON or CSV on stdout (for machines), or as a table."""
    if format is Format.json:
        sys.stdout.write(to_json(columns, rows) + "\n")
    elif format is Format.csv:
        sys.stdout.write(to_csv(columns, rows))
    else:
        out.print(to_table(columns, rows, title=title))


@app.command()
def history(
    domain: Annotated[str, typer.Argument(help="The domain whose publishes to list.")],
) -> None:
    """List a domain's kept publishes: when, from which commit, with which products, what
    was published despite the gate (overrides); its current one, and the one readers see in
    the mesh snapshot."""
    mesh = Mesh.find()
    select(discover(mesh), [domain])
    current = registry.current_publish_id(mesh, domain)
    snapshot = snapshots.current(mesh)
    read = snapshot.publishes.get(domain) if snapshot else None
    rows = []
    for publish_id in reversed(registry.publish_ids(mesh, domain)):
        record = registry.read_record(mesh, domain, publish_id)
        if record is None:
            continue
        products = ", ".join(
            f"{p.name} v{p.version} ({p.rows:,} rows, {p.checksum[:8]})" for p in record.products
        )
        mark = "*" if publish_id == current else ""
        commit = (record.git_commit or "")[:10] + ("-dirty" if record.git_dirty else "")
        overrides = "; ".join(f"--{o.flag} by {o.by}: {o.reason}" for o in record.overrides)
        rows.append((mark, "*" if publish_id == read else "", publish_id, record.published_at,
                     commit, products, overrides))  # fmt: skip
    if not rows:
        raise MeshError(f"{domain} has never been published; run `mesh build {domain}`.")
    columns = ["current", "readers", "publish", "published at", "commit", "products", "overrides"]
    out.print(to_table(columns, rows))


@app.command()
def rollback(domain: Annotated[str, typer.Argument(help="The domain to roll back.")]) -> None:
    """Make the publish before the current one of DOMAIN current again."""
    mesh = Mesh.find()
    select(discover(mesh), [domain])
    with domain_lock(mesh.locks, domain, timeout=0):
        record, snapshot = publish_module.rollback(mesh, domain)
    out.print(f"{domain} rolled back to {record.publish_id}, published {record.published_at}.")
    _print_snapshot(snapshot, lead="Readers now see")


@app.command()
def verify(
    domains: Annotated[
        list[str] | None, typer.Argument(help="Domains to verify; default all.")
    ] = None,
    current: Annotated[
        bool,
        typer.Option(
            "--current",
            help="Only the publish each domain's next build reads and the one readers see, "
            "not every kept publish (those `mesh rollback` and `--at` can return to).",
        ),
    ] = False,
    target: TargetOption = Engine.duckdb,
) -> None:
    """Check every file of every kept publish against its publish record by sha256: one line
    per damaged file, exit 1 if any."""
    mesh = Mesh.find().on(target)
    found = discover(mesh)
    names = [d.name for d in select(found, domains)] if domains else sorted(found)
    started = time.perf_counter()
    verified = integrity.verify(mesh, names, current_only=current)
    seconds = time.perf_counter() - started
    damaged = [v for v in verified if v.damage]
    for result in damaged:
        for damage in result.damage:
            err.print(
                f"[red]damaged:[/] {result.domain} publish {result.publish_id}: "
                f"{damage.describe()}",
                highlight=False,
            )
    unstamped = [f"{v.domain} {v.publish_id}" for v in verified if not v.stamped]
    if unstamped:
        out.print(
            f"not checked (published before files were stamped): {', '.join(unstamped)}",
            highlight=False,
        )
    files, size = sum(v.files for v in verified), sum(v.size for v in verified)
    out.print(
        f"Verified {files:,} files ({size / 1e6:,.1f} MB) of {len(verified)} publishes of "
        f"{len(names)} domains in {seconds:.2f} s.",
        highlight=False,
    )
    if damaged:
        whose = sorted({v.domain for v in damaged})
        err.print(
            f"[red]{sum(len(v.damage) for v in damaged)} damaged file(s)[/] in "
            f"{len(damaged)} publish(es) of {', '.join(whose)}: run `mesh repair <domain>` "
            "(or `mesh rollback <domain>` if only its current publish is damaged).",
            highlight=False,
        )
        raise typer.Exit(1)


@app.command()
def repair(
    domain: Annotated[str, typer.Argument(help="The domain whose publish was damaged.")],
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Plain lines, no live display.")
    ] = False,
    target: TargetOption = Engine.duckdb,
) -> None:
    """Rebuild DOMAIN from its code and landing data into a new publish (--full: nothing
    continues from the damaged one), verify it by sha256, then rebuild its consumers."""
    mesh = Mesh.find()
    live = out.is_terminal and not quiet
    reporter = LiveReporter(out, err) if live else PlainReporter(out, err)
    with reporter if isinstance(reporter, LiveReporter) else nullcontext():
        done = repair_module.repair(mesh, domain, engines.get(target), reporter)
    was = f"publish {done.replaced}" if done.replaced else "no publish"
    what = f"{len(done.damage)} damaged file(s) in it" if done.damage else "no damage found in it"
    record = done.record
    out.print(
        f"{domain} repaired: rebuilt from its code and landing data into publish "
        f"{record.publish_id}, {len(record.files) + len(record.private_files)} files verified "
        f"by sha256; it replaces {was} ({what}, kept in its history).",
        highlight=False,
    )
    if done.consumers:
        out.print(summary_table(done.consumers))
    _print_snapshot(snapshots.current(mesh.on(target)), lead="Readers now see")
    failed = [r.domain for r in done.consumers if not r.ok]
    if failed:
        err.print(
            f"[red]{domain} is repaired, but its consumers {', '.join(failed)} did not "
            "publish:[/] readers see them as before until they build.",
            highlight=False,
        )
        raise typer.Exit(1)


@app.command()
def lineage(
    format: Annotated[str, typer.Option("--format", "-f", metavar="text|mermaid")] = "text",
) -> None:
    """Print which domain consumes which product version, as text or Mermaid."""
    if format not in {"text", "mermaid"}:
        raise MeshError(f"--format must be text or mermaid, not {format!r}.")
    found = lineage_module.edges(snapshots.view(Mesh.find()))
    if not found:
        raise MeshError("No published domain consumes another yet; run `mesh build` first.")
    render = lineage_module.as_mermaid if format == "mermaid" else lineage_module.as_text
    sys.stdout.write(render(found) + "\n")


@app.command("new-domain")
def new_domain(
    name: Annotated[str, typer.Argument(help="Name of the domain (a dbt project name).")],
    owner: Annotated[str, typer.Option(help='The owning team, "Team Name \\<team@example.com>".')],
    archetype: Annotated[
        str, typer.Option(help="source-aligned, aggregate or consumer-aligned.")
    ] = "source-aligned",
    consumes: Annotated[
        list[str] | None,
        typer.Option("--consumes", help="A domain whose products this one reads (repeatable)."),
    ] = None,
) -> None:
    """Scaffold a new domain that builds and passes its tests at once."""
    mesh = Mesh.find()
    request = scaffold.parse_request(mesh, name, owner, archetype, consumes or [])
    for path in scaffold.create(mesh, request):
        out.print(f"  wrote {path.relative_to(mesh.root)}", highlight=False)
    out.print(f"Domain {name} created. Build it with: mesh build {name}")


def _readable_help(command: Any) -> None:
    """Typer labels every parameter with its Python type: `<bool>` after each flag,
    `<list[str]>` after arguments. Name values the way Unix help does instead: nothing for a
    flag, the choices, or the option's name (`--jobs JOBS`)."""
    for param in [*command.params, command.get_help_option(command.context_class(command))]:
        if param is None or param.metavar is not None:
            continue
        described = getattr(param, "type_descriptor", None)
        if getattr(param, "is_flag", False):
            param.metavar = ""
        elif described is not None and described.is_choice:
            param.metavar = "|".join(
                str(choice.value if isinstance(choice, Enum) else choice)
                for choice in described.choices
            )
        else:
            param.metavar = param.name.upper()
        if param.param_type_name == "argument":  # its name already says what it takes
            param.display_type_rich = lambda ctx: None
    for subcommand in getattr(command, "commands", {}).values():
        _readable_help(subcommand)


def main() -> None:
    """Console entry point: expected failures print one sentence and exit 1, no traceback."""
    command = typer.main.get_command(app)
    _readable_help(command)
    try:
        command(prog_name="mesh")
    except MeshError as error:
        err.print(f"[red]error:[/] {error}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
