"""Scripted events: exercises, summits, nuclear tests that move tension and relations mid-run.

Each scenario lists its events with a day (conf/events/). An event adds its deltas and the result
is clipped to [0, 1]; donors then recompute how hostile and how close Pyongyang holds them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from aidsim.model.ladder import Num
from aidsim.model.params import Event

if TYPE_CHECKING:
    from aidsim.model.model import AidModel


def events_by_day(events: list[Event]) -> dict[int, list[Event]]:
    """Group events by the day they fire, keeping their configured order within a day."""
    out: dict[int, list[Event]] = defaultdict(list)
    for e in events:
        out[e.day].append(e)
    return dict(out)


def shifted(levels: dict[str, Num], deltas: Mapping[Any, float]) -> dict[str, Num]:
    """Levels moved by deltas, clipped to [0, 1]; a level may be one number or one per world."""
    return {k: np.clip(v + deltas[k], 0.0, 1.0) if k in deltas else v for k, v in levels.items()}


def apply_event(model: AidModel, event: Event) -> None:
    """Apply one event to a model's tension and relations, and let donors re-read them."""
    model.tension = shifted(model.tension, event.tension)
    model.relations = shifted(model.relations, event.relations)
    if event.border_closed is not None:  # a stance shock: "no outside assistance whatsoever"
        model.border_closed = event.border_closed
    if event.self_reliance is not None:  # a declared line: recovery is the state's own work
        model.self_reliance = event.self_reliance
    model.applied_events.append((model.day, event.name))
    for donor in model.donors:
        donor.refresh()
