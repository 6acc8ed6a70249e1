"""Recorded episodes: the schema of `conf/episode/*.yaml`, loading, and the run each one describes.

An episode records one disaster from the public record: its context on the model's documented
scales (damage in 2024 units, tension, relations, who was resident in the country, whether the
border was sealed, Seoul's government) and, per donor that acted, the offer, the DPRK's answer,
any counter-request, sources and a confidence. `overrides` turns the context into the Hydra
overrides of the run that stands for it, so the model sees documented scales only, never the
answers. The short form of earlier releases (`scenario`, `overrides`, `observed`) stays valid.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from aidsim.model.config import conf_dir, load_yaml
from aidsim.model.errors import ConfigError
from aidsim.model.ladder import RESPONSES
from aidsim.model.params import DONORS, Tension

Answer = Literal["accepted", "deferred", "ignored", "rejected", "not_offered"]  # model.ladder.RESPONSES, as a type
ANSWERS = RESPONSES
Confidence = Literal["high", "medium", "low"]
CONFIDENCE_WEIGHT = {"high": 1.0, "medium": 0.7, "low": 0.4}
"""How much a recorded row counts in the calibration likelihood (docs/validation.md)."""
Donor = Literal[DONORS]  # type: ignore[valid-type]
Resident = Literal["un_agencies", "red_cross", "ngos"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _iso(v: object) -> object:
    return v.isoformat() if isinstance(v, dt.date) else str(v) if isinstance(v, int) else v


IsoDate = Annotated[str, BeforeValidator(_iso), Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")]
"""A date as YYYY, YYYY-MM or YYYY-MM-DD (YAML may hand over a parsed date)."""


class Source(_Strict):
    """A cited source: outlet, title (or a faithful short description) and date (YYYY[-MM[-DD]])."""

    outlet: str = Field(min_length=1)
    title: str = Field(min_length=1)
    date: IsoDate


class Offer(_Strict):
    day: int = Field(ge=0)
    channel: Literal["direct", "red_cross", "un", "ngo"]
    content: str = ""
    conditions: str = ""


class CounterRequest(_Strict):
    """The DPRK named what it wanted instead; the donor met it, haggled, or refused."""

    day: int = Field(ge=0)
    content: str = Field(min_length=1)
    donor_reply: Literal["met", "haggled", "refused"]


class Row(_Strict):
    """One donor in one episode: what it offered and how the DPRK answered by the horizon."""

    offer: Offer | None = None
    counter_request: CounterRequest | None = None
    answer: Answer
    answer_day: int | None = Field(None, ge=0)
    requested_by_dprk: bool = False
    reason: str = ""
    confidence: Confidence
    sources: list[Source] = Field(min_length=1)
    note: str = ""


SEOUL_STANCE = r"\(([a-z_]+)"
"""How an episode names Seoul's government: "President (stance...)", the stance a conf/seoul preset."""


def seoul_stances() -> list[str]:
    """The stances a Seoul government can take: the presets in conf/seoul/."""
    return sorted(p.stem for p in (conf_dir() / "seoul").glob("*.yaml"))


class Governments(_Strict):
    seoul: str = Field(pattern=SEOUL_STANCE)
    washington: str

    @model_validator(mode="after")
    def _known_stance(self) -> Governments:
        if self.seoul_stance not in seoul_stances():
            raise ValueError(f"stance {self.seoul_stance!r} in {self.seoul!r}: allowed: {', '.join(seoul_stances())} (conf/seoul/)")
        return self

    @property
    def seoul_stance(self) -> str:
        m = re.search(SEOUL_STANCE, self.seoul)
        assert m is not None  # guaranteed by the pattern
        return m.group(1)


