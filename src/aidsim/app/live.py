"""The page's figures, drawn in the browser by plotly.js (served from the plotly Python package
through its widget, so nothing is fetched from the internet). The server only builds a small
description of each figure (a few milliseconds, no drawing, no lock shared between tabs), so the
figures follow Play day by day. Okabe-Ito colours from aidsim.report.style, and the answer written
beside every mark, so no reading depends on colour alone. `large=True` is the projector size.

The debrief's PNG files are drawn by app/figures.py (matplotlib): a download, not a live view.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from aidsim.app.session import KNOB, SEATS, Classroom
from aidsim.app.worlds import Comparison, Heatmap
from aidsim.model.params import DONORS
from aidsim.report import style as st
from aidsim.report.narrative import WHO
from aidsim.runs.tables import RESPONSES

RUNGS = ("Self-reliance", "Allies", "International bodies", "Seoul and Washington")
DOORS = ("allies", "int'l bodies", "Seoul & Wash.")
SHORT = {d: SEATS.get(d, WHO[d]) for d in DONORS} | {"south_korea": "Seoul", "red_cross": "Red Cross", "ngos": "NGOs", "un_agencies": "UN"}


def _layout(fig: go.Figure, title: str, large: bool, height: int = 320, legend: bool = True) -> go.Figure:
    """Common look: white, the title inside the figure's own top margin, a legend below the axes
    (never over the data)."""
    size = 17 if large else 12
    fig.update_layout(
        template="simple_white",
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": size + 2}},
        font={"size": size},
        height=int(height * (1.25 if large else 1)),
        margin={"l": 60, "r": 20, "t": 50 if "<br>" not in title else 75, "b": 40},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "top", "y": -0.28, "x": 0},
        uirevision="keep",  # zoom and legend clicks survive a new day
        autosize=True,
    )
    return fig


def need_figure(room: Classroom, large: bool = False) -> go.Figure:
    """Unmet need against what the state can clear, with the level where each rung's door opens.
    Log scale: at 2024 damage the need sits far below the first door, and both must show."""
    h, days = room.history, np.arange(room.day + 1)
    unmet = h.array("unmet")[:, 0]
    coping = float(room.model.dprk.capacity[0]) * room.params.dprk.planning_days
    horizon = room.params.horizon_days
    fig = go.Figure()
    fig.add_scatter(x=days, y=unmet, name="unmet need", line={"color": st.BLUE, "width": 3})
    fig.add_scatter(x=days, y=h.array("domestic")[:, 0], name="relief by the state, so far", line={"color": st.ORANGE, "dash": "dash"})
    fig.add_scatter(x=days, y=h.array("foreign")[:, 0], name="foreign aid delivered, so far", line={"color": st.GREEN, "dash": "dot"})
    fig.add_hline(y=coping, line={"color": st.DARK_GREY, "width": 2})
    fig.add_annotation(x=0, y=math.log10(coping), text=f"capacity x {room.params.dprk.planning_days:g} days", showarrow=False, xanchor="left", yanchor="bottom")
    for name, t in zip(DOORS, room.params.dprk.rung_thresholds, strict=True):
        level = t * coping
        fig.add_hline(y=level, line={"color": st.PURPLE, "width": 1.5, "dash": "dot"})
        fig.add_annotation(x=horizon, y=math.log10(level), text=f"{name} door", showarrow=False, xanchor="right", yanchor="bottom", font={"color": st.PURPLE})
    values = [v for v in np.concatenate([unmet, [coping * t for t in room.params.dprk.rung_thresholds], [coping]]) if v > 0]
    lo, hi = min(values) / 2, max(values) * 2
    fig.update_xaxes(title="days since the flood", range=[0, horizon])
    fig.update_yaxes(title="need (x 2024 damage, log)", type="log", range=[math.log10(lo), math.log10(hi)])
    return _layout(fig, f"Need vs domestic capacity, day {room.day}", large, 360)


def ladder_figure(room: Classroom, large: bool = False) -> go.Figure:
    """The preference ladder: who sits on each rung, and how far the need has pushed Pyongyang."""
    now, deepest = room.rungs()
    thresholds = room.params.dprk.rung_thresholds
    by_rung = {r: [SHORT[d] for d in DONORS if room.params.actors[d].rung == r] for r in (1, 2, 3)}
    fig = go.Figure()
    for r, name in enumerate(RUNGS):
        reached = r <= deepest
        fig.add_shape(type="line", x0=0, x1=1, y0=-r, y1=-r, line={"color": st.BLUE if reached else st.GREY, "width": 8 if reached else 4})
        who = f"{', '.join(by_rung[r])}; " if r and set(by_rung[r]) - set(name.split(" and ")) else ""
        opens = f"{who}opens at pressure {thresholds[r - 1]:g}" if r else "always open"
        label = f"<b>{name}</b>" if r == now else name
        fig.add_annotation(x=1.08, y=-r, text=f"{label}<br><span style='color:{st.DARK_GREY}'>{opens}</span>", showarrow=False, xanchor="left", align="left")
    for x in (0, 1):
        fig.add_shape(type="line", x0=x, x1=x, y0=0.3, y1=-3.3, line={"color": st.BLACK, "width": 3})
    fig.add_annotation(
        x=0.5,
        y=-now,
        ax=0.5,
        ay=-now + 0.55,
        axref="x",
        ayref="y",
        text="<b>Pyongyang</b>",
        font={"color": st.VERMILLION},
        arrowcolor=st.VERMILLION,
        arrowwidth=3,
    )
    fig.update_xaxes(visible=False, range=[-0.1, 3.4])
    fig.update_yaxes(visible=False, range=[-3.6, 1.0])
    pressure = room.pressure()[-1]
    return _layout(fig, f"Preference ladder (pressure {pressure:.2f})<br>deepest rung opened: {RUNGS[deepest]}", large, 360, legend=False)


def aid_figure(room: Classroom, large: bool = False) -> go.Figure:
    """Per donor in this world: aid offered against aid accepted and delivered, the answer written."""
    rows = room.outcomes()[::-1]
    names = [SHORT[r["donor"]] for r in rows]
    top = max([r["offered"] for r in rows] + [1e-3])
    fig = go.Figure()
    fig.add_bar(y=names, x=[r["offered"] for r in rows], orientation="h", name="offered", marker_color=st.SKY)
    fig.add_bar(y=names, x=[r["delivered"] for r in rows], orientation="h", name="accepted and delivered", marker_color=st.GREEN, width=0.35)
    for r, name in zip(rows, names, strict=True):
        fig.add_annotation(x=r["offered"], y=name, text=st.RESPONSE_LABELS.get(r["response"], r["response"]), showarrow=False, xanchor="left", xshift=4)
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title="aid (x 2024 damage)", range=[0, top * 2.1])
    return _layout(fig, "Aid offered vs accepted, per donor", large, 340)


def tension_figure(room: Classroom, large: bool = False) -> go.Figure:
    """Tension over the days so far (scripted events move it)."""
    tension = room.history.tension
    days = list(range(len(tension)))
    fig = go.Figure()
    fig.add_scatter(x=days, y=[t["inter_korean"] for t in tension], name="inter-Korean", line={"color": st.VERMILLION, "width": 3, "shape": "hv"})
    fig.add_scatter(x=days, y=[t["us_dprk"] for t in tension], name="US-DPRK", line={"color": st.PURPLE, "dash": "dash", "shape": "hv"})
    fig.update_xaxes(title="days since the flood", range=[0, room.params.horizon_days])
    fig.update_yaxes(title="tension (0-1)", range=[-0.02, 1.02])
    return _layout(fig, "Tension", large, 280)


def agents_figure(room: Classroom, large: bool = False) -> go.Figure:
    """The agents: Pyongyang in the middle, the donors around it, each coloured (and labelled) by
    Pyongyang's answer so far; a line from each donor that has offered."""
    rows = room.outcomes()
    fig = go.Figure()
    xs, ys, colours, texts, symbols = [], [], [], [], []
    for i, r in enumerate(rows):
        angle = math.pi / 2 - 2 * math.pi * i / len(rows)
        x, y = math.cos(angle), math.sin(angle)
        key = r["response"] if r["response"] in st.RESPONSE_COLOURS else "not_offered"
        if r["offer_day"] is not None:
            fig.add_shape(type="line", x0=x * 0.9, y0=y * 0.9, x1=x * 0.15, y1=y * 0.15, line={"color": st.RESPONSE_COLOURS[key], "width": 3})
        xs.append(x)
        ys.append(y)
        colours.append(st.RESPONSE_COLOURS[key])
        texts.append(f"<b>{SHORT[r['donor']]}</b><br>{st.RESPONSE_LABELS.get(r['response'], r['response'])}")
        symbols.append("star" if r["donor"] == room.seat else "circle")
    fig.add_scatter(
        x=xs,
        y=ys,
        mode="markers+text",
        text=texts,
        textposition=["top center" if y >= 0 else "bottom center" for y in ys],
        marker={"size": 26 if large else 20, "color": colours, "symbol": symbols, "line": {"color": st.BLACK, "width": 1}},
        hoverinfo="text",
        name="donors",
    )
    fig.add_scatter(
        x=[0], y=[0], mode="markers+text", text=["<b>Pyongyang</b>"], textposition="bottom center", marker={"size": 34, "color": st.BLUE}, name="Pyongyang"
    )
    fig.update_xaxes(visible=False, range=[-1.7, 1.7])
    fig.update_yaxes(visible=False, range=[-1.55, 1.45])
    return _layout(fig, f"Who offered, and Pyongyang's answer, day {room.day}", large, 380, legend=False)


