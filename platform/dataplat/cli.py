"""``dataplat``: install, start, inspect and stop the platform."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from dataplat import graph
from dataplat import install as installer
from dataplat.default_command import DefaultCommandGroup
from dataplat.errors import DataplatError, ServiceFailedToStart
from dataplat.progress import StartupProgress, slowest
from dataplat.runtime import Stack
from dataplat.settings import get_settings
from dataplat.sql_shell import sql
from dataplat.status_table import status_table

app = typer.Typer(help="A Hadoop-style data platform on one machine.", no_args_is_help=True)
console = Console()
ServiceNames = Annotated[list[str] | None, typer.Argument(help="services (default: all)")]


def _stack(observer: StartupProgress | None = None) -> Stack:
    return Stack(get_settings(), observer=observer)


def _fail(error: DataplatError, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {error}")
    if isinstance(error, ServiceFailedToStart):
        console.rule(f"last lines of {error.name}'s log")
        console.print(error.log_tail, markup=False, highlight=False)
        console.rule()
        if error.hint:
            console.print(f"[yellow]hint:[/] {error.hint}")
        console.print(f"next: `dataplat logs {error.name}` for the whole log, `dataplat doctor` for checks")
    raise typer.Exit(code)


@app.command()
def install(force: bool = typer.Option(False, help="reinstall even when up to date")) -> None:
    """Install the services: JVM ones with Maven, SQLPad with npm, Superset in its own venv."""
    stack = _stack()
    with console.status("installing services (the first run downloads ~1.5 GB)..."):
        started = time.monotonic()
        try:
            changed = installer.install_all(stack.paths, force=force, java_home=stack.ctx.java17)
        except DataplatError as error:
            _fail(error)
    what = ", ".join(changed) + " installed" if changed else "everything already installed"
    console.print(f"{what} in {stack.paths.dist} ({time.monotonic() - started:.0f} s)")


@app.command()
def up(services: ServiceNames = None) -> None:
    """Start services (and what they need) and wait until each is healthy."""
    stack = _stack()
    if not installer.installed(stack.paths):
        install(force=False)
    started = time.monotonic()
    already = {s.name for s in stack.status() if s.readiness.ok}
    with StartupProgress(console, stack.order) as progress:
        stack.observe = progress
        try:
            stack.up(services)
        except DataplatError as error:
            progress.stop()
            _fail(error)
    wanted = set(services or stack.specs)
    if wanted <= already:
        console.print("already running; nothing to start")
    else:
        console.print(f"[green]all healthy[/] in {time.monotonic() - started:.0f} s")
        if stack.ready_times:
            console.print(slowest(stack.ready_times))
    console.print(status_table(stack.status(), stack.paths))


@app.command()
def status() -> None:
    """Each service: state, health (with the reason), memory (PSS), URL."""
    stack = _stack()
    console.print(status_table(stack.status(), stack.paths))
    if {"connect", "cdc"} & stack.specs.keys():
        from dataplat.cdc_status import cdc_table, collect

        settings = get_settings()
        console.print(cdc_table(collect(settings, stack.paths), settings))


@app.command()
def metrics() -> None:
    """The change-data-capture figures (connector, slot lag, commit lag) in Prometheus' text format."""
    from dataplat.cdc_status import collect, metrics_text

    settings = get_settings()
    typer.echo(metrics_text(collect(settings, _stack().paths), settings), nl=False)


@app.command()
def logs(
    service: str,
    follow: Annotated[bool, typer.Option("-f", "--follow")] = False,
    lines: Annotated[int, typer.Option("-n", "--lines")] = 100,
) -> None:
    """Print (or follow) a service's log."""
    stack = _stack()
    if service not in stack.specs and service != "supervisord":
        _fail(DataplatError(f"unknown service {service!r}; known: {', '.join(stack.order)}"))
    path = stack.supervisor.log_file(service)
    if not path.exists():
        _fail(DataplatError(f"{service} has no log yet at {path}; start it with `dataplat up {service}`"))
    argv = ["tail", f"-n{lines}", *(["-F"] if follow else []), str(path)]
    with contextlib.suppress(KeyboardInterrupt):
        subprocess.run(argv, check=False)


