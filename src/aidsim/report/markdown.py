"""Markdown reports and their figures: the validation report, the what-if report, PRIM boxes.

The numbers come in as tables computed elsewhere (analysis.validation, analysis.studies); this
module only lays them out, so every figure quoted in a report is one the command just measured.
Donor names and colours come from `report.style`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt  # only calibration_figure still draws through pyplot
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from aidsim.report.style import BLACK, BLUE, ORANGE, SERIES, VERMILLION, DonorNames, donor_label
from aidsim.report.style import OKABE_ITO as OKABE_ITO
from aidsim.runs.tables import RESPONSES

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
        "memory of earlier episodes and was tuned on the three recorded ones.",
        "",
    ]
    return "\n".join(lines)


# --- validation --------------------------------------------------------------------------------------


def calibration_figure(df: pd.DataFrame, caption: str) -> plt.Figure:
    """Left: reliability of all predicted response shares (binned). Right: P(recorded response) per donor."""
    probs = df[[f"p_{r}" for r in RESPONSES]].to_numpy().ravel()
    hits = np.array([[obs == r for r in RESPONSES] for obs in df["observed"]]).ravel().astype(float)
    edges = np.linspace(0, 1, 6)
    which = np.clip(np.digitize(probs, edges) - 1, 0, len(edges) - 2)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True, gridspec_kw={"width_ratios": [1, 1.3]})
    ax = axes[0]
    ax.plot([0, 1], [0, 1], color="#999999", ls="--", lw=1, label="perfect calibration")
    for b in range(len(edges) - 1):
        m = which == b
        if m.any():
            ax.scatter(probs[m].mean(), hits[m].mean(), s=20 + 6 * m.sum(), color=OKABE_ITO[4], alpha=0.8, zorder=3)
            ax.annotate(f"n={m.sum()}", (probs[m].mean(), hits[m].mean()), textcoords="offset points", xytext=(6, -12), fontsize=8)
    ax.set_xlabel("predicted share of worlds (mean in bin)")
    ax.set_ylabel("observed frequency in bin\n(share of (donor, response) pairs recorded)")
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("reliability: every (episode, donor, response) share", fontsize=9)
    ax = axes[1]
    episodes = list(dict.fromkeys(df["episode"]))
    colour = dict(zip(episodes, (OKABE_ITO[0], OKABE_ITO[2], OKABE_ITO[5], OKABE_ITO[6]), strict=False))
    pos = np.arange(len(df))[::-1]
    ax.barh(pos, df["p_observed"], color=[colour[e] for e in df["episode"]])
    ax.set_yticks(pos, [f"{e} {LABELS.get(d, d)} ({o})" for e, d, o in zip(df["episode"], df["donor"], df["observed"], strict=True)], fontsize=7)
    ax.axvline(0.5, color="black", ls=":", lw=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("model's share of worlds with the recorded response")
    ax.set_title("P(recorded response) per donor", fontsize=9)
    fig.suptitle(caption, fontsize=9)
    return fig


def climatology_brier(df: pd.DataFrame) -> float:
    """Brier score of a no-model forecast: every donor gets the pooled frequency of the recorded responses."""
    freq = df["observed"].value_counts(normalize=True).reindex(list(RESPONSES), fill_value=0.0)
    return float(np.mean([sum((freq[r] - (obs == r)) ** 2 for r in RESPONSES) for obs in df["observed"]]))


def validation_markdown(df: pd.DataFrame, episodes: Sequence[Any], replicates: int, seed: int, commit: str, figure: str | None) -> str:
    """docs/validation.md: per episode the record beside the model's distribution, scores, and what it gets wrong."""
    acc = float((df["predicted_mode"] == df["observed"]).mean())
    brier = float(df["brier"].mean())
    lines = [
        "# Validation against recorded episodes",
        "",
        f"Generated by `aidsim-validate report=true` ({replicates} worlds per episode, seed {seed}, commit `{commit}`). "
        "Each recorded episode (`conf/episode/*.yaml`) is run as its scenario; for every donor with a recorded "
        "response the model's distribution of final responses is set beside the record. Accuracy: share of donors whose "
        "most likely response is the recorded one. Brier: multi-class Brier score (sum over the five responses of the "
        "squared gap between predicted share and 0/1 outcome), averaged over donors; 0 is perfect, 2 is the worst, "
        "a uniform guess scores 0.8.",
        "",
        f"**Overall: accuracy {acc:.3f}, Brier {brier:.3f}** over {len(df)} donor responses in {len(episodes)} episodes "
        f"(a no-model forecast that gives every donor the pooled frequency of recorded responses scores {climatology_brier(df):.3f}).",
        "",
    ]
    if figure:
        lines += [f"![calibration]({figure})", ""]
    titles = {e.name: e.title for e in episodes}
    for name, g in df.groupby("episode", sort=False):
        ep_acc = float((g["predicted_mode"] == g["observed"]).mean())
        t = pd.DataFrame(
            {
                "donor": g["donor"].map(lambda d: LABELS.get(d, d)),
                "recorded": g["observed"],
                **{r: g[f"p_{r}"].map(_pct) for r in RESPONSES},
                "model's mode": g["predicted_mode"],
                "P(recorded)": g["p_observed"].map("{:.2f}".format),
                "Brier": g["brier"].map("{:.3f}".format),
                "asked by DPRK": g["p_requested"].map(_pct),
                "median accept day": g["median_accept_day"].map(lambda v: "-" if v != v else f"{v:.0f}"),
            }
        )
        lines += [
            f"## {titles.get(name, name)} (`{name}`)",
            "",
            f"Accuracy {ep_acc:.2f}, Brier {g['brier'].mean():.3f}. Columns `accepted` ... `not_offered`: share of model worlds "
            "ending in that response; 'asked by DPRK': share of worlds in which Pyongyang itself requested aid from this donor; "
            "'median accept day': among worlds where it was accepted.",
            "",
            md_table(t),
            "",
        ]
    lines += wrong_section(df)
    return "\n".join(lines)


