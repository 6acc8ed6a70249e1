"""Global sensitivity analysis with SALib: Sobol indices (Saltelli sampling) and Morris screening.

The functions here know nothing about the model: a design is a DataFrame of parameter points
(one column per parameter, in natural units), and `respond(points) -> DataFrame` returns one row
of outputs per point. That keeps the known-answer tests (Ishigami, additive models) on the same
code path as the model's study.

Parameters declared with `scale: log` are sampled uniformly in log10 and their indices refer to
log10 of the parameter: a flood ten times larger counts the same at any size.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from aidsim.report.style import BLACK, BLUE, ORANGE, VERMILLION, outside_legend

Respond = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class Range:
    """One uncertain parameter: bounds in natural units, sampled on a linear or log10 scale."""

    low: float
    high: float
    scale: str = "linear"
    unit: str = ""

    def bounds(self) -> list[float]:
        """Bounds in the space SALib samples (log10 for log-scaled parameters)."""
        if self.scale == "log":
            return [math.log10(self.low), math.log10(self.high)]
        return [self.low, self.high]

    def to_natural(self, u: np.ndarray) -> np.ndarray:
        return 10.0**u if self.scale == "log" else u


def problem(ranges: Mapping[str, Range]) -> dict:
    """The SALib problem dict for these ranges."""
    return {"num_vars": len(ranges), "names": list(ranges), "bounds": [r.bounds() for r in ranges.values()]}


def _points(ranges: Mapping[str, Range], unit: np.ndarray) -> pd.DataFrame:
    """Sampled rows (SALib space) as a DataFrame in natural units."""
    return pd.DataFrame({name: r.to_natural(unit[:, i]) for i, (name, r) in enumerate(ranges.items())})


def sobol_design(ranges: Mapping[str, Range], n: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Saltelli/Sobol' sample of N * (D + 2) points; N must be a power of 2 (SALib's convergence needs it)."""
    if n < 2 or n & (n - 1):
        raise ValueError(f"sobol.n={n}: allowed: a power of 2 (e.g. 64, 128, 256)")
    x = sobol_sample.sample(problem(ranges), n, calc_second_order=False, scramble=True, seed=seed)
    return x, _points(ranges, x)