@app.command()
def restart(service: str) -> None:
    """Restart one service (and the services that depend on it)."""
    stack = _stack()
    with StartupProgress(console, stack.order) as progress:
        stack.observe = progress
        try:
            left = stack.restart(service)
        except DataplatError as error:
            progress.stop()
            if service in stack.specs:
                with contextlib.suppress(OSError):
                    down = stack.not_running(graph.dependents(stack.specs, [service]))
                    if down:
                        console.print(f"[yellow]left stopped[/] by the failure below: {', '.join(down)}")
            _fail(error)
    for name, state in left.items():
        console.print(f"[yellow]left stopped:[/] {name} ({state}); `dataplat up {name}` starts it")
    console.print(status_table(stack.status(), stack.paths))


@app.command()
def down(services: ServiceNames = None) -> None:
    """Stop services cleanly (dependents first); all data is kept."""
    stack = _stack()
    with console.status("stopping..."):
        stack.observe = lambda name, phase, _detail: console.log(f"{name}: {phase}")
        stack.down(services)
    console.print("stopped; data kept in " + str(stack.paths.data))


@app.command()
def reset(yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False) -> None:
    """Stop everything and delete all data, logs and generated secrets (downloads are kept)."""
    stack = _stack()
    question = f"Delete everything under {stack.paths.home} except dist/ and backups/?"
    if not yes and not typer.confirm(question):
        raise typer.Abort()
    stack.reset()
    console.print("reset done; `dataplat up` starts from scratch")


@app.command()
def backup(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="archive path (default: <home>/backups/...)")
    ] = None,
) -> None:
    """Back up the platform's metadata into one archive, with the stack up.

    Every platform database (pg_dump), the schema registry's store, SQLPad's files, the secrets
    file and dataplat.toml. HDFS files and Kafka topics are NOT included.
    """
    from dataplat.backup import backup as write_backup

    try:
        archive = write_backup(get_settings(), console, output)
    except DataplatError as error:
        _fail(error)
    size = archive.stat().st_size / 2**20
    console.print(f"backup written to {archive} ({size:.1f} MiB, mode 0600: it holds the secrets)")
    console.print(
        "not included: HDFS files and Kafka topics. Restore: `dataplat reset`, then `dataplat restore`"
    )


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="a `dataplat backup` archive", exists=True)],
) -> None:
    """Restore a backup into a stopped, reset stack (`dataplat reset` first), then `dataplat up`.

    Puts back the secrets, starts PostgreSQL alone to restore every database (pg_restore --clean
    --if-exists), puts back the registry's store and SQLPad's files, and stops. HDFS files and Kafka
    topics are not in a backup.
    """
    from dataplat.backup import restore as put_back

    try:
        done = put_back(get_settings(), console, archive)
    except DataplatError as error:
        _fail(error)
    console.print(f"restored the backup of {done.created_at}: databases {', '.join(done.databases)}")
    if done.files:
        console.print(f"files: {', '.join(done.files)}")
    console.print(done.settings_note)
    console.print("[green]next:[/] `dataplat up` starts the stack on the restored metadata")


@app.command()
def demo() -> None:
    """End-to-end check with real clients: HDFS, registry + Kafka, Spark + metastore, Trino."""
    from dataplat.demo import run_demo

    try:
        results = run_demo(get_settings(), console)
    except DataplatError as error:
        _fail(error)
    failed = [r for r in results if not r.ok]
    if failed:
        raise typer.Exit(1)


@app.command()
def doctor() -> None:
    """Check Java versions, ports, disk and memory, and say what to do."""
    from dataplat.doctor import run_checks

    stack = _stack()
    ok = run_checks(stack, console)
    raise typer.Exit(0 if ok else 1)


PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


@app.command(context_settings=PASS_THROUGH)
def schemas(ctx: typer.Context) -> None:
    """Register schemas/*.avsc as {name}-value, checking compatibility first (--dry-run, --compatibility)."""
    from schemas.register import main

    raise typer.Exit(main(["--registry-url", get_settings().registry_url, *ctx.args]))


