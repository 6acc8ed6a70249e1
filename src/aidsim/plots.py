"""Figures for one scenario run. Colour-blind-safe (Okabe-Ito), labelled axes with units."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from aidsim.agents import NO_DAY  # noqa: E402
from aidsim.model import AidModel  # noqa: E402
from aidsim.narrative import WHO  # noqa: E402
from aidsim.params import DONORS  # noqa: E402

OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
DONOR_COLOURS = dict(zip(DONORS, OKABE_ITO, strict=False))


def timeline_figure(model: AidModel) -> plt.Figure:
    """Need over time, offers and acceptances per donor over time, and tension: all worlds."""
    if model.history is None:
        raise ValueError("timeline needs a model run with record=True")
    days = np.arange(model.day + 1)
    unmet = model.history.array("unmet")
    fig, axes = plt.subplots(3, 1, figsize=(9, 10), sharex=True, constrained_layout=True)
    ax = axes[0]
    q = np.quantile(unmet, [0.1, 0.5, 0.9], axis=1)
    ax.fill_between(days, q[0], q[2], color="#56B4E9", alpha=0.3, label="10-90% of worlds")
    ax.plot(days, q[1], color="#0072B2", label="median")
    ax.set_ylabel("unmet need\n(x July 2024 damage)")
    ax.set_title(f"{model.params.scenario.title or model.params.scenario.name}: {model.worlds} worlds, seed {model.params.seed}")
    ax.legend(loc="upper right")
    ax = axes[1]
    for donor in model.donors:
        c = DONOR_COLOURS[donor.donor_id]
        offered = [(np.count_nonzero((donor.offer_day != NO_DAY) & (donor.offer_day <= t))) / model.worlds for t in days]
        accepted = [(np.count_nonzero((donor.accept_day != NO_DAY) & (donor.accept_day <= t))) / model.worlds for t in days]
        ax.plot(days, offered, color=c, ls="--", lw=1)
        ax.plot(days, accepted, color=c, lw=2, label=WHO[donor.donor_id])
    ax.set_ylabel("share of worlds\n(dashed: offered, solid: accepted)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="center right", fontsize=8, ncols=2)
    ax = axes[2]
    for key, colour in (("inter_korean", "#D55E00"), ("us_dprk", "#CC79A7")):
        ax.step(days, [t[key] for t in model.history.tension], where="post", color=colour, label=f"tension: {key.replace('_', '-')}")
    ax.set_ylabel("tension (0-1)")
    ax.set_xlabel("days since the flood")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="lower right")
    return fig


def save(fig: plt.Figure, path: Path) -> Path:
    """Save a figure atomically and close it."""
    from aidsim.store import atomic_write

    atomic_write(Path(path), lambda p: fig.savefig(p, dpi=120, format=Path(path).suffix.lstrip(".")))
    plt.close(fig)
    return Path(path)
