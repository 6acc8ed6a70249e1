"""The page's figures, drawn in the browser by plotly.js. The server builds each figure as a
plain Plotly JSON spec (a dict: well under a millisecond, no plotly objects, no drawing, no lock
shared between tabs) and a small widget (`PlotlyView`) hands it to `Plotly.react` in the tab.

plotly.js itself is the file inside the `plotly` Python package, served once per browser from the
page's local asset cache (aidsim.app.assets), never from the internet; Plotly's own FigureWidget
is not used because it ships all of plotly.js (5 MB) with every figure of every tab.

Each tab keeps its figure widgets for its whole session (`Board`): a day of Play sends each
changed figure's spec once, a figure that did not change sends nothing, and hiding a tab never
leaves a half-drawn figure talking to a closed widget. Okabe-Ito colours from
aidsim.report.style, and the answer written beside every mark, so no reading depends on colour
alone. `large=True` is the projector size.

The debrief's PNG files are drawn by app/figures.py (matplotlib): a download, not a live view.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from typing import Any

import anywidget
import ipyvuetify as v
import numpy as np
import pandas as pd
import traitlets
from solara.widgets import HTML

from aidsim.app.assets import PLOTLY_URL
from aidsim.app.session import DOORS, KNOB, RUNGS, SHORT, Classroom
from aidsim.app.worlds import Comparison, Heatmap
from aidsim.model.params import DONORS
from aidsim.report import style as st
from aidsim.report.narrative import possessive
from aidsim.runs.tables import RESPONSES

Spec = dict[str, Any]
"""A Plotly figure as JSON: {"data": [trace, ...], "layout": {...}}."""


_ESM = """
function loadPlotly(url) {
  if (!window.__aidsimPlotly) {
    window.__aidsimPlotly = window.Plotly ? Promise.resolve(window.Plotly) : new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = url;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => reject(new Error("plotly.js did not load from " + url));
      document.head.appendChild(s);
    });
  }
  return window.__aidsimPlotly;
}
export default {
  async render({ model, el }) {
    const div = document.createElement("div");
    el.appendChild(div);
    const Plotly = await loadPlotly(model.get("src"));
    let live = true;
    const draw = () => {
      if (!live) return;
      const spec = model.get("spec") || {};
      Plotly.react(div, spec.data || [], spec.layout || {}, { responsive: true, displaylogo: false });
    };
    draw();
    model.on("change:spec", draw);
    return () => { live = false; model.off("change:spec", draw); Plotly.purge(div); };
  },
};
"""


class PlotlyView(anywidget.AnyWidget):
    """A figure in the browser: `spec` (Plotly JSON) drawn by plotly.js with `Plotly.react`."""

    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    src = traitlets.Unicode(PLOTLY_URL).tag(sync=True)
    spec = traitlets.Dict().tag(sync=True)


class Board:
    """A tab's live widgets (the figures, the day counter, the dispatch), created once and updated
    in place for the tab's whole session (Solara closes them with the session). A day of Play
    updates them directly, without re-rendering the page around them."""

    def __init__(self) -> None:
        self.widgets: dict[str, PlotlyView] = {}
        self.labels: dict[str, v.Html] = {}
        self.blocks: dict[str, HTML] = {}
        self._sent: dict[str, str] = {}
        self.sent = 0  # specs sent to the browser since the tab opened (the tests read it)
        self._lock = threading.Lock()  # this tab's Play thread and its clicks may update at once

    def label(self, key: str, text: str) -> v.Html:
        """A line of plain text (CSS class `key`), created the first time and brought to `text`."""
        with self._lock:
            widget = self.labels.get(key)
            if widget is None:
                widget = self.labels[key] = v.Html(tag="span", class_=key, children=[text])
            elif widget.children != [text]:
                widget.children = [text]
            return widget

    def html(self, key: str, markup: str) -> HTML:
        """A block of HTML (CSS class `key`) made here from escaped text, created the first time
        and brought to `markup`."""
        with self._lock:
            widget = self.blocks.get(key)
            if widget is None:
                widget = self.blocks[key] = HTML(tag="div", unsafe_innerHTML=markup, attributes={"class": key})
            elif widget.unsafe_innerHTML != markup:
                widget.unsafe_innerHTML = markup
            return widget

    def show(self, key: str, make: Callable[[], Spec]) -> PlotlyView:
        """The widget for `key`, created from `make()` the first time."""
        if key not in self.widgets:
            spec = make()
            self.widgets[key] = PlotlyView(spec=spec)
            self._sent[key] = _json(spec)
        return self.widgets[key]

    def update(self, key: str, spec: Spec) -> bool:
        """Bring widget `key` to `spec`; sends nothing when the figure did not change."""
        text = _json(spec)
        with self._lock:
            if self._sent.get(key) == text:
                return False
            self.widgets[key].spec = spec
            self._sent[key] = text
            self.sent += 1
            return True


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _json(spec: Spec) -> str:
    return json.dumps(spec, default=_plain, sort_keys=True)


def _floats(values) -> list[float | None]:
    return [None if not math.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]


AXIS = {"showline": True, "linecolor": st.BLACK, "ticks": "outside", "showgrid": False, "zeroline": False, "automargin": True}


def _layout(title: str, large: bool, height: int = 320, legend: bool = True, **extra: Any) -> dict:
    """Common look: white, the title inside the figure's own top margin, a legend below the axes
    (never over the data)."""
    size = 17 if large else 12
    layout = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": size + 2}},
        "font": {"size": size, "color": st.BLACK},
        "paper_bgcolor": st.WHITE,
        "plot_bgcolor": st.WHITE,
        "height": int(height * (1.25 if large else 1)),
        "margin": {"l": 60, "r": 20, "t": 50 if "<br>" not in title else 75, "b": (3 * size + 60) if legend else 50},
        "showlegend": legend,
        "legend": {"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0},  # below the axis title
        "uirevision": "keep",  # zoom and legend clicks survive a new day
        "autosize": True,
        "hovermode": "closest",
    }
    for axis in ("xaxis", "yaxis"):
        layout[axis] = {**AXIS, **extra.pop(axis, {})}
    return layout | extra


def _hidden(rng: list[float]) -> dict:
    return {"visible": False, "range": rng, "fixedrange": True}


def _hline(y: float, color: str, width: float, dash: str = "solid") -> dict:
    return {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y, "line": {"color": color, "width": width, "dash": dash}}


def _note(x: Any, y: Any, text: str, **kw: Any) -> dict:
    return {"x": x, "y": y, "text": text, "showarrow": False} | kw


def need_figure(room: Classroom, large: bool = False) -> Spec:
    """Unmet need against what the state can clear, with the level where each rung's door opens.
    Log scale: at 2024 damage the need sits far below the first door, and both must show."""
    h, days = room.history, list(range(room.day + 1))
    unmet = h.array("unmet")[:, 0]
    coping = float(room.model.dprk.capacity[0]) * room.params.dprk.planning_days
    horizon = room.params.horizon_days
    thresholds = room.params.dprk.rung_thresholds
    data = [
        {"type": "scatter", "mode": "lines", "x": days, "y": _floats(unmet), "name": "unmet need", "line": {"color": st.BLUE, "width": 3}},
        {
            "type": "scatter",
            "mode": "lines",
            "x": days,
            "y": _floats(h.array("domestic")[:, 0]),
            "name": "relief by the state, so far",
            "line": {"color": st.ORANGE, "dash": "dash"},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": days,
            "y": _floats(h.array("foreign")[:, 0]),
            "name": "foreign aid delivered, so far",
            "line": {"color": st.GREEN, "dash": "dot"},
        },
    ]
    shapes = [_hline(coping, st.DARK_GREY, 2)]
    notes = [_note(0, math.log10(coping), f"capacity x {room.params.dprk.planning_days:g} days", xanchor="left", yanchor="bottom")]
    for name, t in zip(DOORS, thresholds, strict=True):
        level = t * coping
        shapes.append(_hline(level, st.PURPLE, 1.5, "dot"))
        notes.append(_note(horizon, math.log10(level), f"{name} door", xanchor="right", yanchor="bottom", font={"color": st.PURPLE}))
    values = [v for v in [*unmet.tolist(), *(coping * t for t in thresholds), coping] if v > 0]
    lo, hi = min(values) / 2, max(values) * 2
    layout = _layout(
        f"Need vs domestic capacity, day {room.day}",
        large,
        360,
        xaxis={"title": {"text": "days since the flood"}, "range": [0, horizon]},
        yaxis={"title": {"text": "need (x 2024 damage, log)"}, "type": "log", "range": [math.log10(lo), math.log10(hi)]},
        shapes=shapes,
        annotations=notes,
    )
    return {"data": data, "layout": layout}


def ladder_figure(room: Classroom, large: bool = False) -> Spec:
    """The preference ladder: who sits on each rung, and how far the need has pushed Pyongyang."""
    now, deepest = room.rungs()
    thresholds = room.params.dprk.rung_thresholds
    by_rung = {r: [SHORT[d] for d in DONORS if room.params.actors[d].rung == r] for r in (1, 2, 3)}
    shapes, notes = [], []
    for r, name in enumerate(RUNGS):
        reached = r <= deepest
        shapes.append({"type": "line", "x0": 0, "x1": 1, "y0": -r, "y1": -r, "line": {"color": st.BLUE if reached else st.GREY, "width": 8 if reached else 4}})
        who = f"{', '.join(by_rung[r])}<br>" if r and set(by_rung[r]) - set(name.split(" and ")) else ""
        opens = f"{who}opens at pressure {thresholds[r - 1]:g}" if r else "always open"
        label = f"<b>{name}</b>" if r == now else name
        notes.append(_note(1.08, -r, f"{label}<br><span style='color:{st.DARK_GREY}'>{opens}</span>", xanchor="left", align="left", yanchor="middle"))
    for x in (0, 1):
        shapes.append({"type": "line", "x0": x, "x1": x, "y0": 0.3, "y1": -3.3, "line": {"color": st.BLACK, "width": 3}})
    notes.append(
        {
            "x": 0.5,
            "y": -now,
            "ax": 0.5,
            "ay": -now + 0.55,
            "axref": "x",
            "ayref": "y",
            "text": "<b>Pyongyang</b>",
            "font": {"color": st.VERMILLION},
            "arrowcolor": st.VERMILLION,
            "arrowwidth": 3,
            "showarrow": True,
        }
    )
    pressure = float(room.pressure()[-1])
    layout = _layout(
        f"Preference ladder (pressure {pressure:.2f})<br>deepest rung opened: {RUNGS[deepest]}",
        large,
        360,
        legend=False,
        xaxis=_hidden([-0.1, 3.4]),
        yaxis=_hidden([-3.6, 1.0]),
        shapes=shapes,
        annotations=notes,
    )
    return {"data": [], "layout": layout}


def aid_figure(room: Classroom, large: bool = False) -> Spec:
    """Per donor in this world: aid offered against aid accepted and delivered, the answer written."""
    rows = room.outcomes()[::-1]
    names = [SHORT[r["donor"]] for r in rows]
    top = max([r["offered"] for r in rows] + [1e-3])
    data = [
        {"type": "bar", "y": names, "x": [r["offered"] for r in rows], "orientation": "h", "name": "offered", "marker": {"color": st.SKY}},
        {
            "type": "bar",
            "y": names,
            "x": [r["delivered"] for r in rows],
            "orientation": "h",
            "name": "accepted and delivered",
            "marker": {"color": st.GREEN},
            "width": 0.35,
        },
    ]
    notes = [
        _note(r["offered"], name, st.RESPONSE_LABELS.get(r["response"], r["response"]), xanchor="left", xshift=4) for r, name in zip(rows, names, strict=True)
    ]
    layout = _layout(
        "Aid offered vs accepted, per donor",
        large,
        340,
        barmode="overlay",
        xaxis={"title": {"text": "aid (x 2024 damage)"}, "range": [0, top * 2.1]},
        yaxis={"type": "category"},
        annotations=notes,
    )
    return {"data": data, "layout": layout}


def tension_figure(room: Classroom, large: bool = False) -> Spec:
    """Tension over the days so far (scripted events move it)."""
    tension = room.history.tension
    days = list(range(len(tension)))
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": days,
            "y": [float(t["inter_korean"]) for t in tension],
            "name": "inter-Korean",
            "line": {"color": st.VERMILLION, "width": 3, "shape": "hv"},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": days,
            "y": [float(t["us_dprk"]) for t in tension],
            "name": "US-DPRK",
            "line": {"color": st.PURPLE, "dash": "dash", "shape": "hv"},
        },
    ]
    layout = _layout(
        "Tension",
        large,
        280,
        xaxis={"title": {"text": "days since the flood"}, "range": [0, room.params.horizon_days]},
        yaxis={"title": {"text": "tension (0-1)"}, "range": [-0.02, 1.02]},
    )
    return {"data": data, "layout": layout}


def agents_figure(room: Classroom, large: bool = False) -> Spec:
    """The agents: Pyongyang in the middle, the donors around it, each coloured (and labelled) by
    Pyongyang's answer so far; a line from each donor that has offered."""
    rows = room.outcomes()
    xs, ys, colours, texts, symbols, shapes = [], [], [], [], [], []
    for i, r in enumerate(rows):
        angle = math.pi / 2 - 2 * math.pi * i / len(rows)
        x, y = math.cos(angle), math.sin(angle)
        key = r["response"] if r["response"] in st.RESPONSE_COLOURS else "not_offered"
        if r["offer_day"] is not None:
            shapes.append(
                {"type": "line", "x0": x * 0.9, "y0": y * 0.9, "x1": x * 0.15, "y1": y * 0.15, "line": {"color": st.RESPONSE_COLOURS[key], "width": 3}}
            )
        xs.append(x)
        ys.append(y)
        colours.append(st.RESPONSE_COLOURS[key])
        texts.append(f"<b>{SHORT[r['donor']]}</b><br>{st.RESPONSE_LABELS.get(r['response'], r['response'])}")
        symbols.append("star" if room.model.donor(r["donor"]).seated else "circle")  # every seat a student holds
    data = [
        {
            "type": "scatter",
            "x": xs,
            "y": ys,
            "mode": "markers+text",
            "text": texts,
            "textposition": ["top center" if y >= 0 else "bottom center" for y in ys],
            "marker": {"size": 26 if large else 20, "color": colours, "symbol": symbols, "line": {"color": st.BLACK, "width": 1}},
            "hoverinfo": "text",
            "name": "donors",
        },
        {
            "type": "scatter",
            "x": [0],
            "y": [0],
            "mode": "markers+text",
            "text": ["<b>Pyongyang</b>"],
            "textposition": "bottom center",
            "marker": {"size": 34, "color": st.BLUE},
            "name": "Pyongyang",
        },
    ]
    layout = _layout(
        f"Who offered, and Pyongyang's answer, day {room.day}",
        large,
        380,
        legend=False,
        xaxis=_hidden([-1.7, 1.7]),
        yaxis=_hidden([-1.55, 1.45]),
        shapes=shapes,
    )
    return {"data": data, "layout": layout}