@app.command(context_settings=PASS_THROUGH)
def generate(ctx: typer.Context) -> None:
    """Post generated events to the ingest API (topic, --delay, --rate, --count, --duration, ...).

    `generate cdc` instead writes a condominium manager's workload into the CDC source database
    (--rate, --duration, --seed), or COPYs rows in bulk (--bulk N [--table T]); `generate cdc --help`.
    """
    args = list(ctx.args)
    if args[:1] == ["cdc"]:
        raise typer.Exit(_generate_cdc(args[1:]))
    from dataplat.load.generator import main

    if not any(a.startswith("--url") for a in args):
        args += ["--url", get_settings().ingest_url]
    raise typer.Exit(main(args))


def _generate_cdc(args: list[str]) -> int:
    """The CDC workload, connected as the source database's owner role."""
    from dataplat.cdc_source import source_params
    from dataplat.load.cdc import main

    return main(args, source_params(get_settings()))


cdc_app = typer.Typer(
    no_args_is_help=True, help="Change data capture: PostgreSQL → Debezium → Kafka → the lake (Iceberg)."
)
app.add_typer(cdc_app, name="cdc")


@cdc_app.command("snapshot")
def cdc_snapshot(
    tables: Annotated[list[str], typer.Argument(help="captured tables to re-read", metavar="TABLE")],
) -> None:
    """Ask Debezium for an incremental snapshot: TABLEs re-read in key chunks while streaming goes on."""
    import psycopg2

    from dataplat.cdc_source import (
        NotCaptured,
        captured_tables,
        raw_table,
        request_snapshot,
        snapshot_reads_sql,
    )

    settings = get_settings()
    try:
        chosen = captured_tables(settings, tables)
    except NotCaptured as error:
        _fail(DataplatError(str(error)), code=2)
    try:
        signal = request_snapshot(settings, chosen)
    except psycopg2.Error as error:
        reason = str(error).strip()
        _fail(DataplatError(f"could not write the signal ({reason}); is PostgreSQL up? (`dataplat status`)"))
    cdc = settings.cdc
    console.print(
        f"incremental snapshot of {', '.join(chosen)} requested: signal [bold]{signal.id}[/] "
        f"in {cdc.schema_name}.{cdc.signal_table}",
        highlight=False,
    )
    console.print("watch it with `dataplat status` (connector, slot lag) and `dataplat logs connect`;")
    raw = [raw_table(settings, table) for table in chosen]
    console.print(
        f"its reads land in {', '.join(raw)} as rows with op = 'r' and snapshot = 'incremental', e.g.\n"
        f'  dataplat sql -e "{snapshot_reads_sql(raw[0])}"',
        highlight=False,
        markup=False,
    )


app.command()(sql)

bench_app = typer.Typer(help="Benchmarks against the running stack (figures printed and saved as JSON).")
app.add_typer(bench_app, name="bench")


@bench_app.command("ingest")
def bench_ingest(events: int = 50_000, clients: int = 32) -> None:
    """HTTP batch and single-event paths against the best plain confluent-kafka producer."""
    from dataplat.load.bench.ingest import URL_ENV, Endpoints, run
    from dataplat.load.bench.report import reports_dir
    from dataplat.paths import paths_for
    from dataplat.secrets import get_secret

    settings = get_settings()
    endpoints = Endpoints(
        ingest_url=os.environ.get(URL_ENV) or settings.ingest_url,
        registry_url=settings.registry_url,
        kafka=settings.kafka_client_config(),
        api_key=get_secret(paths_for(settings).secrets_file, "INGEST_API_KEY"),  # needed beyond loopback
    )
    run(endpoints, console, report_dir=reports_dir(settings), events=events, clients=clients)


@bench_app.command("streaming")
def bench_streaming(samples: int = 20, seconds: int = 30) -> None:
    """Freshness (produce -> visible in Trino, p50/p95) and the sustained rate the app keeps up with."""
    from dataplat.load.bench.report import save_report
    from dataplat.load.bench.streaming import run_bench

    settings = get_settings()
    figures = run_bench(settings, samples=samples, seconds=seconds, console=console)
    console.print(f"report saved to {save_report(settings, 'streaming', figures)}")


@bench_app.command("batch")
def bench_batch(records: int = 1_000_000, day: str = "2026-11-05") -> None:
    """A day of RECORDS through the DAG's three tasks vs the same Spark jobs run bare."""
    from dataplat.load.bench.batch import run

    run(get_settings(), console, records=records, day=day)