WORLD_FIGURES = (need_figure, ladder_figure, aid_figure, tension_figure, agents_figure)


def _stacked(rows: pd.DataFrame, labels: list[str], title: str, large: bool, height: int) -> go.Figure:
    fig = go.Figure()
    for resp in RESPONSES:
        share = rows[resp].to_numpy(dtype=float)
        fig.add_bar(
            y=labels,
            x=share,
            orientation="h",
            name=st.RESPONSE_LABELS[resp],
            marker={"color": st.RESPONSE_COLOURS[resp], "line": {"color": st.WHITE, "width": 1}},
            text=[f"{s:.0%}" if s >= 0.08 else "" for s in share],
            textposition="inside",
            insidetextanchor="middle",
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title="share of worlds", range=[0, 1], tickformat=".0%")
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1])
    return _layout(fig, title, large, height)


def shares_figure(shares: pd.DataFrame, worlds: int, large: bool = False) -> go.Figure:
    """Each donor's outcome over many worlds."""
    return _stacked(shares, [SHORT[d] for d in shares.index], f"How each donor's offer ends, over {worlds:,} worlds", large, 420)


def comparison_figure(c: Comparison, large: bool = False) -> go.Figure:
    """The student's decision against the model donor's, over many worlds."""
    rows = pd.DataFrame([c.student_shares, c.modelled_shares])
    return _stacked(rows, ["your decision", f"model's {SHORT[c.donor]}"], f"{SHORT[c.donor]}'s offer over {c.worlds:,} worlds", large, 260)


def heatmap_figure(h: Heatmap, large: bool = False) -> go.Figure:
    """Share of worlds with aid accepted over two knobs."""
    xs, ys = [f"{v:g}" for v in h.xs], [f"{v:g}" for v in h.ys]
    fig = go.Figure(
        go.Heatmap(
            z=h.share,
            x=xs,
            y=ys,
            zmin=0,
            zmax=1,
            colorscale="Cividis",
            text=[[f"{v:.0%}" for v in row] for row in h.share],
            texttemplate="%{text}",
            colorbar={"title": {"text": "share"}, "tickformat": ".0%"},
        )
    )
    fig.update_xaxes(title=KNOB[h.x].label, type="category")
    fig.update_yaxes(title=KNOB[h.y].label, type="category")
    who = "any donor" if h.donor is None else SHORT[h.donor]
    return _layout(fig, f"Aid from {who} accepted ({h.worlds} worlds per cell)", large, 420, legend=False)
