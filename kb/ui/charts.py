"""Diverging success/obstacle bars, shared by the matrix page's case comparison and the search page's
across-cases tab: obstacles to the left in red, successes to the right in green, one scale."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

SUCCESS_COLOR, OBSTACLE_COLOR = "#1b7837", "#b2182b"


def add_bars(
    fig: go.Figure, labels: Sequence[str], success: Sequence[int], obstacle: Sequence[int], **where: int
) -> None:
    """One success and one obstacle bar per label; `where`: row/col of a subplot (legend once, at the
    first one)."""
    legend = where.get("col", 1) == where.get("row", 1) == 1
    fig.add_trace(
        go.Bar(
            y=list(labels), x=[-v for v in obstacle], orientation="h", name="▼ 장애 obstacle",
            marker_color=OBSTACLE_COLOR, customdata=list(obstacle), showlegend=legend,
            hovertemplate="%{y}: 장애 %{customdata}<extra></extra>",
        ),
        **where,
    )  # fmt: skip
    fig.add_trace(
        go.Bar(
            y=list(labels), x=list(success), orientation="h", name="▲ 성공 success",
            marker_color=SUCCESS_COLOR, showlegend=legend, hovertemplate="%{y}: 성공 %{x}<extra></extra>",
        ),
        **where,
    )  # fmt: skip


def finish(fig: go.Figure, n_rows: int, lim: int, top: int = 10) -> go.Figure:
    """Layout for `n_rows` bar rows on a symmetric scale of ±`lim` passages, ticks without minus signs."""
    lim = max(lim, 1)
    step = max(1, -(-lim // 5))
    ticks = list(range(-(lim // step) * step, lim + 1, step))
    fig.update_layout(
        barmode="relative",
        height=110 + top + 28 * n_rows,
        margin={"l": 10, "r": 10, "t": top + 30, "b": 10},
        # above the bars: below them, a short chart's legend covered the left tick labels
        legend={"orientation": "h", "x": 0, "y": 1, "yanchor": "top", "yref": "container"},
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(
        range=[-lim - 0.5, lim + 0.5], zeroline=True, zerolinecolor="#888",
        tickvals=ticks, ticktext=[str(abs(t)) for t in ticks],
    )  # fmt: skip
    return fig
