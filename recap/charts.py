"""The report's charts as PNG bytes (matplotlib, Agg canvas: no display, no pyplot state, so the
web can make a report in a request thread while the daemon makes another)."""
from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from matplotlib.figure import Figure
from matplotlib.backends.backend_agg import FigureCanvasAgg

from recap.figures import clean

BLUE = "#1f5f99"
GREEN = "#3f9b5a"
GREY = "#e6e6e6"
DPI = 150


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _style(ax: object) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)  # type: ignore[attr-defined]
    ax.tick_params(labelsize=8)  # type: ignore[attr-defined]


def trend_chart(days: Sequence[date], received: Sequence[int], answered: Sequence[int],
                non_working: set[date]) -> bytes:
    """Received (bars) and answered (line) per day; weekends and holidays shaded."""
    return _png(trend_figure(days, received, answered, non_working))


def trend_figure(days: Sequence[date], received: Sequence[int], answered: Sequence[int],
                 non_working: set[date]) -> Figure:
    """The figure of :func:`trend_chart` (its axes can be read back)."""
    fig = Figure(figsize=(7.2, 2.9), layout="constrained")
    ax = fig.add_subplot()
    x = list(range(1, len(days) + 1))
    for i, day in enumerate(days, start=1):
        if day in non_working:
            ax.axvspan(i - 0.5, i + 0.5, color=GREY, zorder=0, linewidth=0)
    ax.bar(x, received, color=BLUE, width=0.7, label="Masuk", zorder=2)
    ax.plot(x, answered, color=GREEN, marker="o", markersize=3, linewidth=1.6,
            label="Selesai dijawab", zorder=3)
    ax.set_xlim(0.5, len(days) + 0.5)
    ax.set_xticks(x[::2] if len(x) > 16 else x)
    ax.set_xlabel("Tanggal (abu-abu: hari libur dan akhir pekan)", fontsize=8)
    ax.set_ylabel("Jumlah pengaduan", fontsize=8)
    # whole numbers from 0 up: a month of zeros once drew an axis from -0.04 to 0.04
    ax.set_ylim(0, max([*received, *answered, 1]) * 1.15)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    _style(ax)
    return fig


def bar_chart(labels: Sequence[str], values: Sequence[int], xlabel: str = "Jumlah pengaduan",
              color: str = BLUE) -> bytes:
    """Horizontal bars, largest on top, each with its value."""
    labels = [clean(label) for label in labels] or ["(tidak ada)"]
    values = list(values) or [0]
    fig = Figure(figsize=(7.2, max(1.4, 0.32 * len(labels) + 0.7)), layout="constrained")
    ax = fig.add_subplot()
    y = list(range(len(labels)))[::-1]
    bars = ax.barh(y, values, color=color, height=0.65)
    ax.set_yticks(y, [label if len(label) <= 45 else label[:44] + "…" for label in labels])
    ax.bar_label(bars, labels=[f"{v:,}".replace(",", ".") for v in values], padding=3, fontsize=8)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_xlim(0, max(max(values), 1) * 1.15)
    ax.xaxis.get_major_locator().set_params(integer=True)
    _style(ax)
    return _png(fig)
