"""Figures of a sweep study: maps and lines (`aidsim-plot <folder>`); a run's timeline is `report.timeline`.

Colour-blind-safe throughout (Okabe-Ito for categories, cividis/viridis for shares; colours and
donor names from `report.style`), labelled axes with units, the number of worlds per cell in each
caption, and the 2024 point marked. Figures are built without pyplot (`matplotlib.figure.Figure`).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from omegaconf import DictConfig, OmegaConf

from aidsim.model.errors import ConfigError
from aidsim.model.params import DONORS
from aidsim.report.labels import is_day_knob, knob_label, knob_name, preset_changes, run_title
from aidsim.report.style import (
    ANY_DONOR_COLOUR,
    BLACK,
    DARK_GREY,
    DONOR_COLOURS,
    LOG_SCALE,
    NONE_COLOUR,
    RESPONSE_COLOURS,
    RESPONSE_LABELS,
    day_limits,
    donor_label,
    log_axis,
    mark_value,
    outside_legend,
    round_log_ticks,
    save,
    use_names,
    wants_log,
)
from aidsim.runs.tables import RESPONSES

__all__ = ["FORMATS", "MIN_ACCEPTING_WORLDS", "StudySummary", "knob_label", "knob_lines", "save", "study_figures", "wilson"]


# ---------------------------------------------------------------------------------------------
# Sweep studies (aidsim-plot <folder>, and at the end of aidsim-sweep)

FORMATS = ("png", "svg")
MIN_ACCEPTING_WORLDS = 10
"""A cell's median time to first acceptance is drawn only if at least this many of its worlds accepted
any aid (fewer make a median of noise)."""
BLANK_TIME_NOTE = f"time blank where < {MIN_ACCEPTING_WORLDS} worlds accepted any aid"
STAR = "point marked with a star"


def wilson(k: ArrayLike, n: ArrayLike, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (95% by default) for k successes in n trials."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    p = np.divide(k, n, out=np.zeros_like(k), where=n > 0)
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


class StudySummary:
    """Per-cell counts of a study, accumulated shard by shard (memory stays flat)."""

    def __init__(self, path: Path):
        from aidsim.runs import store as results

        self.path = Path(path)
        self.cells = results.cells(path).set_index("cell")
        m = results.stores(path)[0].manifest() or {}
        job_overrides = (m.get("design") or {}).get("labels") or {}
        self.study = m.get("study", self.path.name)
        self.seed = m.get("seed")
        resp, runs = [], []
        for df in results.iter_tables(path, "responses", ["donor", "response"]):
            resp.append(df.groupby(["cell", "donor", "response"], observed=False).size())
        for df in results.iter_tables(path, "runs", ["any_accepted", "first_accept_day", "first_accept_donor", "deepest_rung"]):
            runs.append(
                pd.DataFrame(
                    {
                        "cell": df["cell"],
                        "donor": df["first_accept_donor"].cat.add_categories("none").fillna("none"),
                        "day": df["first_accept_day"].fillna(-1).astype(int),
                        "rung": df["deepest_rung"].astype(int),
                    }
                )
                .groupby(["cell", "donor", "day", "rung"], observed=True)
                .size()
            )
        if not resp:
            raise ConfigError(f"{self.path}: no finished chunks yet; run or resume the sweep, then draw its figures")
        self.responses = pd.concat(resp).groupby(level=[0, 1, 2], observed=False).sum().unstack("response", fill_value=0)
        self.runs = pd.concat(runs).groupby(level=[0, 1, 2, 3], observed=True).sum()
        self.n = self.runs.groupby(level="cell").sum()
        self.cells = self.cells.loc[self.n.index]
        base = _base_config(self.path)
        actors = OmegaConf.to_container(base.actors, resolve=True) if OmegaConf.select(base, "actors") is not None else None
        if isinstance(actors, dict):
            use_names(actors)  # the study's own donor names
        self.base: dict[str, Any] = {k: OmegaConf.select(base, k, default=None) for k in self.cells.columns}
        # a Hydra -m job's config holds its own value of each knob it overrode, not the study's base
        self.base.update(_unoverridden(job_overrides, [k for k in self.knobs() if k in job_overrides]))
        changes = preset_changes(base, exclude=self.knobs())
        name = OmegaConf.select(base, "scenario.name", default=None)
        # what the cells vary around: the scenario, its preset and the study's other settings
        self.title = run_title(OmegaConf.select(base, "scenario.title", default=None), name, changes)
        self.marker = "2024" if name == "amnok_2024" and not changes else "base"

    def knobs(self) -> list[str]:
        """The knobs that vary between cells (constant labels excluded)."""
        return [k for k in self.cells.columns if self.cells[k].nunique(dropna=True) > 1]

    def p(self, donor: str | None = None, response: str = "accepted") -> tuple[pd.Series, pd.Series]:
        """(k, n) per cell: worlds where `donor` met `response` (donor None: any donor accepted)."""
        if donor is None:
            k = self.runs[self.runs.index.get_level_values("donor") != "none"].groupby(level="cell").sum()
            return k.reindex(self.n.index, fill_value=0), self.n
        k = self.responses.xs(donor, level="donor")[response]
        return k.reindex(self.n.index, fill_value=0), self.n

    def modal_response(self, donor: str) -> pd.Series:
        return self.responses.xs(donor, level="donor")[list(RESPONSES)].idxmax(axis=1).reindex(self.n.index)

    def first_donor(self) -> pd.Series:
        return self.runs.groupby(level=["cell", "donor"], observed=True).sum().unstack("donor", fill_value=0).idxmax(axis=1)

    def median_first_day(self, min_count: int = MIN_ACCEPTING_WORLDS) -> pd.Series:
        """Median day of the first acceptance among worlds with one (NaN below `min_count` such worlds)."""
        days = self.runs[self.runs.index.get_level_values("day") >= 0].groupby(level=["cell", "day"]).sum()
        out = {}
        for cell in self.n.index:
            h = days.xs(cell, level="cell") if cell in days.index.get_level_values("cell") else pd.Series(dtype=float)
            total = h.sum()
            out[cell] = float(h.index[np.searchsorted(h.cumsum().to_numpy(), total / 2)]) if total >= min_count else np.nan
        return pd.Series(out)

    def mean_rung(self) -> pd.Series:
        r = self.runs.groupby(level=["cell", "rung"]).sum()
        return (r * r.index.get_level_values("rung")).groupby(level="cell").sum() / self.n

    def caption(self, mark: str | None = None) -> str:
        """Study, worlds per cell, cells and seed; with `mark` (how the base point is drawn), that too."""
        n = self.n.to_numpy()
        per = f"n = {n.min():,} worlds per cell" if n.min() == n.max() else f"n = {n.min():,}-{n.max():,} worlds per cell"
        return f"{self.study}: {per}, {len(n)} cells, seed {self.seed}" + (f"; {self.marker} {mark}" if mark else "")


def _base_config(path: Path) -> DictConfig:
    """The study's resolved config (empty if the store has none)."""
    from aidsim.runs import store as results

    cfg = results.stores(path)[0].root / "config.yaml"
    loaded = OmegaConf.load(cfg) if cfg.is_file() else None
    return loaded if isinstance(loaded, DictConfig) else OmegaConf.create({})


