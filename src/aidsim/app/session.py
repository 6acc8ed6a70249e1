"""One browser tab's classroom: the settings, the world on screen and a student's seat at the table.

The page (page.py) only draws what a `Classroom` holds and forwards clicks to it; the Classroom
only calls the model's public API (config, AidModel, the seat, tables, narrative, ladder).

The classroom view follows ONE world: replicate 0 of the chosen seed, the same world whose
dispatch `aidsim seed=S` writes to dispatch.md. Another seed is another world; the spread over
many worlds is on the "Many worlds" tab.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from omegaconf import DictConfig

from aidsim.model import flood
from aidsim.model.config import compose, presets
from aidsim.model.donors import COUNTER_REPLIES
from aidsim.model.ladder import NO_DAY, NOT_OFFERED, PENDING, Response, open_rung
from aidsim.model.model import AidModel, History
from aidsim.model.params import DONORS, Params
from aidsim.report import narrative
from aidsim.report.labels import run_title
from aidsim.report.style import donor_label
from aidsim.runs import tables
from aidsim.runs.cells import knob, model_dict, validated

WORLD = 0
"""The replicate index the classroom follows (see the module docstring)."""

DEFAULT_PRESET = "amnok_2024"


@dataclass(frozen=True)
class Knob:
    """A slider: a dotted config key, a label, and the values it offers (a range or a list)."""

    key: str
    label: str
    lo: float = 0.0
    hi: float = 1.0
    step: float = 0.05
    values: tuple[float, ...] = ()  # a list of values for knobs that span orders of magnitude

    def choices(self, current: float) -> list[float]:
        """The listed values with the preset's own value added, so a preset is never snapped away."""
        return sorted({*self.values, float(current)})

    def check(self, value: object) -> float:
        """The value as a float within the knob's range; ValueError with one line if not."""
        try:
            v = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"{self.label}: {value!r} is not a number") from None
        lo, hi = (min(self.values), max(self.values)) if self.values else (self.lo, self.hi)
        if not (math.isfinite(v) and lo <= v <= hi):
            raise ValueError(f"{self.label}: {v:g} is outside {lo:g} to {hi:g}")
        return v


KNOBS: tuple[Knob, ...] = (
    Knob("tension.inter_korean", "Inter-Korean tension"),
    Knob("relations.russia", "Relations with Russia"),
    Knob("relations.china", "Relations with China"),
    Knob("flood.severity", "Flood severity (x 2024 damage)", values=(0.25, 0.5, 1, 2, 5, 10, 20, 50, 80, 160)),
    Knob("dprk.capacity", "Domestic capacity (relief/day)", values=(0.01, 0.02, 0.045, 0.1, 0.2, 0.5, 1, 2)),
    Knob("dprk.image_sensitivity", "Image sensitivity"),
)
KNOB = {k.key: k for k in KNOBS}

SHORT: dict[str, str] = {d: donor_label(d, short=True) for d in DONORS}
"""Every donor's name on the page and in its figures (the actor profile's `short`)."""

SEATS: dict[str, str] = {d: SHORT[d] for d in ("south_korea", "china", "russia", "united_states", "un_agencies")}
"""Donors a student can play, with the name the class uses for them (their actor profile's `short`)."""

CHANNELS: dict[str, str] = {k: v[0].upper() + v[1:] for k, v in narrative.CHANNEL.items()}
"""The decision card's channels, in the dispatch's words."""

RUNGS = ("Self-reliance", "Allies", "International bodies", "Seoul and Washington")
"""The preference ladder's rungs as the page's figures name them (live and debrief)."""

DOORS = ("allies", "int'l bodies", "Seoul & Wash.")
"""Short names of the rungs past self-reliance, for the need figure's threshold lines."""

_compose_lock = threading.Lock()  # Hydra's global state is not thread-safe; tabs run in threads


@cache
def _preset_config(preset: str) -> DictConfig:
    with _compose_lock:
        return compose([f"scenario={preset}"])


def preset_config(preset: str) -> DictConfig:
    """The composed config of a scenario preset (cached: composing costs ~0.1 s)."""
    if preset not in presets("scenario"):
        raise ValueError(f"scenario={preset}: unknown preset; choose one of {presets('scenario')}")
    return _preset_config(preset).copy()


@cache
def _preset_data(preset: str) -> dict[str, Any]:
    # plain data, built once per preset: copying the composed config for every call cost a tab
    # ~0.3 s to open (`validated` copies only what a cell sets and never changes this)
    return model_dict(preset_config(preset))