@bench_app.command("sql")
def bench_sql(runs: int = 20) -> None:
    """Trino latency of the dashboard queries (p50/p95 over RUNS)."""
    from dataplat.load.bench.sql import run_bench

    run_bench(get_settings(), runs=runs, console=console)


@bench_app.command("cdc")
def bench_cdc(
    samples: int = 20,
    rates: Annotated[str, typer.Option(help="workload steps, ops/s, 0 = unthrottled")] = "100,200,400,0",
    step_seconds: float = 30.0,
    bulk_rows: Annotated[int, typer.Option(help="rows COPYed while captured (0: skip)")] = 1_000_000,
    snapshot_rows: Annotated[
        int, typer.Option(help="rows COPYed, then re-read by an incremental snapshot (0: skip)", min=0)
    ] = 0,
) -> None:
    """Change → Trino freshness (vs Debezium's hop to Kafka), sustained rate, bulk load, snapshot."""
    from dataplat.load.bench.cdc import report_table, run
    from dataplat.load.bench.report import save_report

    settings = get_settings()
    figures = run(
        settings,
        samples=samples,
        rates=[float(rate) for rate in rates.split(",") if rate.strip()],
        step_s=step_seconds,
        bulk_rows=bulk_rows,
        snapshot_rows=snapshot_rows,
        console=console,
    )
    console.print(report_table(figures))
    path = save_report(settings, "cdc", dataclasses.asdict(figures))
    console.print(f"saved {path}")


backfill_app = typer.Typer(
    cls=DefaultCommandGroup,
    no_args_is_help=True,
    help="Airflow 3 backfills: run one (`dataplat backfill DAG FROM TO` is short for `run`), list, cancel.",
)
app.add_typer(backfill_app, name="backfill")


def _airflow_fail(error: Exception) -> NoReturn:
    """``_fail`` for the runtime's errors and httpx's transport errors (Airflow not answering)."""
    if not isinstance(error, DataplatError):
        url = get_settings().airflow_url
        error = DataplatError(f"Airflow does not answer at {url} ({error!r}); `dataplat status` says why")
    _fail(error)
    raise AssertionError  # _fail exits


@backfill_app.command("run")
def backfill(
    dag_id: Annotated[str, typer.Argument(help="the DAG, e.g. insights")],
    start: Annotated[str, typer.Argument(help="first logical date, YYYY-MM-DD")],
    end: Annotated[str, typer.Argument(help="last logical date, YYYY-MM-DD (inclusive)")],
    conf: Annotated[str, typer.Option(help="run conf as JSON, e.g. '{\"count\": 50000}'")] = "{}",
    max_active_runs: Annotated[int, typer.Option(min=1, help="runs at the same time")] = 2,
    reprocess: Annotated[
        str, typer.Option(help="days that already ran: none, failed or completed")
    ] = "completed",
) -> None:
    """Run DAG_ID once per day from START to END with Airflow 3's backfill; waits and reports."""
    import datetime as dt
    import json

    import httpx
    from rich.progress import Progress
    from rich.table import Table

    from dataplat.backfill import run_backfill

    try:
        first, last, run_conf = dt.date.fromisoformat(start), dt.date.fromisoformat(end), json.loads(conf)
    except ValueError as error:
        _fail(DataplatError(f"{error} (dates are YYYY-MM-DD, --conf is a JSON object)"))
    if last < first:
        _fail(DataplatError(f"END {end} is before START {start}"))
    days = (last - first).days + 1
    with Progress(console=console) as progress:
        bar = progress.add_task(f"backfill {dag_id} {start}..{end}", total=days)

        def show(runs: dict[str, str]) -> None:
            progress.update(bar, completed=sum(state in {"success", "failed"} for state in runs.values()))

        try:
            result = run_backfill(
                get_settings(), dag_id, first, last, run_conf,
                max_active_runs=max_active_runs, reprocess=reprocess, on_progress=show,
            )  # fmt: skip
        except (DataplatError, httpx.TransportError) as error:
            progress.stop()
            _airflow_fail(error)
    table = Table("logical date", "state", title=f"backfill {result.backfill_id} of {dag_id}")
    for day, state in sorted(result.runs.items()):
        table.add_row(day, f"[{'green' if state == 'success' else 'red'}]{state}[/]")
    console.print(table)
    note = " (paused before: unpaused for the backfill, paused again)" if result.unpaused else ""
    console.print(f"{len(result.runs)} runs in {result.wall_s:.0f} s{note}")
    if not result.ok:
        console.print(f"next: open {get_settings().airflow_url}/dags/{dag_id} for the failed runs' task logs")
        raise typer.Exit(1)