def _unoverridden(job_overrides: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """The values of `keys` in the study's config without a Hydra -m job's overrides of them: the
    config composed from the job's other overrides (its presets and settings shared by every job).
    None for all of them if that config cannot be composed (then no base point is drawn)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from aidsim.model.config import compose, groups

    if not keys:
        return {}
    overrides = []
    for key, value in job_overrides.items():
        if key in keys:
            continue
        if "." not in key and isinstance(value, str) and key in groups():
            overrides.append(f"{key}={value}")  # a preset of a config group
        elif isinstance(value, (bool, int, float, str)):
            overrides.append(f"++{key}={json.dumps(value)}")  # JSON scalars are Hydra values too
    try:
        config = compose(overrides, config_name="sweep")
    except (HydraException, OmegaConfBaseException):
        return dict.fromkeys(keys)
    return {k: OmegaConf.select(config, k, default=None) for k in keys}


def _cell_position(values: np.ndarray, x: float) -> float:
    """Where `x` falls on an axis of cell indices: interpolated between cells (in log for a log-axis
    knob, `wants_log`), and past the ends along the end cells' spacing."""
    v, t = (np.log(values), np.log(x)) if wants_log(values) else (values.astype(float), float(x))
    if t < v[0]:
        return float((t - v[0]) / (v[1] - v[0]))
    if t > v[-1]:
        return float(len(v) - 1 + (t - v[-1]) / (v[-1] - v[-2]))
    return float(np.interp(t, v, np.arange(len(v))))


def _positions(values: np.ndarray, x: object) -> float | None:
    """Where the value `x` falls on an axis of cell indices, if within the knob's range."""
    if not isinstance(x, (int, float)) or isinstance(x, bool) or not values.min() <= x <= values.max():
        return None
    return _cell_position(values, x)


def index_ticks(values: np.ndarray) -> tuple[list[float], list[str]]:
    """Ticks for an axis of cell indices: each cell's value, or for a log-axis knob (`wants_log`) the
    round values (0.3, 1, 3, 10 ...) at their interpolated positions, within the cells' extent."""
    if not wants_log(values):
        return list(map(float, range(len(values)))), [f"{v:.3g}" if isinstance(v, (int, float, np.number)) else str(v) for v in values]
    ticks = [(p, t) for t in round_log_ticks(values[0] / 10, values[-1] * 10) if -0.5 <= (p := _cell_position(values, t)) <= len(values) - 0.5]
    return [p for p, _ in ticks], [f"{t:g}" for _, t in ticks]


def _axis_label(key: str, values: np.ndarray) -> str:
    return knob_label(key) + (LOG_SCALE if wants_log(values) else "")


class _Grid:
    """A two-knob full grid: maps cells to (row, column) of a heatmap."""

    def __init__(self, s: StudySummary, kx: str, ky: str):
        self.s, self.kx, self.ky = s, kx, ky
        self.xs = np.sort(s.cells[kx].unique())
        self.ys = np.sort(s.cells[ky].unique())
        self.ix = np.searchsorted(self.xs, s.cells[kx].to_numpy())
        self.iy = np.searchsorted(self.ys, s.cells[ky].to_numpy())
        px, py = _positions(self.xs, s.base.get(kx)), _positions(self.ys, s.base.get(ky))
        # no star, and no word of one, if the base point lies outside the grid or is unknown
        self.star = None if px is None or py is None else (px, py)
        self.mark = STAR if self.star else None

    def matrix(self, values: pd.Series, fill: object = np.nan) -> np.ndarray:
        out = np.full((len(self.ys), len(self.xs)), fill, dtype=object if not isinstance(fill, float) else float)
        out[self.iy, self.ix] = values.reindex(self.s.cells.index).to_numpy()
        return out

    def decorate(self, ax: Axes, title: str) -> None:
        ax.set_xticks(*index_ticks(self.xs), rotation=90, fontsize=7)
        ax.set_yticks(*index_ticks(self.ys), fontsize=7)
        ax.set_title(title, fontsize=9)
        if self.star:
            ax.plot(*self.star, marker="*", ms=13, mfc=BLACK, mec=NONE_COLOUR, mew=1.2, ls="none")

    def axes(self, n: int, ncols: int = 4) -> tuple[Figure, np.ndarray]:
        nrows = -(-n // ncols)
        fig = Figure(figsize=(3.3 * ncols, 3.1 * nrows + 0.6), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        fig.supxlabel(_axis_label(self.kx, self.xs), fontsize=10)
        fig.supylabel(_axis_label(self.ky, self.ys), fontsize=10)
        return fig, axes


def _captioned(fig: Figure, title: str, s: StudySummary, mark: str | None, note: str = "") -> Figure:
    fig.suptitle(f"{title}\n{textwrap.fill(s.title, 140)}", fontsize=11)
    fig.text(0.5, -0.01, s.caption(mark) + (f"; {note}" if note else ""), ha="center", va="top", fontsize=8)
    return fig


def p_accepted_maps(g: _Grid) -> Figure:
    """Heatmaps of P(accepted) per donor, and of P(any aid accepted)."""
    s = g.s
    fig, axes = g.axes(len(DONORS) + 1)
    for ax, donor in zip(axes.flat, [None, *DONORS], strict=False):
        k, n = s.p(donor)
        im = ax.imshow(g.matrix(k / n), origin="lower", cmap="cividis", vmin=0, vmax=1, aspect="auto")
        g.decorate(ax, "any donor" if donor is None else donor_label(donor, short=True))
    fig.colorbar(im, ax=axes, shrink=0.6, label="P(aid accepted) (share of worlds)")
    return _captioned(fig, "Probability that the DPRK accepts aid, by donor", s, g.mark)


def _categorical_map(ax: Axes, g: _Grid, labels: pd.Series, colours: dict[str, str]) -> None:
    from matplotlib.colors import ListedColormap

    names = list(colours)
    codes = g.matrix(labels.map({n: i for i, n in enumerate(names)}).astype(float))
    ax.imshow(codes, origin="lower", cmap=ListedColormap(list(colours.values())), vmin=-0.5, vmax=len(names) - 0.5, aspect="auto")


def _legend(fig: Figure, colours: dict[str, str], labels: dict[str, str] | None = None) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=c, edgecolor=DARK_GREY, label=(labels or {}).get(n, n.replace("_", " "))) for n, c in colours.items()]
    fig.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False)