def settings_params(preset: str, knobs: dict[str, float], seed: int, replicates: int = 1) -> Params:
    """Validated Params for a preset with the sliders' values, a seed and a number of worlds."""
    return validated(_preset_data(preset), {**knobs, "seed": int(seed), "replicates": int(replicates)})


def preset_knobs(preset: str) -> dict[str, float]:
    """The slider values a preset sets."""
    params = settings_params(preset, {}, 0)
    return {k.key: float(knob(params, k.key)) for k in KNOBS}


MAX_SEED = 2**63 - 1
"""The largest seed the model accepts (a signed 64-bit integer)."""


def parse_seed(text: object) -> int:
    """The seed box's text as a seed (the box hands over a str); ValueError with one line if not."""
    raw = str(text).strip()
    shown = raw if len(raw) <= 24 else raw[:20] + "..."
    if not raw.isdigit() or len(raw) > 19:  # also refuses "1e9", "0x10", "4.5", unicode digits turn into ValueError below
        if raw.startswith("-") and raw[1:].isdigit():
            raise ValueError(f"seed {shown}: must be 0 or more")
        if raw.isdigit():
            raise ValueError(f"seed {shown}: too large; use 0 to {MAX_SEED}")
        raise ValueError(f"seed {shown!r}: not a whole number; use 0 or more, e.g. 2024")
    try:
        seed = int(raw)
    except ValueError:
        raise ValueError(f"seed {shown!r}: not a whole number; use 0 or more, e.g. 2024") from None
    if seed > MAX_SEED:
        raise ValueError(f"seed {shown}: too large; use 0 to {MAX_SEED}")
    return seed


def short_title(preset: str) -> str:
    """A preset's title without its subtitle in brackets: the head of a world's title."""
    title = settings_params(preset, {}, 0).scenario.title or preset
    return title.split(" (")[0]


def world_title(preset: str, knobs: dict[str, float]) -> str:
    """The preset's title and every setting that differs from it (report.labels.run_title):
    "Amnok river floods, July 2024; inter-Korean tension 0.2, severity 20x"."""
    base = preset_knobs(preset)
    changed = {k: v for k, v in knobs.items() if k in KNOB and not math.isclose(v, base[k], rel_tol=1e-9, abs_tol=1e-12)}
    return run_title(short_title(preset), None, changed)


@dataclass(frozen=True)
class Offer:
    """A seated student's decision: what to offer, how, with which conditions."""

    channel: str = "red_cross"
    content_fit: float = 0.6  # 1 = exactly what Pyongyang asked for (rice, cement), 0 = what it did not want
    conditions: float = 0.3  # 0 = none; 1 = full monitoring and foreign staff on the ground
    size: float = 0.5  # share of the visible damage the package would cover

    def __post_init__(self) -> None:
        """One-line ValueError for an offer the card could not have made (hostile or stale input)."""
        if self.channel not in CHANNELS:
            raise ValueError(f"channel {self.channel!r}: choose one of {', '.join(CHANNELS)}")
        for name, lo, hi in (("content_fit", 0.0, 1.0), ("conditions", 0.0, 1.0), ("size", 0.1, 2.0)):
            v = getattr(self, name)
            if not isinstance(v, int | float) or not math.isfinite(v) or not lo <= v <= hi:
                raise ValueError(f"{name} {v!r}: use a number from {lo:g} to {hi:g}")

    def apply(self, model: AidModel, donor_id: str) -> None:
        model.donor(donor_id).offer_now(self.channel, self.content_fit, self.conditions, self.size)


REPLIES: dict[str, str] = dict(zip(COUNTER_REPLIES, ("send what it names", "send part of it", "refuse"), strict=True))
"""A seat's replies to a counter-request (model.donors.COUNTER_REPLIES: meet, haggle, refuse), in the card's words."""


@dataclass(frozen=True)
class Reply:
    """A seated student's answer when Pyongyang names what it wants instead of their offer."""

    reply: str  # "meet" (the aid is taken), "haggle" (taken only if part is enough), "refuse" (the offer lapses)

    def __post_init__(self) -> None:
        if self.reply not in REPLIES:
            raise ValueError(f"reply {self.reply!r}: choose one of {', '.join(REPLIES)}")

    def apply(self, model: AidModel, donor_id: str) -> None:
        model.donor(donor_id).reply_to_counter_request(self.reply)