def wrong_section(df: pd.DataFrame) -> list[str]:
    """What the model gets wrong and why, quoting the numbers of this run."""
    weak = df.sort_values("p_observed").head(4)
    weak_txt = "; ".join(
        f"{r.episode} {LABELS.get(r.donor, r.donor)}: {r.p_observed:.2f} on the recorded '{r.observed}' (Brier {r.brier:.2f})" for r in weak.itertuples()
    )
    silent = df[(df["observed"] == "ignored") & (df["p_rejected"] > 0.05)]
    silent_txt = ", ".join(f"{LABELS.get(r.donor, r.donor)} {r.p_rejected:.0%}" for r in silent.itertuples())
    asked = df[(df["episode"] != "amnok_2024") & df["donor"].isin(["un_agencies"]) & (df["observed"] == "accepted")]
    asked_txt = " and ".join(f"{r.p_requested:.0%} ({r.episode})" for r in asked.itertuples())
    sharp = df[df["p_observed"] >= 0.95]
    fast = df[(df["observed"] == "accepted") & df["donor"].isin(["china", "russia"])]
    fast_txt = ", ".join(
        f"{r.episode} {LABELS[r.donor]} day {r.median_accept_day:.0f}" for r in fast.itertuples() if r.median_accept_day == r.median_accept_day
    )
    lines = [
        "## What the model gets wrong, and why",
        "",
        "- **These scores are in-sample.** The three episodes are the ones the parameters were set against "
        "(docs/model.md), so a perfect accuracy here says the calibration hit its targets, not that the model predicts. "
        f"{len(df)} donor responses from three episodes are not independent tests: within an episode they share one context. "
        "No held-out episode exists yet; a fourth recorded episode (e.g. 1995-96, 2010, 2012) scored without retuning would be the first real test.",
        f"- **Coin flips where the record is clear.** The weakest calls: {weak_txt}. The model splits these donors between "
        "acceptance and deferral or silence because their offers sit near the DPRK's threshold in those contexts; the record "
        "has one outcome, which a share near one half scores only moderately.",
        f"- **Over-confident where the decision is near-certain.** {len(sharp)} of {len(df)} recorded responses get >= 95% "
        f"of worlds ({(sharp['episode'] == 'amnok_2024').sum()} of them in 2024). "
        "The spread between worlds (decision noise, damage spread) is small next to the "
        "2024 context (very high tension, small flood), so the model leaves little room for surprise there; with one "
        "observation per donor that cannot be checked against a frequency.",
        (
            f"- **Explicit refusals that did not happen.** Where the record shows silence, the model still has Pyongyang "
            f"say an explicit no in some worlds ({silent_txt}): the rule that sends mid-hostility offers to silence or "
            "rejection by a fixed chance (`dprk.explicit_rejection_prob`) is blunt."
            if len(silent)
            else "- **Explicit refusals.** Where the record shows silence, the model rarely answers with an explicit no."
        ),
        (
            f"- **Who asks whom.** In the big floods the DPRK asked UN agencies itself; in the model it requests "
            f"them in only {asked_txt} of worlds, because its requests go down the ladder (allies first) and an ally's "
            "offer usually arrives before pressure reaches the international rung. The final response still matches, so "
            "the accuracy score does not see this."
            if len(asked)
            else ""
        ),
        (
            f"- **Timing.** Allies' aid is accepted within days in the model ({fast_txt}), while the record has China's "
            "supplies around day 24 (2007) and day 30 (2016) and Russia's food around day 77 (2016). Only final responses are "
            "scored, so the validation is silent on timing; read the model's days as 'early' versus 'late', not as dates."
            if fast_txt
            else ""
        ),
        "- **No memory.** Each episode starts from its configured tension and relations; nothing carries over from earlier "
        "floods (2007's aid, the 2020 border closure, past monitoring disputes). Reputation and learning, which plausibly "
        "shape 2024's silence toward Seoul, enter only through the hand-set context values.",
        "- **Recorded responses are themselves coarse.** One label per donor per episode hides sequences (thanks first, "
        "acceptance weeks later) and offers that were never clearly made; 'not_offered' and 'ignored' are sometimes hard "
        "to tell apart in press reports.",
        "",
    ]
    return _spaced(lines)


def _spaced(lines: list[str]) -> list[str]:
    """Drop empty bullets (conditions that did not apply); keep the heading's blank line."""
    return [lines[0], ""] + [ln for ln in lines[2:] if ln] + [""]