def most_likely_response_maps(g: _Grid) -> Figure:
    """Per donor, the DPRK's most likely answer in each cell."""
    fig, axes = g.axes(len(DONORS))
    for ax, donor in zip(axes.flat, DONORS, strict=False):
        _categorical_map(ax, g, g.s.modal_response(donor), RESPONSE_COLOURS)
        g.decorate(ax, donor_label(donor, short=True))
    _legend(fig, RESPONSE_COLOURS, RESPONSE_LABELS)
    return _captioned(fig, "The DPRK's most likely answer to each donor", g.s, g.mark)


def outcome_maps(g: _Grid) -> Figure:
    """First donor accepted, median time to first acceptance, deepest ladder rung."""
    s = g.s
    fig, axes = g.axes(3, ncols=3)
    colours = {**DONOR_COLOURS, "none": NONE_COLOUR}
    _categorical_map(axes[0, 0], g, s.first_donor(), colours)
    g.decorate(axes[0, 0], "first donor accepted (most often)")
    days = s.median_first_day()
    lo, hi = day_limits(days.min(), days.max())
    im = axes[0, 1].imshow(g.matrix(days), origin="lower", cmap="viridis_r", vmin=lo, vmax=hi, aspect="auto")
    fig.colorbar(im, ax=axes[0, 1], shrink=0.8, label="days since the flood")
    g.decorate(axes[0, 1], "median time to first acceptance")
    im = axes[0, 2].imshow(g.matrix(s.mean_rung()), origin="lower", cmap="cividis", vmin=0, vmax=3, aspect="auto")
    fig.colorbar(im, ax=axes[0, 2], shrink=0.8, label="rung (0 self-reliance - 3 Seoul/Washington)")
    g.decorate(axes[0, 2], "deepest ladder rung reached (mean)")
    _legend(fig, colours, {**{d: donor_label(d, short=True) for d in DONORS}, "none": "none accepted"})
    note = BLANK_TIME_NOTE if days.isna().any() else ""
    return _captioned(fig, "Who is accepted first, how fast, how far down the ladder", s, g.mark, note)


