"""``dataplat sql``: Trino from a terminal with the platform's connection preset.

``dataplat sql`` opens an interactive shell (statements end with ``;``, history kept in the data
directory, ``USE catalog.schema`` switches); ``dataplat sql -e "SELECT ..."`` runs statements and
exits non-zero on the first error. Results print as a table, or as csv/tsv/json for scripts.
"""

from __future__ import annotations

import csv
import getpass
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TextIO
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from dataplat.paths import paths_for
from dataplat.settings import Settings, get_settings

FORMATS = ("table", "csv", "tsv", "json")
PROMPT = "trino:{catalog}/{schema}> "
CONTINUATION = "   ...> "
QUIT = {"quit", "exit", "\\q"}
HISTORY_LINES = 1000


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[list[Any]]
    seconds: float
    query_id: str | None


def connect(s: Settings, *, catalog: str, schema: str, user: str | None = None) -> Any:
    """A DB-API connection to the platform's Trino (``Settings.trino_url``)."""
    import trino

    url = urlsplit(s.trino_url)
    return trino.dbapi.Connection(
        host=url.hostname or s.host,
        port=url.port or (443 if url.scheme == "https" else 80),
        http_scheme=url.scheme or "http",
        user=user or getpass.getuser(),
        catalog=catalog,
        schema=schema,
        source="dataplat-sql",
    )


def split_statements(text: str) -> list[str]:
    """Split on ``;`` outside quotes and comments; drops empty statements."""
    statements, current, quote, i = [], [], "", 0
    while i < len(text):
        char = text[i]
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current.append(char)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif char == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    statements.append("".join(current))
    return [statement.strip() for statement in statements if statement.strip()]


def execute(connection: Any, sql: str) -> Result:
    started = time.perf_counter()
    cursor = connection.cursor()
    cursor.execute(sql)
    rows = cursor.fetchall()
    columns = [column[0] for column in cursor.description or []]
    return Result(columns, rows, time.perf_counter() - started, cursor.query_id)


def _cell(value: Any) -> str:
    return "NULL" if value is None else str(value)


def write_result(result: Result, output: str, out: TextIO, console: Console) -> None:
    """Print ``result`` as a rich table (with timing) or as csv/tsv/json lines on ``out``."""
    if output == "table":
        table = Table(*result.columns, header_style="bold", show_lines=False)
        for row in result.rows:
            table.add_row(*(_cell(value) for value in row))
        if result.columns:
            console.print(table)
        noun = "row" if len(result.rows) == 1 else "rows"
        console.print(f"[dim]({len(result.rows)} {noun}, {result.seconds:.2f} s, {result.query_id})[/]")
    elif output == "json":
        for row in result.rows:
            out.write(json.dumps(dict(zip(result.columns, row, strict=True)), default=str) + "\n")
    else:
        writer = csv.writer(out, delimiter="," if output == "csv" else "\t", lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([_cell(value) for value in row] for row in result.rows)


def run_statements(connection: Any, statements: Sequence[str], output: str, console: Console) -> int:
    """Run each statement in order; stops at the first error (exit status 1)."""
    for sql in statements:
        try:
            result = execute(connection, sql)
        except Exception as error:  # noqa: BLE001 - Trino and connection errors alike end the run
            report_error(error, console)
            return 1
        write_result(result, output, sys.stdout, console)
    return 0


def report_error(error: Exception, console: Console) -> None:
    message = getattr(error, "message", None) or str(error)
    query_id = getattr(error, "query_id", None)
    suffix = f" [dim]({query_id})[/]" if query_id else ""
    console.print(f"[bold red]error:[/] {message}{suffix}", highlight=False)


def read_statements(prompt: Iterator[str]) -> Iterator[str]:
    """Statements from input lines: a statement ends with ``;`` (a quit word ends the session)."""
    buffer: list[str] = []
    for line in prompt:
        if not buffer and line.strip().rstrip(";").lower() in QUIT:
            return
        buffer.append(line)
        text = "\n".join(buffer)
        parts = split_statements(text + "\n")
        if text.rstrip().endswith(";") or (not parts and not text.strip()):
            yield from parts
            buffer = []


def _lines(connection: Any, console: Console) -> Iterator[str]:
    first = True
    while True:
        session = connection._client_session  # catalog/schema follow USE statements
        label = PROMPT.format(catalog=session.catalog or "-", schema=session.schema or "-")
        try:
            line = console.input(label if first else CONTINUATION)
        except EOFError:
            console.print()
            return
        except KeyboardInterrupt:
            console.print("^C")
            first = True
            continue
        first = line.strip().endswith(";") or not line.strip()
        yield line


def interactive(connection: Any, console: Console, history: Path) -> int:
    """The shell: rich tables, readline editing and history; errors do not end the session."""
    try:
        import readline

        history.parent.mkdir(parents=True, exist_ok=True)
        if history.exists():
            readline.read_history_file(history)
        readline.set_history_length(HISTORY_LINES)
    except (ImportError, OSError):
        readline = None  # type: ignore[assignment]
    console.print(
        f"[dim]Trino {connection.host}:{connection.port}; end statements with ';', 'quit' leaves[/]"
    )
    try:
        for sql in read_statements(_lines(connection, console)):
            try:
                write_result(execute(connection, sql), "table", sys.stdout, console)
            except Exception as error:  # noqa: BLE001 - show it and keep the session
                report_error(error, console)
    finally:
        if readline is not None:
            readline.write_history_file(history)
    return 0


def sql(
    execute_sql: Annotated[
        str | None, typer.Option("--execute", "-e", help="run these statements (';'-separated) and exit")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="run the statements in this file and exit")
    ] = None,
    catalog: Annotated[str, typer.Option(help="default catalog")] = "hive",
    schema: Annotated[str, typer.Option(help="default schema")] = "default",
    output: Annotated[str, typer.Option("--output", "-o", help="table, csv, tsv or json")] = "table",
    user: Annotated[str | None, typer.Option(help="Trino user (default: your login)")] = None,
) -> None:
    """Query Trino: an interactive shell, or -e/-f statements (catalogs hive, kafka, kafka_dlq)."""
    if output not in FORMATS:
        raise typer.BadParameter(f"--output must be one of {', '.join(FORMATS)}")
    s = get_settings()
    console = Console(stderr=output != "table")
    connection = connect(s, catalog=catalog, schema=schema, user=user)
    if execute_sql is not None or file is not None:
        text = execute_sql if execute_sql is not None else file.read_text()  # type: ignore[union-attr]
        raise typer.Exit(run_statements(connection, split_statements(text), output, console))
    raise typer.Exit(interactive(connection, console, paths_for(s).home / "sql_history"))
