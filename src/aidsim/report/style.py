"""The one home of the look of every figure and the names of every donor.

- `PALETTE`: the Okabe-Ito palette (colour-blind safe), in its usual order; the named colours
  below are its members. `SERIES`: the same without its yellow (faint on white), in an order that
  keeps neighbours distinct, for lines and bars drawn one after another.
- `DONOR_COLOURS`, `RESPONSE_COLOURS`, `RESPONSE_LABELS`: one colour per donor and per response,
  and the words for each response.
- `donor_label(donor_id, short=False)`: the `label:` of the donor's actor profile in
  `conf/actors/default.yaml`, or the run's own after `use_names` (its `short:` with `short=True`,
  else the label without a bracketed aside: "Seoul (Korean Red Cross)" -> "Seoul").
- `save(fig, path)`: the one figure writer (atomic; the format from the suffix).
- Axes that do not mislead: `wants_log` (the one rule for which knobs go on a log axis), `log_axis` (a log scale
  with round plain ticks, 0.3 1 3 10 30 100, from `round_log_ticks`), `day_limits` (a days axis or colour scale spans at least
  `MIN_DAY_SPAN`, so a one-day difference does not fill it), `outside_legend` (a legend right of
  the axes, over no data), `mark_value` (a reference value named where it has room).

Matplotlib is used without pyplot: figures are `matplotlib.figure.Figure` objects, so nothing here
picks a backend or keeps figures alive in a global registry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aidsim.model.params import DONORS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
BLACK = "#000000"
GREY = "#BBBBBB"
DARK_GREY = "#555555"
"""For marks and notes drawn over the data (reference lines, outlines)."""
WHITE = "#FFFFFF"

PALETTE: tuple[str, ...] = (ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE, BLACK)
"""Okabe-Ito, in its usual order."""
SERIES: tuple[str, ...] = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK)
"""Okabe-Ito without its yellow, which is faint on white, in an order that keeps neighbours distinct."""

DONOR_COLOURS: dict[str, str] = {
    "russia": BLACK,
    "china": GREEN,
    "south_korea": ORANGE,
    "united_states": PURPLE,
    "un_agencies": SKY,
    "red_cross": VERMILLION,
    "ngos": BLUE,
}
"""One colour per donor: SERIES's seven (no yellow: too faint for a line on white), placed so the
donors most often accepted together (the allies, the international bodies) get the pairs that stay
far apart under red-green colour blindness; the close pairs (orange-vermillion, sky-blue,
purple-blue) fall on donors that seldom matter at once. Moscow and the Red Cross, once orange and
vermillion, are black and vermillion (CIEDE2000 about 49, 42 under protanopia)."""
ANY_DONOR_COLOUR = GREY
"""'Any donor' in plots that also draw each donor: a broad grey line under theirs (black is Moscow's)."""
NONE_COLOUR = WHITE
"""Cells or worlds where no donor's aid was accepted."""

RESPONSE_COLOURS: dict[str, str] = {
    "accepted": GREEN,
    "deferred": SKY,
    "ignored": ORANGE,
    "rejected": VERMILLION,
    "not_offered": GREY,
}
RESPONSE_LABELS: dict[str, str] = {
    "accepted": "accepted",
    "deferred": "deferred (thanks, door open)",
    "ignored": "ignored (silence)",
    "rejected": "rejected",
    "not_offered": "not offered",
}

DPI = 150
MIN_DAY_SPAN = 10.0
"""The least span of an axis or colour scale in days."""
LOG_SCALE = " (log scale)"
"""Appended to the label of a log-scaled axis."""
LOG_MIN_SPAN = 10.0
"""The least ratio of a knob's largest to smallest value for a log axis (`wants_log`)."""


_run_profiles: dict[str, dict[str, Any]] = {}
"""The names of the run this process draws (`use_names`); empty: the shipped profiles'."""


@cache
def _shipped_profiles() -> dict[str, dict[str, Any]]:
    """The actor profiles of the config tree (read once)."""
    import yaml

    from aidsim.model.config import conf_dir

    # libyaml's loader when present: a tenth of OmegaConf.load's 40 ms in every run that names a donor
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = yaml.load((conf_dir() / "actors" / "default.yaml").read_text(encoding="utf-8"), Loader=loader)
    data = doc.get("actors") if isinstance(doc, dict) else None
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}


def _profiles() -> dict[str, dict[str, Any]]:
    return _run_profiles or _shipped_profiles()


def use_names(actors: Mapping[Any, Any]) -> None:
    """Name donors, for the rest of this process, as a composed config's `actors` does (each with
    a `label` and maybe a `short`, as mappings or objects): a run's own `actors.russia.short=...`
    or a copied config tree then reaches every title, legend and dispatch, not only the settings."""

    def fields(a: Any) -> dict[str, Any]:
        return {k: a.get(k) if isinstance(a, Mapping) else getattr(a, k, None) for k in ("label", "short")}

    _run_profiles.clear()
    _run_profiles.update({str(d): fields(a) for d, a in actors.items()})