def morris_design(ranges: Mapping[str, Range], trajectories: int, levels: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Morris one-at-a-time trajectories: trajectories * (D + 1) points on a `levels`-level grid."""
    x = morris_sample.sample(problem(ranges), trajectories, num_levels=levels, seed=seed)
    return x, _points(ranges, x)


def _constant(y: np.ndarray) -> bool:
    return bool(np.nanmax(y) - np.nanmin(y) <= 1e-12)


def varying(y: np.ndarray) -> int:
    """How many points differ from the output's most common value: with only a few, indices are noise."""
    values, counts = np.unique(np.round(y, 12), return_counts=True)
    return int(len(y) - counts.max())


RARE = 0.05
"""Outputs that vary at fewer than this share of the design's points are flagged in figures and summaries."""


def sobol_indices(ranges: Mapping[str, Range], y: pd.DataFrame, resamples: int, seed: int) -> pd.DataFrame:
    """First-order and total indices with 95% bootstrap half-widths, per (output, parameter).

    An output that never varies over the design has no variance to share out: its indices are NaN.
    `varying` counts the points where the output leaves its most common value.
    """
    rows = []
    for output in y.columns:
        values = y[output].to_numpy(float)
        if _constant(values):
            res = {k: np.full(len(ranges), np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = sobol_analyze.analyze(problem(ranges), values, calc_second_order=False, num_resamples=resamples, conf_level=0.95, seed=seed)
        for i, name in enumerate(ranges):
            rows.append(
                {
                    "output": output,
                    "parameter": name,
                    **{k: float(res[k][i]) for k in ("S1", "S1_conf", "ST", "ST_conf")},
                    "varying": varying(values),
                }
            )
    return pd.DataFrame(rows)


def morris_indices(ranges: Mapping[str, Range], x: np.ndarray, y: pd.DataFrame, levels: int, resamples: int, seed: int) -> pd.DataFrame:
    """mu, mu* (mean absolute elementary effect, with 95% bootstrap half-width) and sigma.

    SALib measures steps on the unit-scaled range, so an effect is the output change a step across
    the parameter's whole (log10 for log-scaled) range would make at that slope.
    """
    rows = []
    for output in y.columns:
        values = y[output].to_numpy(float)
        res = morris_analyze.analyze(problem(ranges), x, values, num_resamples=resamples, conf_level=0.95, num_levels=levels, seed=seed)
        for i, name in enumerate(ranges):
            rows.append(
                {
                    "output": output,
                    "parameter": name,
                    "mu": float(res["mu"][i]),
                    "mu_star": float(res["mu_star"][i]),
                    "mu_star_conf": float(res["mu_star_conf"][i]),
                    "sigma": float(res["sigma"][i]),
                    "varying": varying(values),
                }
            )
    return pd.DataFrame(rows)


def sobol(ranges: Mapping[str, Range], respond: Respond, n: int, seed: int, resamples: int = 1000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(indices, design with outputs) for a Sobol analysis of `respond` over `ranges`."""
    _, points = sobol_design(ranges, n, seed)
    y = respond(points)
    return sobol_indices(ranges, y, resamples, seed), pd.concat([points, y], axis=1)


def morris(
    ranges: Mapping[str, Range], respond: Respond, trajectories: int, levels: int, seed: int, resamples: int = 1000
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(indices, design with outputs) for a Morris screening of `respond` over `ranges`."""
    x, points = morris_design(ranges, trajectories, levels, seed)
    y = respond(points)
    return morris_indices(ranges, x, y, levels, resamples, seed), pd.concat([points, y], axis=1)


def _label(name: str, r: Range) -> str:
    return f"log10 {name}" if r.scale == "log" else name


def _caveat(d: pd.DataFrame, n_points: int) -> str:
    k = int(d["varying"].iloc[0])
    if k == 0:
        return " (constant over the design: no indices)"
    return f" (varies at only {k} of {n_points} points: indices unreliable)" if k < RARE * n_points else ""


def _index_figure(indices: pd.DataFrame, ranges: Mapping[str, Range], caption: str, draw: Callable[..., None]) -> Figure:
    """One panel per output, parameters along x; `draw(ax, pos, output, rows)` fills a panel."""
    outputs = list(dict.fromkeys(indices["output"]))
    fig = Figure(figsize=(8, 2.3 * len(outputs) + 0.8), layout="constrained")
    axes = fig.subplots(len(outputs), 1, sharex=True)
    axes = np.atleast_1d(axes)
    pos = np.arange(len(ranges))
    for ax, output in zip(axes, outputs, strict=True):
        draw(ax, pos, output, indices[indices["output"] == output].set_index("parameter").reindex(list(ranges)))
    outside_legend(axes[0], fontsize=8)
    axes[-1].set_xticks(pos, [_label(n, r) for n, r in ranges.items()], rotation=20, ha="right")
    fig.suptitle(caption, fontsize=9)
    return fig


def sobol_figure(indices: pd.DataFrame, ranges: Mapping[str, Range], titles: Mapping[str, str], caption: str, n_points: int) -> Figure:
    """One panel per output: S1 and ST per parameter with 95% intervals."""

    def draw(ax: Axes, pos: np.ndarray, output: str, d: pd.DataFrame) -> None:
        for off, (key, colour) in zip((-0.2, 0.2), (("S1", BLUE), ("ST", ORANGE)), strict=True):
            ax.bar(pos + off, d[key].fillna(0), 0.4, yerr=d[f"{key}_conf"].fillna(0), color=colour, capsize=3, label=key)
        ax.set_title(titles.get(output, output) + _caveat(d, n_points), fontsize=10)
        ax.set_ylabel("index (share of\noutput variance)")
        valid = d["S1"].notna().any()
        low = min(-0.05, float(np.nanmin(d["S1"] - d["S1_conf"]))) if valid else -0.05
        high = max(1.05, float(np.nanmax(np.r_[d["ST"] + d["ST_conf"], d["S1"] + d["S1_conf"]]))) if valid else 1.05
        ax.set_ylim(low, high)
        ax.axhline(0, color=BLACK, lw=0.5)

    return _index_figure(indices, ranges, caption, draw)


def morris_figure(
    indices: pd.DataFrame, ranges: Mapping[str, Range], titles: Mapping[str, str], units: Mapping[str, str], caption: str, n_points: int
) -> Figure:
    """One panel per output: mu* with 95% interval beside sigma, in the output's own units."""

    def draw(ax: Axes, pos: np.ndarray, output: str, d: pd.DataFrame) -> None:
        ax.bar(pos - 0.2, d["mu_star"], 0.4, yerr=d["mu_star_conf"], color=BLUE, capsize=3, label="mu* (mean |effect|)")
        ax.bar(pos + 0.2, d["sigma"], 0.4, color=VERMILLION, label="sigma (spread of effects)")
        ax.set_title(titles.get(output, output) + _caveat(d, n_points), fontsize=10)
        ax.set_ylabel(f"effect of a full-range\nchange ({units.get(output, 'output units')})")

    return _index_figure(indices, ranges, caption, draw)
