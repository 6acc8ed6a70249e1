"""The debrief's PNG figures, drawn with matplotlib on the server when a debrief is downloaded
(the live page draws in the browser: app/live.py). Okabe-Ito colours (colour-blind safe) and a label on every
bar, so no reading depends on colour alone; `large=True` is the projector size."""

from __future__ import annotations

import io
import textwrap
import threading
from contextlib import contextmanager

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from aidsim.app.session import DOORS, KNOB, RUNGS, SHORT, Classroom
from aidsim.app.worlds import Comparison, Heatmap
from aidsim.model.params import DONORS
from aidsim.report.narrative import possessive
from aidsim.report.style import BLACK, BLUE, DARK_GREY, GREEN, GREY, ORANGE, PURPLE, RESPONSE_COLOURS, RESPONSE_LABELS, SKY, VERMILLION, outside_legend
from aidsim.runs.tables import RESPONSES

DRAWING = threading.RLock()
"""Matplotlib's rc settings are global: debrief downloads (rare) draw one figure at a time. The
live page never takes this lock."""


@contextmanager
def style(large: bool):
    """Matplotlib settings for the page: larger type for a projector."""
    size = 17 if large else 12
    with (
        DRAWING,
        matplotlib.rc_context(
            {
                "font.size": size,
                "axes.titlesize": size + 1,
                "axes.labelsize": size,
                "legend.fontsize": size - 2,
                "axes.spines.top": False,
                "axes.spines.right": False,
            }
        ),
    ):
        yield


def _figure(large: bool, w: float = 6.4, h: float = 3.6) -> Figure:
    # The page scales every figure to its column's width, so large type means larger fonts on the
    # same canvas (a slightly taller one, for the extra line height), not a larger canvas.
    return Figure(figsize=(w, h * (1.15 if large else 1)), layout=None)


def need_figure(room: Classroom, large: bool = False) -> Figure:
    """This world: unmet need against the relief done by the state itself and by outsiders."""
    with style(large):
        fig = _figure(large)
        ax = fig.add_subplot()
        h, days = room.history, np.arange(room.day + 1)
        unmet = h.array("unmet")[:, 0]
        ax.plot(days, unmet, color=BLUE, lw=2.5, label="unmet need")
        # The state's capacity on the need scale: pressure = unmet / (capacity x planning window), so
        # each rung's door opens where unmet need crosses threshold x capacity x window. Log scale:
        # at 2024 damage the need sits far below the first door, and both must show.
        window = room.params.dprk.planning_days
        coping = float(room.model.dprk.capacity[0]) * window
        levels = [(name, t * coping) for name, t in zip(DOORS, room.params.dprk.rung_thresholds, strict=True)]
        ax.axhline(coping, color=BLACK, lw=1.5)
        ax.text(0.5, coping * 1.08, f"capacity x {window:g} days", va="bottom", color=BLACK, fontsize="small")
        for name, level in levels:
            ax.axhline(level, color=PURPLE, lw=1.2, ls=(0, (1, 2)))
            ax.text(room.params.horizon_days * 1.01, level, f"{name} door", va="center", color=PURPLE, fontsize="small", clip_on=False)
        positive = [v for v in [*unmet, coping, *(lv for _, lv in levels)] if v > 0]
        ax.set_yscale("log")
        ax.set_ylim(min(positive) / 2, max(positive) * 2)
        ax.plot(days, h.array("domestic")[:, 0], color=ORANGE, lw=2, ls="--", label="relief by the state, so far")
        ax.plot(days, h.array("foreign")[:, 0], color=GREEN, lw=2, ls=":", label="foreign aid delivered, so far")
        ax.set_xlim(0, room.params.horizon_days)
        ax.set_xlabel("days since the flood")
        ax.set_ylabel("need (x 2024 damage, log)")
        ax.set_title(f"Need vs domestic capacity, day {room.day}")
        fig.legend(*ax.get_legend_handles_labels(), loc="upper center", ncols=3, bbox_to_anchor=(0.5, -0.02))
    return fig


def ladder_figure(room: Classroom, large: bool = False) -> Figure:
    """The DPRK's preference ladder: who sits on each rung, how far the need has pushed Pyongyang."""
    now, deepest = room.rungs()
    thresholds = room.params.dprk.rung_thresholds
    by_rung = {r: [SHORT[d] for d in DONORS if room.params.actors[d].rung == r] for r in (1, 2, 3)}
    with style(large):
        fig = _figure(large, 6.4, 3.9)
        ax = fig.add_subplot()
        for r, name in enumerate(RUNGS):
            y = -r
            reached = r <= deepest
            ax.plot([0, 1], [y, y], color=BLUE if reached else GREY, lw=7 if reached else 4, solid_capstyle="round")
            who = f"{', '.join(by_rung[r])}; " if r and set(by_rung[r]) - set(name.split(" and ")) else ""
            opens = f"{who}opens at pressure {thresholds[r - 1]:g}" if r else "always open"
            ax.text(1.08, y + 0.1, name, va="bottom", fontweight="bold" if r == now else "normal")
            ax.text(1.08, y - 0.06, opens, va="top", color=DARK_GREY, fontsize="small")
        ax.plot([0, 0], [0.3, -3.3], color=BLACK, lw=3)
        ax.plot([1, 1], [0.3, -3.3], color=BLACK, lw=3)
        ax.annotate(
            "Pyongyang",
            xy=(0.5, -now),
            xytext=(0.5, -now + 0.45),
            ha="center",
            color=VERMILLION,
            fontweight="bold",
            arrowprops={"arrowstyle": "-|>", "color": VERMILLION, "lw": 2.5},
        )
        ax.set_xlim(-0.1, 3.2)
        ax.set_ylim(-3.6, 0.8)
        ax.axis("off")
        pressure = room.pressure()[-1]
        ax.set_title(f"Preference ladder (pressure {pressure:.2f})\ndeepest rung opened: {RUNGS[deepest]}")
    return fig


