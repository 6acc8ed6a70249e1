"""The one home of the look of every figure and the names of every donor.

- `PALETTE`: the Okabe-Ito palette (colour-blind safe), in its usual order; the named colours
  below are its members. `SERIES`: the same without its yellow (faint on white), in an order that
  keeps neighbours distinct, for lines and bars drawn one after another.
- `DONOR_COLOURS`, `RESPONSE_COLOURS`, `RESPONSE_LABELS`: one colour per donor and per response,
  and the words for each response.
- `donor_label(donor_id, short=False)`: the `label:` of the donor's actor profile in
  `conf/actors/default.yaml` (its `short:` with `short=True`, else the label without a bracketed
  aside: "Seoul (Korean Red Cross)" -> "Seoul").
- `save(fig, path)`: the one figure writer (atomic; the format from the suffix).

Matplotlib is used without pyplot: figures are `matplotlib.figure.Figure` objects, so nothing here
picks a backend or keeps figures alive in a global registry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aidsim.model.params import DONORS

if TYPE_CHECKING:
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
OKABE_ITO = PALETTE
SERIES: tuple[str, ...] = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK)
"""Okabe-Ito without its yellow, which is faint on white, in an order that keeps neighbours distinct."""

DONOR_COLOURS: dict[str, str] = dict(zip(DONORS, PALETTE, strict=False))
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


@cache
def _profiles() -> dict[str, dict[str, Any]]:
    """The actor profiles of the config tree (read once)."""
    from omegaconf import OmegaConf

    from aidsim.model.config import conf_dir

    actors = OmegaConf.select(OmegaConf.load(conf_dir() / "actors" / "default.yaml"), "actors", default=None)
    data = OmegaConf.to_container(actors) if actors is not None else {}
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}


def donor_label(donor_id: str, short: bool = False) -> str:
    """A donor's display name from its actor profile; unknown ids come back unchanged.

    `short`: the profile's `short:` if it has one, else the label without a bracketed aside."""
    profile = _profiles().get(donor_id) or {}
    label = str(profile.get("label") or donor_id)
    if not short:
        return label
    return str(profile.get("short") or re.sub(r"\s*\(.*\)\s*$", "", label) or label)


def save(fig: Figure, path: Path | str, dpi: int = DPI) -> Path:
    """Write a figure atomically (temp file + rename), in the format its suffix names."""
    from aidsim.runs.store import atomic_write

    path = Path(path)
    return atomic_write(path, lambda p: fig.savefig(p, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".")))


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