@dataclass(frozen=True)
class ModelDecides:
    """A shared room's fallback: the seat's student did not decide in time (or has left), so the
    model's donor decides for the seat today, by its own rules, as if nobody sat there."""

    def apply(self, model: AidModel, donor_id: str) -> None:
        # The donor's own rules run while it is not seated; the next day seats it again (see
        # `worlds.play_decisions` and `room.Room.tick`), so this hands over one day only.
        model.donor(donor_id).unseat()


SeatDecision = Offer | Reply | ModelDecides | None
"""One day's decision at the seat: an offer, a reply to a counter-request, the model's choice for
an absent student, or waiting (None)."""


def decision_rows(seat: str, decisions: list[tuple[int, SeatDecision]], answer: str) -> list[dict[str, Any]]:
    """A seat's decisions, one row a day (the debrief's decisions.csv), with Pyongyang's `answer`
    to the seat's offer so far on the rows that made or answered it."""
    rows = []
    for day, decision in decisions:
        row: dict[str, Any] = {"day": day, "seat": seat, "decision": "wait"}
        if isinstance(decision, Offer):
            row |= {"decision": "offer", "channel": decision.channel, "content_fit": decision.content_fit, "conditions": decision.conditions}
            row |= {"size": decision.size, "answer": answer}
        elif isinstance(decision, Reply):
            row |= {"decision": f"counter-request: {REPLIES[decision.reply]}", "answer": answer}
        elif isinstance(decision, ModelDecides):
            row |= {"decision": "model decided (seat absent)", "answer": answer}
        rows.append(row)
    return rows