WORLD_FIGURES = (need_figure, ladder_figure, aid_figure, tension_figure, agents_figure)


def _stacked(rows: pd.DataFrame, labels: list[str], title: str, large: bool, height: int) -> Spec:
    data = []
    for resp in RESPONSES:
        share = rows[resp].to_numpy(dtype=float)
        data.append(
            {
                "type": "bar",
                "y": labels,
                "x": _floats(share),
                "orientation": "h",
                "name": st.RESPONSE_LABELS[resp],
                "marker": {"color": st.RESPONSE_COLOURS[resp], "line": {"color": st.WHITE, "width": 1}},
                "text": [f"{s:.0%}" if s >= 0.08 else "" for s in share],
                "textposition": "inside",
                "insidetextanchor": "middle",
            }
        )
    layout = _layout(
        title,
        large,
        height,
        barmode="stack",
        xaxis={"title": {"text": "share of worlds"}, "range": [0, 1], "tickformat": ".0%"},
        yaxis={"type": "category", "categoryorder": "array", "categoryarray": labels[::-1]},
    )
    return {"data": data, "layout": layout}


def shares_figure(shares: pd.DataFrame, worlds: int, large: bool = False) -> Spec:
    """Each donor's outcome over many worlds."""
    return _stacked(shares, [SHORT[d] for d in shares.index], f"How each donor's offer ends, over {worlds:,} worlds", large, 420)