class Context(_Strict):
    """The episode on the model's documented scales (docs/model.md, 'Episode context')."""

    affected_people: int = Field(gt=0)
    severity: float = Field(gt=0, le=1000)
    severity_source: str = Field(min_length=1)
    tension: Tension
    relations: dict[Donor, float] = Field(default_factory=dict)
    border_closed: bool = False
    self_reliance: bool = False  # a declared line that recovery is the state's own work (docs/model.md, P12)
    self_reliance_source: str = ""  # who declared it, where reported (required when self_reliance is true)
    presence: dict[Resident, bool]
    governments: Governments
    notes: str = ""

    @model_validator(mode="after")
    def _sourced_stance(self) -> Context:
        if self.self_reliance and not self.self_reliance_source.strip():
            raise ValueError("self_reliance_source: missing; a declared self-reliance line needs its source (outlet, title, date)")
        return self


class Episode(_Strict):
    """A recorded episode, in the rich form (context + responses) or the short form (scenario + observed)."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    kind: Literal["flood", "typhoon", "explosion", "epidemic", "drought"] = "flood"
    start: dt.date | None = None
    horizon_days: int = Field(90, ge=1, le=365)
    context: Context | None = None
    responses: dict[Donor, Row] = Field(default_factory=dict)
    others: str = ""
    notes: str = ""
    sources: list[Source | str] = Field(min_length=1)
    # the short form
    scenario: str | None = None
    overrides: list[str] = Field(default_factory=list)
    observed: dict[Donor, Answer] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_form(self) -> Episode:
        if self.responses and self.observed:
            raise ValueError("give either responses (rich form) or observed (short form), not both")
        if not self.responses and not self.observed:
            raise ValueError("no recorded answers: give responses (rich form) or observed (short form) with at least one donor")
        if self.responses and self.context is None:
            raise ValueError("context: missing; the rich form needs the episode's context")
        if self.observed and not self.scenario:
            raise ValueError("scenario: missing; the short form needs the scenario that describes the episode")
        for donor, row in self.responses.items():
            days = {
                "offer.day": row.offer.day if row.offer else None,
                "answer_day": row.answer_day,
                "counter_request.day": row.counter_request.day if row.counter_request else None,
            }
            for key, day in days.items():
                if day is not None and day > self.horizon_days:
                    raise ValueError(f"responses.{donor}.{key}={day}: outside the horizon; allowed: 0 to horizon_days={self.horizon_days}")
        return self

    @property
    def answers(self) -> dict[str, str]:
        """The recorded answer per donor."""
        return {d: r.answer for d, r in self.responses.items()} if self.responses else dict(self.observed)

    def weight(self, donor: str) -> float:
        """The row's weight in the calibration likelihood, from its confidence (short form: 1)."""
        return CONFIDENCE_WEIGHT[self.responses[donor].confidence] if self.responses else 1.0

    def overrides_for_run(self) -> list[str]:
        """Hydra overrides of the run that stands for this episode: its context only, never its answers."""
        if self.context is None:
            return [f"scenario={self.scenario}", *self.overrides]
        c = self.context
        out = [
            f"flood.severity={c.severity}",
            f"tension.inter_korean={c.tension.inter_korean}",
            f"tension.us_dprk={c.tension.us_dprk}",
            *(f"relations.{d}={v}" for d, v in c.relations.items()),
            *(f"access.resident.{d}={str(v).lower()}" for d, v in c.presence.items()),
            f"access.border_closed={str(c.border_closed).lower()}",
            f"access.self_reliance={str(c.self_reliance).lower()}",
            f"seoul={c.governments.seoul_stance}",
            f"horizon_days={self.horizon_days}",
            f"scenario.name={self.name}",
        ]
        return [*out, *self.overrides]


def load_episodes(folder: Path | str) -> list[Episode]:
    """Every `*.yaml` episode in `folder`, sorted by name; a malformed file is a one-line ConfigError."""
    folder = Path(folder)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ConfigError(f"episodes_dir={str(folder)!r}: no episode files (*.yaml) found there")
    return [load_yaml(f, Episode) for f in files]
