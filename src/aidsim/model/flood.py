"""The flood: the humanitarian need it creates and how the DPRK's own capacity works it down.

Need is measured in "2024 units": `flood.severity = 1` is the Amnok damage of July 2024 (over 4,000
homes flooded, about 5,000 people cut off); 2007 and 2016 were roughly 50-100 times that in people
affected (docs/model.md, pattern P5). Domestic capacity is what the state can deliver a day
once mobilised; mobilisation ramps up over the first days (the airlift of day 1, then rebuilding).
"""

from __future__ import annotations

import numpy as np

from aidsim.model.params import Flood, Ladder
from aidsim.model.streams import lognormal


def initial_need(flood: Flood, u: np.ndarray) -> np.ndarray:
    """Need on day 0 in each world: the nominal severity times a mean-one damage factor."""
    return flood.severity * lognormal(u, flood.severity_spread)


def inflow(need0: np.ndarray, day: int, onset_days: int) -> np.ndarray | float:
    """Need added on `day`: the damage arrives evenly over the flood's first `onset_days` days
    (rains fell for about a week in 2007; the 2016 typhoon floods ran five days)."""
    return need0 / onset_days if day < onset_days else 0.0


def full_capacity(ladder: Ladder, u: np.ndarray) -> np.ndarray:
    """Relief the state can deliver a day at full mobilisation, varying between worlds."""
    return ladder.capacity * lognormal(u, ladder.capacity_spread)


def mobilised(capacity: np.ndarray, day: int, mobilisation_days: int | np.ndarray) -> np.ndarray:
    """Capacity available on `day`: a linear ramp to full capacity over `mobilisation_days`."""
    return capacity * np.minimum(1.0, day / mobilisation_days)


def pressure(unmet: np.ndarray, capacity: np.ndarray, planning_days: float) -> np.ndarray:
    """Unmet need relative to what the state can clear on its own within its planning window.

    Below 1 the state can plausibly say "everything is under control"; the ladder's thresholds
    are expressed on this scale.
    """
    return unmet / (capacity * planning_days)


def visible_need(need0: np.ndarray, visibility: float) -> np.ndarray:
    """What outsiders can see of the damage: a closed state hides part of it (casualty figures
    were disputed and rumours denied in 2024), so donors react to a discounted signal."""
    return need0 * visibility
