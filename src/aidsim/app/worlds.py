""" "Many worlds" for the classroom: the same settings over many replicate worlds at once.

Three questions a class asks after watching one world: how typical was it (each donor's outcome
over 1,000 worlds), where would it go differently (a heatmap over two knobs), and did the student
at the table do better than the model's donor would have (the same decision replayed in every world).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aidsim.app.session import KNOB, WORLD, Classroom, SeatDecision, preset_config, settings_params
from aidsim.model.model import AidModel
from aidsim.runs import tables
from aidsim.runs.batch import evaluate

WORLDS = 1000
HEATMAP_WORLDS = 200
HEATMAP_CELLS = 5


_SHARES: OrderedDict[tuple, tuple[pd.DataFrame, float]] = OrderedDict()
_SHARES_LOCKS: dict[tuple, threading.Lock] = {}
_SHARES_GUARD = threading.Lock()
SHARES_CACHE = 256
"""Settings whose many-worlds shares are kept: a class on one preset and seed computes them once."""


def outcome_shares(preset: str, knobs: dict[str, float], seed: int, worlds: int = WORLDS) -> tuple[pd.DataFrame, float]:
    """Share of worlds in which each donor's offer met each answer (rows: donors, columns:
    tables.RESPONSES), and the seconds it took. The result depends only on the settings and the
    seed, so it is computed once for all tabs (thirty tabs asking at once wait for one run)."""
    key = (preset, tuple(sorted(knobs.items())), int(seed), int(worlds))
    with _SHARES_GUARD:
        lock = _SHARES_LOCKS.setdefault(key, threading.Lock())
    with lock:
        with _SHARES_GUARD:
            if key in _SHARES:
                _SHARES.move_to_end(key)
                shares, seconds = _SHARES[key]
                return shares.copy(), seconds
        t0 = time.perf_counter()
        model = AidModel(settings_params(preset, knobs, seed, worlds), record=False).run()
        result = _shares(tables.responses(model)), time.perf_counter() - t0
        with _SHARES_GUARD:
            _SHARES[key] = result
            while len(_SHARES) > SHARES_CACHE:
                old, _ = _SHARES.popitem(last=False)
                _SHARES_LOCKS.pop(old, None)
        return result[0].copy(), result[1]


def _shares(resp: pd.DataFrame) -> pd.DataFrame:
    return tables.summary(resp)[list(tables.RESPONSES)]


def grid_values(key: str, cells: int = HEATMAP_CELLS) -> list[float]:
    """Evenly spread values of a knob for the heatmap (its listed values, thinned, for log-scale knobs)."""
    knob = KNOB[key]
    if knob.values:
        idx = np.linspace(0, len(knob.values) - 1, cells).round().astype(int)
        return [float(knob.values[i]) for i in idx]
    return [round(float(v), 3) for v in np.linspace(knob.lo + 0.1, knob.hi - 0.1, cells)]


@dataclass(frozen=True)
class Heatmap:
    x: str
    y: str
    xs: list[float]
    ys: list[float]
    donor: str | None  # None: any donor
    share: np.ndarray  # (len(ys), len(xs)): share of worlds in which the donor's aid (any aid) was accepted
    worlds: int
    seconds: float


def heatmap(preset: str, knobs: dict[str, float], seed: int, x: str, y: str, donor: str | None, worlds: int = HEATMAP_WORLDS) -> Heatmap:
    """Share of worlds with aid accepted (from `donor`, or from anyone) over a grid of two knobs,
    the other settings held where the sliders are."""
    if x == y:
        raise ValueError(f"heatmap: pick two different knobs (both are {x})")
    t0 = time.perf_counter()
    xs, ys = grid_values(x), grid_values(y)
    fixed = {k: v for k, v in knobs.items() if k not in (x, y)}
    cells = [{x: xv, y: yv, **fixed, "seed": int(seed), "replicates": int(worlds)} for yv in ys for xv in xs]
    runs, resp = evaluate(preset_config(preset), cells)
    if donor is None:
        per_cell = runs.groupby("cell")["any_accepted"].mean()
    else:
        mine = resp[resp["donor"] == donor]
        per_cell = (mine["response"] == "accepted").groupby(mine["cell"]).mean()
    share = per_cell.reindex(range(len(cells))).to_numpy(dtype=float).reshape(len(ys), len(xs))
    return Heatmap(x, y, xs, ys, donor, share, worlds, time.perf_counter() - t0)


def play_decisions(model: AidModel, donor_id: str, decisions: Sequence[tuple[int, SeatDecision]]) -> AidModel:
    """Run `model` to its horizon with `donor_id` seated and the student's decisions applied on their
    days. A reply to a counter-request stands for every world: those countered earlier get it on its
    day, those countered later at once."""
    donor, by_day = model.donor(donor_id), dict(decisions)
    while not model.done:
        donor.seat()  # every day: a day the model decided for an absent student (ModelDecides) hands over that day only
        decision = by_day.get(model.day + 1)
        if decision is not None:
            decision.apply(model, donor_id)
        model.step()
    return model


@dataclass(frozen=True)
class Comparison:
    """The student's seat against the model's donor, in the class's world and over many worlds."""

    donor: str
    student: dict  # this world: offer_day, response, delivered
    modelled: dict
    student_shares: pd.Series  # over many worlds, share of each response (tables.RESPONSES)
    modelled_shares: pd.Series
    worlds: int


def _world_outcome(model: AidModel, donor_id: str) -> dict:
    row = tables.responses(model).set_index("donor").loc[donor_id]
    day = row["offer_day"]
    return {"offer_day": None if pd.isna(day) else int(day), "response": str(row["response"]), "delivered": float(row["aid_delivered"])}


def compare(room: Classroom, worlds: int = WORLDS) -> Comparison:
    """Compare a finished role-play with the model donor under the same settings: in the class's
    world (same seed, same replicate) and with the same decisions replayed over `worlds` worlds."""
    if not room.seat:
        raise ValueError("compare: nobody holds a seat")
    return compare_seat(room, room.seat, room.decisions, worlds)


def compare_seat(room: Classroom, seat: str, decisions: Sequence[tuple[int, SeatDecision]], worlds: int = WORLDS) -> Comparison:
    """One seat's `decisions` in the world `room` shows (which may hold other seats too) against
    the model's donor: in that world with every donor modelled, and over `worlds` worlds, the seat's
    decisions replayed with every other donor modelled."""
    params = room.params
    modelled_here = AidModel(params, replicates=[WORLD]).run()
    many = params.model_copy(update={"replicates": worlds})
    student_many = play_decisions(AidModel(many, record=False), seat, decisions)
    modelled_many = AidModel(many, record=False).run()
    share = lambda m: _shares(tables.responses(m)).loc[seat]  # noqa: E731
    return Comparison(seat, _world_outcome(room.model, seat), _world_outcome(modelled_here, seat), share(student_many), share(modelled_many), worlds)