def comparison_figure(c: Comparison, large: bool = False) -> Spec:
    """The student's decision against the model donor's, over many worlds."""
    rows = pd.DataFrame([c.student_shares, c.modelled_shares])
    return _stacked(rows, ["your decision", f"model's {SHORT[c.donor]}"], f"{possessive(SHORT[c.donor])} offer over {c.worlds:,} worlds", large, 260)


def heatmap_figure(h: Heatmap, large: bool = False) -> Spec:
    """Share of worlds with aid accepted over two knobs."""
    xs, ys = [f"{v:g}" for v in h.xs], [f"{v:g}" for v in h.ys]
    share = np.asarray(h.share, dtype=float)
    data = [
        {
            "type": "heatmap",
            "z": [_floats(row) for row in share],
            "x": xs,
            "y": ys,
            "zmin": 0,
            "zmax": 1,
            "colorscale": "Cividis",
            "text": [[f"{v:.0%}" if math.isfinite(v) else "" for v in row] for row in share],
            "texttemplate": "%{text}",
            "colorbar": {"title": {"text": "share"}, "tickformat": ".0%"},
        }
    ]
    who = "any donor" if h.donor is None else SHORT[h.donor]
    layout = _layout(
        f"Aid from {who} accepted ({h.worlds} worlds per cell)",
        large,
        420,
        legend=False,
        xaxis={"title": {"text": KNOB[h.x].label}, "type": "category"},
        yaxis={"title": {"text": KNOB[h.y].label}, "type": "category"},
    )
    return {"data": data, "layout": layout}