@backfill_app.command("list")
def backfill_list(
    dag_id: Annotated[str, typer.Argument(help="the DAG, e.g. insights")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="the newest LIMIT backfills")] = 10,
    running: Annotated[bool, typer.Option("--running", help="only the ones not completed")] = False,
) -> None:
    """DAG_ID's backfills, newest first: days, created, completed, state and runs by state."""
    import httpx

    from dataplat.airflow_rest import airflow_client
    from dataplat.backfill import is_paused, list_backfills, with_runs
    from dataplat.backfill_table import backfills_table

    try:
        with airflow_client(get_settings()) as client:
            found = [b for b in list_backfills(client, dag_id, limit=limit) if b.running or not running]
            found = [with_runs(client, b) for b in found]
            paused = is_paused(client, dag_id)
    except (DataplatError, httpx.TransportError) as error:
        _airflow_fail(error)
    if not found:
        console.print(f"no {'running ' if running else ''}backfill of {dag_id}")
        return
    console.print(backfills_table(found, f"backfills of {dag_id}, newest first"))
    for b in (b for b in found if b.running):
        wait = " but the DAG is paused, so its runs wait until it is unpaused" if paused else ""
        console.print(f"backfill {b.id} is {b.state}{wait}; `dataplat backfill cancel {b.id}` stops it")


@backfill_app.command("cancel")
def backfill_cancel(backfill_id: Annotated[int, typer.Argument(help="the id `backfill list` shows")]) -> None:
    """Cancel a running backfill: no new runs, its queued runs fail, running ones finish."""
    import httpx

    from dataplat.airflow_rest import airflow_client
    from dataplat.backfill import BackfillAlreadyCompleted, cancel_backfill, with_runs

    try:
        with airflow_client(get_settings()) as client:
            cancelled = with_runs(client, cancel_backfill(client, backfill_id))
    except BackfillAlreadyCompleted as done:
        console.print(f"{done}; nothing to cancel")
        return
    except (DataplatError, httpx.TransportError) as error:
        _airflow_fail(error)
    console.print(f"cancelled backfill {cancelled.id} of {cancelled.dag_id} ({cancelled.days})")
    running = cancelled.runs.get("running", 0)
    if running:
        console.print(f"{running} run(s) already running finish on their own")


@app.command()
def compact(
    dataset: Annotated[str, typer.Argument(help="what to compact: clickstream")],
    date: Annotated[str, typer.Option(help="the day (yyyy-MM-dd) whose small files are folded")],
) -> None:
    """Fold a day's small files into compact ones without changing any query result."""
    import datetime as dt

    from dataplat.compaction import compact_clickstream

    if dataset != "clickstream":
        _fail(DataplatError(f"unknown dataset {dataset!r}; known: clickstream"))
    with console.status(f"compacting {dataset} for {date}..."):
        summary = compact_clickstream(get_settings(), dt.date.fromisoformat(date))
    console.print(summary)


@app.command(name="compose-render", context_settings=PASS_THROUGH)
def compose_render(ctx: typer.Context) -> None:
    """Render compose/config from the same settings and templates as the native stack."""
    from dataplat.compose_render import main

    main(list(ctx.args))


@app.command()
def env() -> None:
    """Print shell exports for using the platform's Spark/Kafka/Trino from a terminal."""
    from dataplat.demo import submit_env

    stack = _stack()
    env = submit_env(stack.ctx)
    for key in ("SPARK_CONF_DIR", "SPARK_HOME", "JAVA_HOME", "PYSPARK_PYTHON"):
        print(f"export {key}={env[key]}")
    print(f"export PATH={stack.ctx.python_bin.parent}{os.pathsep}$PATH")


if __name__ == "__main__":
    app()
