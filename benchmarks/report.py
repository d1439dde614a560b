"""Results, and the table they make: plain text for the terminal, Markdown for results.md."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Result", "Baseline", "columns", "ratio", "table_rows", "text_table", "markdown_table", "LEGEND"]

COLUMNS = ("Workload", "Server", "Result", "p50 ms", "p99 ms", "Peak RSS", "vs SDK", "p99 / SDK", "Notes")
LEGEND = (
    "Result: median of the rounds. vs SDK: how many times better than the official SDK in the same run "
    "(rates: ours / SDK's; bytes: SDK's / ours). p99 / SDK: our p99 latency over the SDK's (lower is better). "
    "Peak RSS: VmHWM of the server process during that row (reset before it, where the kernel allows)."
)


@dataclass(frozen=True)
class Result:
    """One row: a workload measured on one server.

    Attributes:
        workload: What was measured (rows of one workload share this).
        server: Which server.
        value: The headline figure (None when skipped).
        unit: Its unit: ``req/s``, ``events/s``, ``exchanges/s``, ``B/session``, ``B RSS``.
        higher_is_better: Whether a larger value is better.
        p50_ms: Median latency, where measured.
        p99_ms: 99th-percentile latency, where measured.
        peak_rss: Peak resident memory of the server process, in bytes.
        note: Anything a reader needs to interpret the row.
        skipped: Why the row was not measured (it then has no value).
        decimals: Digits shown after the point (``round trips/request`` needs two).
    """

    workload: str
    server: str
    value: float | None
    unit: str
    higher_is_better: bool = True
    p50_ms: float | None = None
    p99_ms: float | None = None
    peak_rss: int | None = None
    note: str = ""
    skipped: str | None = None
    decimals: int = 0


Baseline = str | Callable[[Result], str]  # the baseline's server name, or how to find it for a row


def columns(versus: str = "SDK") -> tuple[str, ...]:
    """The column titles; ``versus`` names what the ratio columns compare with."""
    return (*COLUMNS[:6], f"vs {versus}", f"p99 / {versus}", COLUMNS[8])


def value_text(result: Result) -> str:
    """The Result cell: the value with its unit, or ``skipped``."""
    if result.value is None:
        return "skipped"
    if result.unit.startswith("B"):
        if result.value >= 1 << 20:
            return f"{result.value / (1 << 20):,.1f} MiB{result.unit[1:]}"
        return f"{result.value:,.0f} {result.unit}"
    return f"{result.value:,.{result.decimals}f} {result.unit}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _mib(value: int | None) -> str:
    return "—" if value is None else f"{value / (1 << 20):.1f} MiB"


def _baseline(results: Sequence[Result], row: Result, baseline: Baseline) -> Result | None:
    server = baseline if isinstance(baseline, str) else baseline(row)
    for other in results:
        if other.workload == row.workload and other.server == server and other.value is not None:
            return other
    return None


def _better(row: Result, base: Result | None) -> float | None:
    if base is None or row.value is None or base.value is None or row.server == base.server:
        return None
    if not (row.value if not row.higher_is_better else base.value):
        return None  # a zero below the measurement's noise (tiny smoke counts) has no ratio
    return row.value / base.value if row.higher_is_better else base.value / row.value


def ratio(results: Sequence[Result], row: Result, baseline: Baseline) -> float | None:
    """How many times better ``row`` is than its baseline's row of the same workload; None without one."""
    return _better(row, _baseline(results, row, baseline))


def _ratios(row: Result, base: Result | None) -> tuple[str, str]:
    better = _better(row, base)
    if better is None or base is None:
        return "—", "—"
    p99 = "—" if row.p99_ms is None or not base.p99_ms else f"{row.p99_ms / base.p99_ms:.2f}"
    return f"{better:.2f}x", p99


def table_rows(results: Sequence[Result], baseline: Baseline) -> list[tuple[str, ...]]:
    """The table's cells, one tuple per result, with ratios against ``baseline`` on the same workload."""
    rows: list[tuple[str, ...]] = []
    for row in results:
        ratio, p99 = _ratios(row, _baseline(results, row, baseline))
        note = row.skipped or row.note
        rows.append(
            (
                row.workload,
                row.server,
                value_text(row),
                _ms(row.p50_ms),
                _ms(row.p99_ms),
                _mib(row.peak_rss),
                ratio,
                p99,
                note,
            )
        )
    return rows


def text_table(results: Sequence[Result], baseline: Baseline, versus: str = "SDK") -> str:
    """An aligned plain-text table."""
    rows = [columns(versus), *table_rows(results, baseline)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: Sequence[Result], baseline: Baseline, versus: str = "SDK") -> str:
    """A GitHub-flavoured Markdown table."""
    numeric = {2, 3, 4, 5, 6, 7}
    head = "| " + " | ".join(columns(versus)) + " |"
    rule = "|" + "|".join("---:" if i in numeric else "---" for i in range(len(COLUMNS))) + "|"
    body = ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in table_rows(results, baseline)]
    return "\n".join([head, rule, *body])
