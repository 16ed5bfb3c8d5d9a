"""The ingest benchmark reports every path's rate against the plain-producer baseline."""

from __future__ import annotations

import io

from rich.console import Console

from dataplat.load.bench.figures import Figures, ratios
from dataplat.load.bench.ingest import report, table

PATHS = {
    "a": Figures(80_000, 1.0, 1.0, 2.0),  # 80,000 events/s
    "b": Figures(40_000, 1.0, 5.0, 9.0),
    "c": Figures(8_000, 1.0, 3.0, 7.0),
    "d": Figures(1_000, 1.0, 1.5, 4.0),
    "e": Figures(16_000, 1.0, 0.5, 1.0),
}


def test_every_ratio_is_against_the_baseline() -> None:
    figures = report(PATHS, url="http://127.0.0.1:8000", clients=32)
    assert figures["a_plain_producer_baseline"]["events_per_s"] == 80_000
    assert (figures["ratio_b_over_a"], figures["ratio_c_over_a"]) == (0.5, 0.1)
    assert (figures["ratio_d_over_a"], figures["ratio_e_over_a"]) == (0.013, 0.2)
    assert figures["ratio_c_over_e"] == 0.5
    assert "c_http_single_32_clients" in figures


def test_the_table_shows_each_path_against_the_baseline() -> None:
    console = Console(file=io.StringIO(), width=200)
    console.print(table(PATHS, 32))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "vs baseline" in text and "(a) plain producer + AvroSerializer (baseline)" in text
    assert "32 clients" in text and "0.50" in text and "1.00" in text


def test_no_ratio_when_the_baseline_moved_nothing() -> None:
    assert ratios(Figures(0, 1.0, 0, 0), {"b": PATHS["b"]}) == {"b": None}
