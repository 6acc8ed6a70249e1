"""Markdown reports and their figures: the validation report, the what-if report, PRIM boxes.

The numbers come in as tables computed elsewhere (analysis.validation, analysis.studies); this
module only lays them out, so every figure quoted in a report is one the command just measured.
Donor names and colours come from `report.style`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from aidsim.report.style import BLACK, BLUE, ORANGE, SERIES, VERMILLION, DonorNames, donor_label
from aidsim.report.style import OKABE_ITO as OKABE_ITO

LABELS = DonorNames(donor_label)
"""donor id -> its label in conf/actors (`report.style.donor_label`), for report tables and prose."""


def _pct(p: float) -> str:
    return f"{100 * p:.0f}%" if p >= 0.005 or p == 0 else "<1%"


def md_table(df: pd.DataFrame) -> str:
    """A pipe table (pandas' to_markdown needs the optional `tabulate`)."""
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


# --- scenario discovery ---------------------------------------------------------------------------


def discovery_markdown(box: Any, target: str, threshold: float, source: str) -> str:
    """The PRIM box in words and a table: coverage, density, restricted parameters and their ranges."""
    res = box.limits[box.limits["restricted"]]
    lines = [
        f"PRIM box for P({target}) >= {threshold:g}: coverage {box.coverage:.2f}, density {box.density:.2f}, "
        f"{len(res)} restricted parameter(s), peeling step {box.chosen} of {len(box.trajectory) - 1}",
        *(
            f"  {r.parameter} in [{r.low:.3g}, {r.high:.3g}] (full range [{r.full_low:.3g}, {r.full_high:.3g}]; "
            f"quasi-p {r.quasi_p:.1g}{'' if r.quasi_p <= 0.05 else ': not significant at 0.05'})"
            for r in res.itertuples()
        ),
        "",
        "## Details",
        f"Data: {source}. Cases of interest: {box.cases} of {box.points} points.",
        "Coverage: share of all cases of interest inside the box. Density: share of the box's points that are of interest.",
        "The box shown is the densest peeling step with coverage at or above `discover.min_coverage`; `trajectory.csv` and `tradeoff.png` show every step.",
        "",
        md_table(
            box.limits.assign(
                low=box.limits["low"].map("{:.3g}".format),
                high=box.limits["high"].map("{:.3g}".format),
                full_low=box.limits["full_low"].map("{:.3g}".format),
                full_high=box.limits["full_high"].map("{:.3g}".format),
                quasi_p=box.limits["quasi_p"].map(lambda p: "" if p != p else f"{p:.1e}"),
            )
        ),
        "",
    ]
    return "\n".join(lines)


# --- what-if ------------------------------------------------------------------------------------------


def whatif_bars(table: pd.DataFrame, caption: str) -> Figure:
    """P(any accepted) and P(Seoul accepted) per single change, baseline first, with Wilson intervals."""
    fig = Figure(figsize=(11, 0.45 * len(table) + 1.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    pos = np.arange(len(table))[::-1]
    # clip: at p = 0 or 1 the interval's near end equals p only up to rounding
    err = np.clip(np.vstack([table["p_any_accepted"] - table["p_any_low"], table["p_any_high"] - table["p_any_accepted"]]), 0, None)
    colours = [BLACK] + [BLUE] * (len(table) - 1)
    axes[0].barh(pos, table["p_any_accepted"], xerr=err, color=colours, capsize=3)
    axes[0].axvline(table["p_any_accepted"].iloc[0], color=VERMILLION, ls="--", lw=1)
    axes[0].set_yticks(pos, table["change"])
    axes[0].set_xlabel("P(any aid accepted within the horizon)\n(share of worlds, 95% Wilson interval)")
    axes[1].barh(pos, table["p_seoul_accepted"], color=[BLACK] + [ORANGE] * (len(table) - 1))
    axes[1].set_xlabel("P(Seoul's aid accepted)\n(share of worlds)")
    for ax in axes:
        ax.set_xlim(0, 1.0)
    fig.suptitle(caption, fontsize=9)
    return fig


def whatif_curve_figure(curves: pd.DataFrame, marks: Mapping[str, Any], ranges: Mapping[str, Any], caption: str) -> Figure:
    """P(any accepted) along each one-knob curve, with Wilson bands and the base value marked."""
    knobs = list(dict.fromkeys(curves["knob"]))
    cols = min(2, len(knobs))
    rows = -(-len(knobs) // cols)
    fig = Figure(figsize=(5.2 * cols, 3.4 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, sharey=True, squeeze=False)
    for ax, knob, colour in zip(axes.flat, knobs, SERIES * 2, strict=False):
        c = curves[curves["knob"] == knob]
        ax.fill_between(c["value"], c["low"], c["high"], color=colour, alpha=0.3, lw=0)
        ax.plot(c["value"], c["p_any_accepted"], color=colour, marker="o", ms=3)
        ax.axvline(marks[knob], color=BLACK, ls=":", lw=1, label=f"base ({marks[knob]})")
        r = ranges.get(knob)
        unit = getattr(r, "unit", "") if r is not None else ""
        if knob == "flood.severity":
            ax.set_xscale("log")
        ax.set_xlabel(f"{knob}" + (f" ({unit})" if unit else ""))
        ax.set_ylabel("P(any aid accepted)\n(share of worlds)")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(loc="upper left", fontsize=8)
    for ax in list(axes.flat)[len(knobs) :]:
        ax.set_visible(False)
    fig.suptitle(caption, fontsize=9)
    return fig


def whatif_markdown(
    study: Any, table: pd.DataFrame, curves: pd.DataFrame | None, marks: Mapping[str, Any], reps: int, seed: int, figures: Sequence[str | None]
) -> str:
    """The what-if report: each single change beside the baseline, ranked, with the figures."""
    base = table.iloc[0]
    ranked = table.iloc[1:].sort_values("p_any_accepted", ascending=False)
    best = ranked.iloc[0]
    levers = ranked[~ranked["set"].str.startswith("flood.")]  # what donors or politics could change; the flood is given
    t = pd.DataFrame(
        {
            "change": table["change"],
            "P(any accepted) [95% CI]": [f"{r.p_any_accepted:.3f} [{r.p_any_low:.3f}, {r.p_any_high:.3f}]" for r in table.itertuples()],
            "vs baseline": ["-"] + [f"{d:+.3f}" for d in table["delta_any"].iloc[1:]],
            "worlds gained / lost": ["-"] + [f"{r.gained} / {r.lost}" for r in table.iloc[1:].itertuples()],
            "P(Seoul accepted)": table["p_seoul_accepted"].map("{:.3f}".format),
            "P(ally accepted)": table["p_ally_accepted"].map("{:.3f}".format),
            "first accepted (share of acceptances)": [
                f"{LABELS.get(r.first_donor, r.first_donor)} ({r.first_donor_share:.0%})" if r.first_donor else "-" for r in table.itertuples()
            ],
            "domestic share": table["domestic_share"].map("{:.2f}".format),
        }
    )
    lines = [
        f"# What-if: {study.title or study.name}",
        "",
        f"Generated by `aidsim-analyze whatif study={study.name}` ({reps} worlds per row, seed {seed}; "
        f"base: `{' '.join(study.base) or 'defaults'}`). Each row changes one thing and keeps everything else as in the base; "
        "every row uses the same random streams (world r sees the same draws in every row), so differences come from the "
        "change, and 'worlds gained / lost' counts the worlds that accept some aid with the change but not in the baseline, "
        "and the reverse.",
        "",
        f"**Largest single effect on P(any aid accepted): {best['change']}** "
        f"({base['p_any_accepted']:.3f} -> {best['p_any_accepted']:.3f}, {best['delta_any']:+.3f}).",
        "",
    ]
    if len(levers):
        lever = levers.iloc[0]
        lines += [
            f"Among changes that are not the flood itself, the largest is: {lever['change']} "
            f"({base['p_any_accepted']:.3f} -> {lever['p_any_accepted']:.3f}, {lever['delta_any']:+.3f}; "
            f"95% interval [{lever['p_any_low']:.3f}, {lever['p_any_high']:.3f}] against the baseline's "
            f"[{base['p_any_low']:.3f}, {base['p_any_high']:.3f}]).",
            "",
        ]
    lines += [
        md_table(t),
        "",
        f"![P(any accepted) per change]({figures[0]})",
        "",
    ]
    if curves is not None and figures[1]:
        lines += ["## One knob at a time", ""]
        for knob in dict.fromkeys(curves["knob"]):
            c = curves[curves["knob"] == knob]
            lo, hi = c.iloc[0], c.iloc[-1]
            lines.append(
                f"- `{knob}` from {lo['value']:g} to {hi['value']:g} (base {marks[knob]}): "
                f"P(any accepted) {lo['p_any_accepted']:.3f} -> {hi['p_any_accepted']:.3f}"
            )
        lines += ["", f"![P(any accepted) along each knob]({figures[1]})", ""]
    seoul_best = table.iloc[1:].sort_values("p_seoul_accepted", ascending=False).iloc[0]
    inert = table.iloc[1:][(table["gained"].iloc[1:] == 0) & (table["lost"].iloc[1:] == 0)]
    lines += [
        "## Reading it",
        "",
        f"- The baseline accepts aid in {_pct(base['p_any_accepted'])} of worlds; the first aid taken is most often "
        f"{LABELS.get(base['first_donor'], base['first_donor']) or 'nobody'}'s. With the largest change it is "
        f"{LABELS.get(best['first_donor'], best['first_donor']) or 'nobody'}'s in {best['first_donor_share']:.0%} of accepting worlds.",
        f"- Seoul's own chance moves most with: {seoul_best['change']} ({base['p_seoul_accepted']:.3f} -> {seoul_best['p_seoul_accepted']:.3f}).",
    ]
    if len(inert):
        lines.append(
            f"- {len(inert)} change(s) flip no world at all: {'; '.join(inert['change'])}. In the model Seoul, the UN and NGOs "
            "sit below the allies on the DPRK's ladder, and in the baseline the DPRK turns past the allies (asks or accepts "
            f"international bodies, Seoul or Washington) in {_pct(base['p_past_allies'])} of worlds, so how those donors offer "
            "does not matter until the flood is larger (see the Sobol interaction of severity and tension for P(Seoul accepted) "
            "in `aidsim-analyze sensitivity`)."
        )
    lines += [
        "- These are model statements under the calibration in docs/validation.md, not forecasts: the model has no "
        "memory of earlier episodes, and its decision weights were fitted to the episode library (docs/episodes.md).",
        "",
    ]
    return "\n".join(lines)
