"""The ratio chart: each workload's "vs SDK" figures as bars, drawn as a self-contained SVG.

Hand-written SVG, so the benchmarks need no plotting library. The scale is
logarithmic (ratios run from below 1x to 50x), with the SDK's own level, 1x,
marked; bars right of it are better than the SDK, left of it worse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from .report import Baseline, Result, ratio

__all__ = ["ratio_chart"]

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_BAR, _GAP, _LABEL, _WIDTH, _TOP = 14, 10, 330, 900, 60


def _ticks(high: float) -> list[float]:
    candidates = [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200]
    return [t for t in candidates if t <= high * 1.0001]


def ratio_chart(results: Sequence[Result], baseline: Baseline, title: str) -> str:
    """An SVG bar chart of every row's ratio against ``baseline`` (rows without one are left out)."""
    groups: dict[str, list[tuple[str, float]]] = {}
    for row in results:
        found = ratio(results, row, baseline)
        if found is not None:
            groups.setdefault(row.workload, []).append((row.server, found))
    servers = sorted({server for bars in groups.values() for server, _ in bars})
    colour = {server: _PALETTE[i % len(_PALETTE)] for i, server in enumerate(servers)}
    values = [value for bars in groups.values() for _, value in bars] or [1.0]
    low, high = min(0.5, min(values) / 1.2), max(2.0, max(values) * 1.2)
    span = math.log(high) - math.log(low)
    plot = _WIDTH - _LABEL - 70

    def x(value: float) -> float:
        return _LABEL + (math.log(value) - math.log(low)) / span * plot

    height = _TOP + sum(len(bars) * _BAR + _GAP * 2 for bars in groups.values()) + 40 + 18 * len(servers)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect width="{_WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{_WIDTH / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<text x="{_WIDTH / 2}" y="38" text-anchor="middle" fill="#555">'
        "times better than the official SDK in the same run (log scale; right of 1x is better)</text>",
    ]
    bottom = height - 30 - 18 * len(servers)
    for tick in _ticks(high):
        if tick < low:
            continue
        stroke = "#000" if tick == 1 else "#ddd"
        out.append(f'<line x1="{x(tick):.1f}" y1="{_TOP - 6}" x2="{x(tick):.1f}" y2="{bottom}" stroke="{stroke}"/>')
        out.append(f'<text x="{x(tick):.1f}" y="{bottom + 14}" text-anchor="middle">{tick:g}x</text>')
    y = _TOP
    for workload, bars in groups.items():
        middle = y + (len(bars) * _BAR) / 2 + 4
        out.append(f'<text x="{_LABEL - 8}" y="{middle:.1f}" text-anchor="end">{escape(workload)}</text>')
        for server, value in bars:
            left, right = sorted((x(1.0), x(value)))
            out.append(
                f'<rect x="{left:.1f}" y="{y}" width="{max(right - left, 1):.1f}" height="{_BAR - 2}" '
                f'fill="{colour[server]}"><title>{escape(server)}: {value:.2f}x</title></rect>'
            )
            out.append(f'<text x="{max(right, x(1.0)) + 4:.1f}" y="{y + _BAR - 4}">{value:.2f}x</text>')
            y += _BAR
        y += _GAP * 2
    legend_y = bottom + 30
    for i, server in enumerate(servers):
        top = legend_y + 18 * i
        out.append(f'<rect x="{_LABEL}" y="{top - 10}" width="12" height="12" fill="{colour[server]}"/>')
        out.append(f'<text x="{_LABEL + 18}" y="{top}">{escape(server)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