def knob_lines(s: StudySummary, knob: str, binned: bool = False) -> Figure:
    """P(accepted) per donor against one knob with 95% Wilson intervals, plus time to first
    acceptance and the deepest rung. `binned`: a sampled design, cells pooled into deciles."""
    column = s.cells[knob]
    # a text knob (a channel, say) is drawn at one position per value, in the grid's order
    text = None if pd.api.types.is_numeric_dtype(column) else list(pd.unique(column.astype(str)))
    x = column.astype(str).map({v: i for i, v in enumerate(text)}).astype(float) if text else column.astype(float)
    logx = wants_log(np.unique(x)) if not text else False
    if binned:
        edges = np.unique(np.quantile(np.log(x) if logx else x, np.linspace(0, 1, 11)))
        group = pd.Series(np.clip(np.searchsorted(edges, np.log(x) if logx else x, side="right") - 1, 0, len(edges) - 2), index=x.index)
        centre = x.groupby(group).median()
    else:
        # one point per knob value in increasing order (a sampled design lists its cells unsorted;
        # cells sharing a value, e.g. rounded day counts, are pooled)
        values = np.unique(x)
        group, centre = pd.Series(np.searchsorted(values, x), index=x.index), pd.Series(values)
    pool = lambda v: v.groupby(group).sum()  # noqa: E731
    fig = Figure(figsize=(15, 4.6), layout="constrained")
    axes = fig.subplots(1, 3, sharex=True)
    ax = axes[0]
    for donor in [None, *DONORS]:
        k, n = (pool(v) for v in s.p(donor))
        lo, hi = wilson(k, n)
        c = ANY_DONOR_COLOUR if donor is None else DONOR_COLOURS[donor]
        label = "any donor" if donor is None else donor_label(donor, short=True)
        # any donor: a broad line under the donors' own, so it reads as their envelope
        ax.plot(centre, k / n, color=c, lw=5 if donor is None else 1.5, zorder=1 if donor is None else 2, label=label)
        ax.fill_between(centre, lo, hi, color=c, alpha=0.2, lw=0)
    ax.set_ylabel("P(aid accepted) (share of worlds, 95% Wilson interval)")
    ax.set_ylim(-0.02, 1.02)
    outside_legend(ax, fontsize=8)
    # the two summaries in grey: a donor's colour here would read as that donor
    days = s.median_first_day().groupby(group).median()
    axes[1].plot(centre, days, color=DARK_GREY, marker="o", ms=3)
    axes[1].set_ylim(*day_limits(days.min() - 0.5, days.max() + 0.5))
    axes[1].set_ylabel("median time to first acceptance (days)")
    if days.isna().all():  # an empty panel says why
        why = f"fewer than {MIN_ACCEPTING_WORLDS} worlds\naccepted any aid in every cell"
        axes[1].text(0.5, 0.5, why, transform=axes[1].transAxes, ha="center", va="center", fontsize=9, color=DARK_GREY)
    axes[2].plot(centre, (s.mean_rung() * s.n).groupby(group).sum() / pool(s.n), color=DARK_GREY, marker="o", ms=3)
    axes[2].set_ylim(-0.05, 3.05)  # the whole ladder: a small change in the mean rung stays small
    axes[2].set_ylabel("deepest ladder rung reached (mean, 0-3)")
    base = s.base.get(knob)
    # the base value is drawn (and named in the caption) only where it lies within the knob's range
    at = float(base) if isinstance(base, (int, float)) and not isinstance(base, bool) and x.min() <= base <= x.max() else None
    for ax in axes:
        ax.set_xlabel(knob_label(knob) + (LOG_SCALE if logx else "") + ("\n(deciles of the design)" if binned else ""))
        if logx:
            log_axis(ax)
        elif text:
            ax.set_xticks(range(len(text)), text)
        elif is_day_knob(knob):
            ax.set_xlim(*day_limits(x.min() - 0.5, x.max() + 0.5))
        if at is not None:
            mark_value(ax, at, s.marker)
    note = BLANK_TIME_NOTE if days.isna().any() else ""
    return _captioned(fig, f"Aid acceptance against {knob_name(knob)}", s, "value: dotted line" if at is not None else None, note)


def study_figures(path: Path | str, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Draw a sweep study's figures into `<study>/figures/` (each in every format); return the files.

    Two knobs on a full grid: maps. One knob: line plots. A sampled design or more knobs: one line
    plot per knob, cells pooled into deciles of that knob."""
    s = StudySummary(Path(path))
    knobs = s.knobs()
    figs: dict[str, Figure] = {}
    full_grid = len(knobs) == 2 and len(s.cells) == s.cells[knobs[0]].nunique() * s.cells[knobs[1]].nunique()
    if full_grid:
        g = _Grid(s, knobs[0], knobs[1])
        figs = {"p_accepted": p_accepted_maps(g), "most_likely_response": most_likely_response_maps(g), "first_acceptance": outcome_maps(g)}
    elif len(knobs) == 1:
        figs = {"p_accepted_lines": knob_lines(s, knobs[0])}
    else:
        figs = {f"p_accepted_by_{k.replace('.', '_')}": knob_lines(s, k, binned=True) for k in knobs}
    out = []
    for name, fig in figs.items():
        for fmt in formats:
            out.append(save(fig, Path(path) / "figures" / f"{name}.{fmt}"))
    return out
