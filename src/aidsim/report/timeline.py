"""A scenario run's timeline (`timeline.png` of `aidsim`): need, offers and acceptances, tension.

Split in two so that the drawing can happen in another process (`cli.startup.FigureProcess`):
`timeline_data` reads what the figure shows from a finished model (numpy only, small enough to
send through a pipe), `timeline_figure` draws it (matplotlib is imported there, not at import).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from aidsim.model.ladder import NO_DAY
from aidsim.report.labels import NAMES
from aidsim.report.style import BLUE, DONOR_COLOURS, PURPLE, SKY, VERMILLION, donor_label, outside_legend, save

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from aidsim.model.model import AidModel

TENSION_KEYS = (("inter_korean", VERMILLION), ("us_dprk", PURPLE))


@dataclass(frozen=True)
class Timeline:
    """What the timeline shows, for all worlds of a run."""

    title: str
    worlds: int
    seed: int
    days: np.ndarray
    unmet_quantiles: np.ndarray  # 10%, 50%, 90% of worlds, per day
    offered: dict[str, np.ndarray]  # donor -> share of worlds offered by each day
    accepted: dict[str, np.ndarray]  # donor -> share of worlds accepted by each day
    tension: dict[str, list[float]]  # tension key -> value each day


def timeline_data(model: AidModel) -> Timeline:
    """Read the timeline's series from a model run with `record=True`."""
    if model.history is None:
        raise ValueError("timeline needs a model run with record=True")
    days = np.arange(model.day + 1)

    def by_day(day: np.ndarray) -> np.ndarray:
        happened = np.sort(day[day != NO_DAY])
        return np.searchsorted(happened, days, side="right") / model.worlds

    return Timeline(
        title=model.params.scenario.title or model.params.scenario.name,
        worlds=model.worlds,
        seed=model.params.seed,
        days=days,
        unmet_quantiles=np.quantile(model.history.array("unmet"), [0.1, 0.5, 0.9], axis=1),
        offered={d.donor_id: by_day(d.offer_day) for d in model.donors},
        accepted={d.donor_id: by_day(d.accept_day) for d in model.donors},
        tension={key: [t[key] for t in model.history.tension] for key, _ in TENSION_KEYS},
    )


def timeline_figure(data: Timeline) -> Figure:
    """Need over time, offers and acceptances per donor over time, and tension: all worlds."""
    from matplotlib.figure import Figure

    days, q = data.days, data.unmet_quantiles
    fig = Figure(figsize=(10.5, 10), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    ax = axes[0]
    ax.fill_between(days, q[0], q[2], color=SKY, alpha=0.3, label="10-90% of worlds")
    ax.plot(days, q[1], color=BLUE, label="median")
    ax.set_ylabel("unmet need\n(x July 2024 damage)")
    title = textwrap.fill(data.title, 100)  # the run's full title can be long
    fig.suptitle(f"{title}\n{data.worlds} worlds, seed {data.seed}", fontsize=11)
    outside_legend(ax, fontsize=8)
    ax = axes[1]
    for donor, offered in data.offered.items():
        c = DONOR_COLOURS[donor]
        ax.plot(days, offered, color=c, ls="--", lw=1)
        ax.plot(days, data.accepted[donor], color=c, lw=2, label=donor_label(donor, short=True))
    ax.set_ylabel("share of worlds\n(dashed: offered, solid: accepted)")
    ax.set_ylim(-0.02, 1.02)
    outside_legend(ax, fontsize=8)
    ax = axes[2]
    for key, colour in TENSION_KEYS:
        ax.step(days, data.tension[key], where="post", color=colour, label=NAMES[f"tension.{key}"])
    ax.set_ylabel("tension (0-1)")
    ax.set_xlabel("days since the flood")
    ax.set_ylim(-0.02, 1.02)
    outside_legend(ax, fontsize=8)
    return fig


def warm_up() -> None:
    """Import what drawing and writing need (a second process does this while Mesa loads)."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    import aidsim.runs.store  # noqa: F401  (`save` writes through it)


def save_timeline(data: Timeline, path: Path) -> None:
    """Draw and write `timeline.png`. Constrained layout keeps the outside legends inside the
    canvas, so the figure is drawn once (cropping to what was drawn would draw it twice)."""
    save(timeline_figure(data), path, tight=False)
