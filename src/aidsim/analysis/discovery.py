"""Scenario discovery with ema-workbench's PRIM: which box of parameter space holds the cases of interest.

PRIM peels thin slices off a box around all points, each time keeping the box whose share of
cases of interest (density) is highest, and records every step. The trajectory trades coverage
(the share of all cases of interest that fall inside the box) against density; we report the whole
trajectory, pick one box by a stated rule, and list the parameters it restricts.
"""

from __future__ import annotations

import logging
import textwrap
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from aidsim.report.style import BLACK, GREY, SERIES, outside_legend


def _prim_class():
    # ema-workbench warns about optional parallel back-ends and logs at INFO on import: both are noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis.prim import Prim

    logging.getLogger("EMA").setLevel(logging.WARNING)
    return Prim


@dataclass
class Discovery:
    """One PRIM box: its peeling trajectory, the chosen step and that step's limits."""

    trajectory: pd.DataFrame  # step, coverage, density, mass, restricted (number of restricted parameters)
    chosen: int
    limits: pd.DataFrame  # parameter, low, high, full_low, full_high, restricted, quasi_p
    cases: int
    points: int

    @property
    def coverage(self) -> float:
        return float(self.trajectory.loc[self.chosen, "coverage"])

    @property
    def density(self) -> float:
        return float(self.trajectory.loc[self.chosen, "density"])


def choose(trajectory: pd.DataFrame, min_coverage: float) -> int:
    """The densest step whose coverage is at least `min_coverage` (ties: the fewest restrictions)."""
    ok = trajectory[trajectory["coverage"] >= min_coverage]
    if ok.empty:
        return 0
    best = ok.sort_values(["density", "restricted", "step"], ascending=[False, True, True]).index[0]
    return int(best)


def prim_box(x: pd.DataFrame, y: np.ndarray, min_coverage: float = 0.5, peel_alpha: float = 0.05, mass_min: float = 0.05) -> Discovery:
    """Run PRIM on numeric inputs `x` and a boolean `y` (True = case of interest); return the first box."""
    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        raise ValueError(f"{int(y.sum())} of {len(y)} points are cases of interest: PRIM needs some of each")
    with warnings.catch_warnings():
        # ema-workbench 3.0 calls a pandas API that pandas 3.1 deprecates; harmless, and not ours to fix.
        warnings.filterwarnings("ignore", message="The inplace keyword")
        prim = _prim_class()(x.reset_index(drop=True).astype(float), y, peel_alpha=peel_alpha, mass_min=mass_min)
        box = prim.find_box()
    pt = box.peeling_trajectory
    trajectory = pd.DataFrame(
        {
            "step": np.arange(len(pt)),
            "coverage": pt["coverage"].to_numpy(float),
            "density": pt["density"].to_numpy(float),
            "mass": pt["mass"].to_numpy(float),
            "restricted": pt["res_dim"].to_numpy(int),
        }
    )
    chosen = choose(trajectory, min_coverage)
    lims, full = box.box_lims[chosen], box.box_lims[0]
    qp = box.p_values[chosen] if chosen < len(box.p_values) else {}
    rows = []
    for name in x.columns:
        low, high = float(lims.loc[0, name]), float(lims.loc[1, name])
        f_low, f_high = float(full.loc[0, name]), float(full.loc[1, name])
        restricted = low > f_low or high < f_high
        p = qp.get(name) if isinstance(qp, dict) else None
        rows.append(
            {
                "parameter": name,
                "low": low,
                "high": high,
                "full_low": f_low,
                "full_high": f_high,
                "restricted": restricted,
                "quasi_p": float(np.max(p)) if restricted and p is not None else np.nan,
            }
        )
    limits = pd.DataFrame(rows).sort_values(["restricted", "quasi_p"], ascending=[False, True], ignore_index=True)
    return Discovery(trajectory, chosen, limits, int(y.sum()), len(y))


def tradeoff_figure(d: Discovery, caption: str) -> Figure:
    """Coverage against density for every peeling step, coloured by how many parameters are restricted."""
    fig = Figure(figsize=(6.5, 4.8), layout="constrained")
    ax = fig.subplots()
    t = d.trajectory
    ax.plot(t["coverage"], t["density"], color=GREY, lw=0.8, zorder=1)
    for k, colour in zip(sorted(t["restricted"].unique()), SERIES * 3, strict=False):
        s = t[t["restricted"] == k]
        ax.scatter(s["coverage"], s["density"], color=colour, s=22, zorder=2, label=f"{k} restricted")
    ax.scatter([d.coverage], [d.density], s=160, facecolors="none", edgecolors=BLACK, lw=1.5, zorder=3, label=f"chosen (step {d.chosen})")
    ax.set_xlabel("coverage (share of all cases of interest inside the box)")
    ax.set_ylabel("density (share of the box that is of interest)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    outside_legend(ax, fontsize=8, title="parameters", title_fontsize=8)
    ax.set_title(textwrap.fill(caption, 80), fontsize=9)
    return fig
