"""The bring-up's live lines and its slowest-services summary, rendered as a terminal would show them."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from dataplat.progress import StartupProgress, describe, slowest
from dataplat.runtime import ReadyTime


def render(renderable: object) -> str:
    console = Console(width=100, file=StringIO(), color_system=None)
    console.print(renderable)
    assert isinstance(console.file, StringIO)
    return console.file.getvalue()


def test_ready_lines_say_how_long_and_when() -> None:
    assert describe("ready", "in 3.1 s (at 9.4 s): completed") == "ready in 3.1 s (at 9.4 s): completed"
    assert describe("ready", "skipped: VERSION exists") == "ready: skipped: VERSION exists"
    assert describe("waiting", "") == "waiting"


def test_slowest_lists_the_top_five_by_time_to_ready() -> None:
    times = [ReadyTime(f"s{i}", started_s=float(i), ready_s=float(i) + i * 1.5) for i in range(8)]
    text = render(slowest(times))
    assert "slowest 5 to ready" in text
    rows = [line.split() for line in text.splitlines() if line.startswith("│ s")]
    assert [row[1] for row in rows] == ["s7", "s6", "s5", "s4", "s3"]
    assert " ".join(rows[0]) == "│ s7 │ 10.5 s │ 7.0 s │ 17.5 s │"  # took, started at, ready at


def test_progress_shows_the_time_to_ready() -> None:
    console = Console(width=120, file=StringIO(), color_system=None)
    with StartupProgress(console, ["trino"]) as progress:
        progress("trino", "starting", "java ...")
        progress("trino", "ready", "in 21.4 s (at 40.2 s): SELECT 1 answered")
    assert isinstance(console.file, StringIO)
    assert "ready in 21.4 s (at 40.2 s)" in console.file.getvalue()