def donor_label(donor_id: str, short: bool = False) -> str:
    """A donor's display name from its actor profile; unknown ids come back unchanged.

    `short`: the profile's `short:` if it has one, else the label without a bracketed aside."""
    profile = _profiles().get(donor_id) or {}
    label = str(profile.get("label") or donor_id)
    if not short:
        return label
    return str(profile.get("short") or re.sub(r"\s*\(.*\)\s*$", "", label) or label)


def save(fig: Figure, path: Path | str, dpi: int = DPI, tight: bool = True) -> Path:
    """Write a figure atomically (temp file + rename), in the format its suffix names.

    `tight` crops to what was drawn, which takes a second full drawing; a figure whose layout engine
    already fits everything inside its canvas can pass False and be drawn once."""
    from aidsim.runs.store import atomic_write

    path = Path(path)
    crop = "tight" if tight else None
    return atomic_write(path, lambda p: fig.savefig(p, dpi=dpi, bbox_inches=crop, format=path.suffix.lstrip(".")))


class DonorNames(Mapping[str, str]):
    """A read-only map donor id -> `name(id)`, looked up on use (building it reads no config).

    For code that indexes names (`names[donor]`, `names.get(donor, donor)`); iterates in `DONORS` order."""

    def __init__(self, name: Callable[[str], str] = donor_label):
        self._name = name

    def __getitem__(self, donor_id: str) -> str:
        if donor_id not in DONORS:
            raise KeyError(donor_id)
        return self._name(donor_id)

    def __iter__(self) -> Iterator[str]:
        return iter(DONORS)

    def __len__(self) -> int:
        return len(DONORS)


def round_log_ticks(lo: float, hi: float) -> list[float]:
    """The round values (1 and 3 times a power of ten: 0.3, 1, 3, 10, 30, 100) from lo to hi."""
    if not 0 < lo <= hi:
        return []
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    # round(): 3 * 10**-1 is 0.30000000000000004, which would print as such in a label
    ticks = (round(m * 10.0**e, max(0, -e) + 1) for e in range(first, last + 1) for m in (1, 3))
    return [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]


def wants_log(values: Iterable[float]) -> bool:
    """Whether a knob's values belong on a log axis: the one rule for line plots and heatmaps.

    Yes if the values are all positive, span at least `LOG_MIN_SPAN`-fold (largest / smallest), and
    are spread evenly in log rather than linear terms: log-spaced steps (`runs.designs.log_spaced`:
    0.3 1 3 10 30 100), or severity-like ones whose median lies nearer the geometric than the
    arithmetic middle (1 10 40, a log-uniform sample, 0.3 0.5 1 2 5 10). Not a uniform sample of 0..1
    whose smallest draw happens to be tiny, nor steps like 0.1 0.5 1."""
    import numpy as np

    from aidsim.runs.designs import log_spaced

    try:
        v = np.sort(np.asarray(list(values), dtype=float))
    except (TypeError, ValueError):  # a text knob (a channel, a preset's name)
        return False
    if len(v) < 2 or v[0] <= 0 or v[-1] / v[0] < LOG_MIN_SPAN:
        return False
    if log_spaced(v.tolist()):
        return True
    median = float(np.median(v))
    return abs(math.log(median / math.sqrt(v[0] * v[-1]))) < abs(math.log((v[0] + v[-1]) / 2 / median))


def log_axis(ax: Axes, axis: str = "x") -> None:
    """Put an axis on a log scale with round plain-number ticks (`round_log_ticks` over its current
    limits) instead of matplotlib's powers of ten; call after the data are drawn."""
    from matplotlib.ticker import NullFormatter

    scale, limits, which = (ax.set_xscale, ax.get_xlim, ax.xaxis) if axis == "x" else (ax.set_yscale, ax.get_ylim, ax.yaxis)
    scale("log")
    lo, hi = limits()
    ticks = round_log_ticks(lo, hi)
    (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks, [f"{t:g}" for t in ticks])
    which.set_minor_formatter(NullFormatter())


def day_limits(lo: float, hi: float, span: float = MIN_DAY_SPAN) -> tuple[float, float]:
    """Limits for an axis or colour scale of days holding lo..hi and spanning at least `span` days
    (widened evenly, never below day 0): a one-day difference is not drawn as the whole range."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, span
    if hi - lo >= span:
        return lo, hi
    low = max(0.0, (lo + hi) / 2 - span / 2)
    return low, low + span


def mark_value(ax: Axes, x: float, text: str, colour: str = DARK_GREY) -> None:
    """A dotted vertical line at `x` named at its top, the name on the side with room (so it stays
    inside the axes); call once the axis's scale and limits are set."""
    ax.axvline(x, color=colour, ls=":", lw=1)
    right_half = ax.transAxes.inverted().transform(ax.transData.transform((x, 0)))[0] > 0.5
    label, side = (f"{text} ", "right") if right_half else (f" {text}", "left")
    ax.text(x, 0.99, label, transform=ax.get_xaxis_transform(), fontsize=8, va="top", ha=side, color=colour)


def outside_legend(ax: Axes, **kwargs: Any) -> None:
    """The axes' legend to the right of them, over no data (constrained layout makes the room)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False, **kwargs)