def aid_figure(room: Classroom, large: bool = False) -> Figure:
    """Per donor in this world: the aid offered against the aid accepted and delivered."""
    rows = room.outcomes()
    with style(large):
        fig = _figure(large)
        ax = fig.add_subplot()
        y = np.arange(len(rows))[::-1]
        offered = [r["offered"] for r in rows]
        ax.barh(y, offered, color=SKY, label="offered", height=0.7)
        ax.barh(y, [r["delivered"] for r in rows], color=GREEN, label="accepted and delivered", height=0.4)
        top = max(max(offered, default=0), 1e-3)
        for yi, r in zip(y, rows, strict=True):
            ax.text(r["offered"] + top * 0.02, yi, RESPONSE_LABELS.get(r["response"], r["response"]), va="center", fontsize="small")
        ax.set_yticks(y, [SHORT[r["donor"]] for r in rows])
        ax.set_xlim(0, top * 1.9)
        ax.set_xlabel("aid (x 2024 damage)")
        ax.set_title("Aid offered vs accepted, per donor")
        outside_legend(ax)
    return fig


def tension_figure(room: Classroom, large: bool = False) -> Figure:
    """Tension over the days so far (scripted events move it)."""
    tension = room.history.tension
    days = np.arange(len(tension))
    with style(large):
        fig = _figure(large, 6.4, 2.8)
        ax = fig.add_subplot()
        ax.step(days, [t["inter_korean"] for t in tension], where="post", color=VERMILLION, lw=2.5, label="inter-Korean")
        ax.step(days, [t["us_dprk"] for t in tension], where="post", color=PURPLE, lw=2, ls="--", label="US-DPRK")
        ax.set_xlim(0, room.params.horizon_days)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("days since the flood")
        ax.set_ylabel("tension (0-1)")
        ax.set_title("Tension")
        outside_legend(ax)
    return fig


def _stacked(ax, rows: pd.DataFrame, labels: list[str]) -> None:
    """Horizontal bars of response shares, one row per entry, with the share written on wide segments."""
    y = np.arange(len(rows))[::-1]
    left = np.zeros(len(rows))
    for resp in RESPONSES:
        share = rows[resp].to_numpy(dtype=float)
        ax.barh(y, share, left=left, color=RESPONSE_COLOURS[resp], label=RESPONSE_LABELS[resp], height=0.7, edgecolor="white")
        for yi, lo, s in zip(y, left, share, strict=True):
            if s >= 0.08:
                ax.text(lo + s / 2, yi, f"{s:.0%}", ha="center", va="center", fontsize="small", color=BLACK)
        left += share
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of worlds")


def shares_figure(shares: pd.DataFrame, worlds: int, large: bool = False) -> Figure:
    """Each donor's outcome over many worlds."""
    with style(large):
        fig = _figure(large, 8, 4.2)
        ax = fig.add_subplot()
        _stacked(ax, shares, [SHORT[d] for d in shares.index])
        ax.set_title(f"How each donor's offer ends, over {worlds:,} worlds")
        fig.legend(*ax.get_legend_handles_labels(), loc="upper center", ncols=3, bbox_to_anchor=(0.5, -0.06))
    return fig


def heatmap_figure(h: Heatmap, large: bool = False) -> Figure:
    """Share of worlds with aid accepted over two knobs."""
    with style(large):
        fig = _figure(large, 6.4, 4.6)
        ax = fig.add_subplot()
        im = ax.imshow(h.share, origin="lower", cmap="cividis", vmin=0, vmax=1, aspect="auto")
        for (i, j), v in np.ndenumerate(h.share):
            ax.text(j, i, f"{v:.0%}", ha="center", va="center", color="white" if v < 0.6 else BLACK, fontsize="small")
        ax.set_xticks(range(len(h.xs)), [f"{v:g}" for v in h.xs])
        ax.set_yticks(range(len(h.ys)), [f"{v:g}" for v in h.ys])
        ax.set_xlabel(KNOB[h.x].label)
        ax.set_ylabel(KNOB[h.y].label)
        who = "any donor" if h.donor is None else SHORT[h.donor]
        ax.set_title(f"Aid from {who} accepted ({h.worlds} worlds per cell)")
        fig.colorbar(im, ax=ax, label="share of worlds")
    return fig


def comparison_figure(c: Comparison, large: bool = False) -> Figure:
    """The student's decision against the model donor's, over many worlds."""
    rows = pd.DataFrame([c.student_shares, c.modelled_shares])
    with style(large):
        fig = _figure(large, 6.4, 2.6)
        ax = fig.add_subplot()
        _stacked(ax, rows, ["your decision", f"model's {SHORT[c.donor]}"])
        ax.set_title(f"{possessive(SHORT[c.donor])} offer over {c.worlds:,} worlds")
        fig.legend(*ax.get_legend_handles_labels(), loc="upper center", ncols=3, bbox_to_anchor=(0.5, -0.06))
    return fig


def png(fig: Figure, dpi: int = 110, caption: str | None = None) -> bytes:
    """A figure as PNG bytes (for the debrief download). `caption`, what was run (the world's title
    with every changed setting), goes above it: a file handed on alone still says which world it shows."""
    buf = io.BytesIO()
    if caption:
        fig.text(0, 1.02, textwrap.fill(caption, 90), ha="left", va="bottom", fontsize="small", color=DARK_GREY)
    with DRAWING:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()
