"""The aid-diplomacy model: a flood, the DPRK, seven donors, daily steps, many worlds at once.

Activation order each day (explicit, as in Mesa's wolf_sheep):
  1. scripted events move tension and relations (events.py);
  2. donors, in the fixed order of `params.DONORS`, offer or not and deliver accepted aid;
  3. the DPRK answers offers, takes up deferred ones, asks for help, relieves need itself;
  4. the day's aggregates are recorded.
Every agent holds one array element per replicate world; a world's random draws depend only on
(seed, replicate index, day), so results never depend on the batch a world runs in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import mesa
import numpy as np

from aidsim.model import flood
from aidsim.model.agents import DonorAgent, Dprk
from aidsim.model.events import apply_event, events_by_day
from aidsim.model.params import DONORS, Params
from aidsim.model.streams import Streams


class AidModel(mesa.Model):
    """One scenario over a batch of replicate worlds.

    Args:
        params: validated parameters (see params.py).
        replicates: which replicate indices to run: a count n (0..n-1) or explicit indices;
            default `params.replicates`.
        record: keep the daily history (need, relief, tension) for timelines and the app.
    """

    def __init__(self, params: Params, replicates: int | Sequence[int] | np.ndarray | None = None, record: bool = True):
        super().__init__(rng=int(params.seed))
        self.params = params
        if replicates is None:
            replicates = params.replicates
        ids = np.arange(int(replicates)) if isinstance(replicates, (int, np.integer)) else np.asarray(replicates, dtype=np.int64)
        self.replicate_ids = ids
        self.worlds = len(ids)
        self.streams = Streams(params.seed, ids)
        # dict(), not model_dump(): a sweep batch may hold per-world arrays here (sweep.stack).
        self.tension = dict(params.tension)
        self.relations = dict(params.relations)
        self.border_closed = params.access.border_closed  # a stance shock may seal or reopen it (events.py)
        self.self_reliance = params.access.self_reliance  # likewise declared or dropped by a stance shock
        self.applied_events: list[tuple[int, str]] = []
        self._events = events_by_day(params.events)

        draw = self.streams.uniform  # day 0 slots: damage, capacity, then one attitude per donor
        self.dprk = Dprk(self, need_u=draw(0, 0), capacity_u=draw(0, 1))
        self.visible = flood.visible_need(self.dprk.need0, params.flood.visibility)
        for i, d in enumerate(DONORS):
            DonorAgent(self, d, params.actors[d], attitude_u=draw(0, 2 + i))
        self.history = History(self) if record else None

    @property
    def day(self) -> int:
        """Days since the flood: Mesa's step counter (one step is one day)."""
        return self.steps

    @property
    def donors(self) -> Iterable[DonorAgent]:
        """The donors in activation order (the order of `params.DONORS`, in which they were created)."""
        return self.agents_by_type[DonorAgent]

    @property
    def done(self) -> bool:
        """Whether the horizon is reached."""
        return self.day >= self.params.horizon_days

    def step(self) -> None:
        """Advance every world by one day (Mesa counts the day in `steps` before calling this)."""
        for event in self._events.get(self.day, ()):
            apply_event(self, event)
        for donor in self.donors:
            donor.step()
        self.dprk.step()
        if self.history is not None:
            self.history.record(self)
        self.running = not self.done

    def run(self) -> AidModel:
        """Run to the horizon from wherever the model is (Mesa's `run_model`); returns the model."""
        self.running = not self.done
        self.run_model()
        return self

    def donor(self, donor_id: str) -> DonorAgent:
        """The donor agent with this id."""
        return next(d for d in self.donors if d.donor_id == donor_id)


class History:
    """Compact daily record: need and relief per world, tension and relations per day."""

    def __init__(self, model: AidModel):
        self.unmet: list[np.ndarray] = []
        self.domestic: list[np.ndarray] = []
        self.foreign: list[np.ndarray] = []
        self.tension: list[dict[str, float]] = []
        self.relations: list[dict[str, float]] = []
        self.record(model)

    def record(self, model: AidModel) -> None:
        d = model.dprk
        self.unmet.append(d.unmet.astype(np.float32))
        self.domestic.append(d.domestic.astype(np.float32))
        self.foreign.append(d.foreign.astype(np.float32))
        self.tension.append(dict(model.tension))
        self.relations.append(dict(model.relations))

    def array(self, name: str) -> np.ndarray:
        """A (days + 1, worlds) array of `unmet`, `domestic` or `foreign` (the last two cumulative)."""
        return np.stack(getattr(self, name))