@dataclass
class Classroom:
    """The state behind one tab: settings, the world on screen, the seat, the decisions taken."""

    preset: str = DEFAULT_PRESET
    knobs: dict[str, float] = field(default_factory=dict)
    seed: int = 2024
    seat: str | None = None
    model: AidModel = field(init=False)
    decisions: list[tuple[int, SeatDecision]] = field(init=False, default_factory=list)
    model_knobs: dict[str, float] = field(init=False, default_factory=dict)  # the sliders the world on screen was made with
    lock: threading.RLock = field(init=False, default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        self.knobs = {**preset_knobs(self.preset), **self.knobs}
        self.reset()

    # -- settings --------------------------------------------------------------------------
    @property
    def params(self) -> Params:
        return self.model.params

    @property
    def history(self) -> History:
        """The recorded days of the world on screen (the classroom's model always records)."""
        if self.model.history is None:
            raise RuntimeError("the classroom's world keeps no history")
        return self.model.history

    @property
    def title(self) -> str:
        """The world on screen: its preset and every setting changed from it (the model's scenario
        title, so the dispatch and the debrief carry it too)."""
        return self.params.scenario.title or self.preset

    def settings(self) -> dict[str, Any]:
        """What made this world: preset, title, sliders, seed, seat (for the debrief)."""
        return {"preset": self.preset, "title": self.title, "seed": self.seed, "seat": self.seat, "day": self.day, "knobs": dict(self.model_knobs)}

    def choose_preset(self, preset: str) -> None:
        """Load a preset: its slider values, then a fresh world (choosing the current one restores it)."""
        if preset not in presets("scenario"):
            raise ValueError(f"preset {preset!r}: unknown; choose one of {', '.join(presets('scenario'))}")
        self.preset = preset
        self.knobs = preset_knobs(preset)
        self.reset()

    def set_knob(self, key: str, value: object) -> None:
        """Move one slider (checked: a known knob, a number within its range)."""
        if key not in KNOB:
            raise ValueError(f"{key}: not a setting on this page")
        self.knobs = {**self.knobs, key: KNOB[key].check(value)}

    def reset(self) -> None:
        """A fresh world with the current settings and seat (nothing else on the page is touched)."""
        with self.lock:
            params = settings_params(self.preset, self.knobs, self.seed)
            title = world_title(self.preset, self.knobs)
            params = params.model_copy(update={"scenario": params.scenario.model_copy(update={"title": title})})
            self.model = AidModel(params, replicates=[WORLD])
            self.model_knobs = dict(self.knobs)
            if self.seat:
                self.model.donor(self.seat).seat()
            self.decisions = []

    # -- time ------------------------------------------------------------------------------
    @property
    def day(self) -> int:
        return self.model.day

    @property
    def done(self) -> bool:
        return self.model.done

    def due(self, donor_id: str) -> str | None:
        """The decision a seated donor owes before the next day: "reply" when Pyongyang has named
        what it wants instead of its offer, "offer" (offer aid or wait) while it has not offered,
        None otherwise or once the run is over."""
        if self.done:
            return None
        donor = self.model.donor(donor_id)
        status = int(donor.status[0])
        if bool(donor.countered[0]) and status == PENDING:
            return "reply"
        return "offer" if status == NOT_OFFERED else None

    @property
    def awaiting_reply(self) -> bool:
        """Pyongyang has named what it wants instead of the seat's offer: the seat must reply (REPLIES)."""
        return self.seat is not None and self.due(self.seat) == "reply"

    @property
    def awaiting_decision(self) -> bool:
        """The seat must decide before the next day: it has not offered yet, or must answer a
        counter-request, and the run goes on."""
        return self.seat is not None and self.due(self.seat) is not None

    @staticmethod
    def check_decision(due: str | None, decision: SeatDecision) -> None:
        """One-line ValueError when `decision` is not the kind `due` asks for (a stale card)."""
        if due is not None and not isinstance(decision, ModelDecides) and (due == "reply") != isinstance(decision, Reply):
            wanted = "reply to Pyongyang's counter-request" if due == "reply" else "offer aid or wait"
            raise ValueError(f"decision {type(decision).__name__}: the seat must {wanted} today")

    def step(self, decision: SeatDecision = None, decided: bool = False) -> bool:
        """Advance one day. A seated student's decision (an `Offer` or None to wait; a `Reply` when
        a counter-request awaits one) must be given with `decided=True` when one is due; returns False
        when the day did not advance."""
        with self.lock:
            if self.done or (self.awaiting_decision and not decided):
                return False
            if self.seat is not None and self.awaiting_decision:
                self.check_decision(self.due(self.seat), decision)
                self.decisions.append((self.day + 1, decision))
                if decision is not None:
                    decision.apply(self.model, self.seat)
            self.model.step()
            if self.seat is not None:
                self.model.donor(self.seat).seat()  # back from a day the model decided for it
            return True

    # -- what the page shows ---------------------------------------------------------------
    def feed(self) -> list[narrative.Entry]:
        """The dispatch of this world, newest first."""
        with self.lock:
            return narrative.entries(self.model, WORLD)[::-1]

    def pressure(self) -> np.ndarray:
        """This world's unmet-need pressure on each day so far (from the model's history)."""
        with self.lock:
            d = self.model.dprk
            return flood.pressure(self.history.array("unmet")[:, 0], d.capacity[0], self.params.dprk.planning_days)

    def rungs(self) -> tuple[int, int]:
        """(the rung the need opens today, the deepest rung it has opened so far), 0 = self-reliance."""
        opened = open_rung(self.pressure(), self.params.dprk)
        return int(opened[-1]), int(opened.max())

    def outcomes(self) -> list[dict[str, Any]]:
        """Per donor in this world: offer day, answer so far, size offered, aid delivered."""
        with self.lock:
            out = []
            for d in self.model.donors:
                offered, status = d.offer_day[0] != NO_DAY, int(d.status[0])
                answer = "awaiting answer" if status == PENDING and not self.done else Response(status).label
                out.append(
                    {
                        "donor": d.donor_id,
                        "who": narrative.WHO[d.donor_id],
                        "offer_day": int(d.offer_day[0]) if offered else None,
                        "response": answer if offered else "not_offered",
                        "requested": bool(d.requested[0]),
                        "offered": float(d.size[0]) if offered else 0.0,
                        "delivered": float(d.delivered[0]),
                    }
                )
            return out

    def outcome_table(self):
        """The documented per-(replicate, donor) table for this world (tables.responses)."""
        with self.lock:
            return tables.responses(self.model)

    def decision_rows(self) -> list[dict[str, Any]]:
        """The seated student's decisions, one row a day, with Pyongyang's answer to the offer so far."""
        if not self.seat:
            return []
        return decision_rows(self.seat, self.decisions, self.answer(self.seat))

    def answer(self, donor: str) -> str:
        """Pyongyang's answer to `donor`'s offer so far in this world ("not_offered" before one)."""
        return next(r["response"] for r in self.outcomes() if r["donor"] == donor)

    def dispatch_markdown(self) -> str:
        with self.lock:
            return narrative.dispatch_markdown(self.model, WORLD)
