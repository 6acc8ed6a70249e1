"""The typed parameter schema: every knob the model reads, with its allowed range.

Hydra composes the YAML tree in `conf/`; `Params.from_config` validates the result here, so a
wrong type, an out-of-range value or an unknown key is caught before anything runs and reported
in one line by `errors.describe`. Defaults, ranges and sources are documented in docs/model.md.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DONORS: tuple[str, ...] = (
    "russia",
    "china",
    "south_korea",
    "united_states",
    "un_agencies",
    "red_cross",
    "ngos",
)
"""Donor ids, in the fixed order used for arrays, tables and activation."""


TensionLink = Literal["none", "inter_korean", "us_dprk"]


class Channel(StrEnum):
    """How an offer reaches Pyongyang."""

    DIRECT = "direct"
    RED_CROSS = "red_cross"
    UN = "un"
    NGO = "ngo"


class Strict(BaseModel):
    """Base: unknown keys are errors, values are validated on assignment, and no number is nan or
    infinite (a range check would let nan through: every comparison with it is false)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False)


class Flood(Strict):
    severity: float = Field(gt=0, le=1000)
    severity_spread: float = Field(ge=0, le=2)
    onset_days: int = Field(ge=1, le=60)
    visibility: float = Field(gt=0, le=1)


class Tension(Strict):
    inter_korean: float = Field(ge=0, le=1)
    us_dprk: float = Field(ge=0, le=1)


class Relations(Strict):
    russia: float = Field(ge=0, le=1)
    china: float = Field(ge=0, le=1)
    south_korea: float = Field(ge=0, le=1)
    united_states: float = Field(ge=0, le=1)
    un_agencies: float = Field(ge=0, le=1)
    red_cross: float = Field(ge=0, le=1)
    ngos: float = Field(ge=0, le=1)


class Ladder(Strict):
    """The DPRK's decision parameters (see ladder.py for the rules that read them)."""

    capacity: float = Field(gt=0, le=100)
    capacity_spread: float = Field(ge=0, le=2)
    mobilisation_days: int = Field(ge=1, le=60)
    planning_days: float = Field(gt=0, le=365)
    rung_thresholds: list[float]
    hostility_weight: float = Field(ge=0, le=20)
    relation_weight: float = Field(ge=0, le=20)
    image_sensitivity: float = Field(ge=0, le=1)
    image_weight: float = Field(ge=0, le=20)
    monitoring_weight: float = Field(ge=0, le=20)
    misfit_weight: float = Field(ge=0, le=20)
    decision_noise: float = Field(gt=0, le=10)
    response_delay_days: int = Field(ge=0, le=30)
    courtesy_hostility: float = Field(ge=0, le=1)
    silence_hostility: float = Field(ge=0, le=1)
    explicit_rejection_prob: float = Field(ge=0, le=1)
    request_max_hostility: float = Field(ge=0, le=1)
    request_max_rung: int = Field(ge=0, le=3)
    presence_discount: float = Field(ge=0, le=20)
    closure_cost: float = Field(ge=0, le=20)
    counter_request_gain: float = Field(ge=0, le=20)
    haggle_share: float = Field(ge=0, le=1)

    @field_validator("rung_thresholds")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if len(v) != 3 or any(x <= 0 for x in v) or sorted(v) != v:
            raise ValueError("three positive, non-decreasing pressure thresholds (allies, international, Seoul/Washington)")
        return v


class Access(Strict):
    """Who has a working channel inside the country (the 'presence' rule, ladder.presence_cost).

    `resident`: whether the body has staff resident in the country with a domestic counterpart
    (UN agencies' international staff, an IFRC delegation, resident NGO units). `border_closed`:
    the state has sealed its borders (2020-2023); every foreign channel but the allies' then costs
    more. `self_reliance`: the leadership has declared that recovery is the state's own work
    (August 2020, August 2024); every channel, the allies' included, then costs more.
    """

    resident: dict[Literal["un_agencies", "red_cross", "ngos"], bool]
    border_closed: bool = False
    self_reliance: bool = False


class OfferRule(Strict):
    """When a donor offers unasked (see donors.py)."""

    lag_days: int = Field(ge=0, le=365)
    base: float = Field(ge=-20, le=20)
    need_weight: float = Field(ge=-20, le=20)
    relation_weight: float = Field(ge=-20, le=20)
    tension_weight: float = Field(0.0, ge=-20, le=20)  # 0 = offers regardless of hostility
    politics: float = Field(0.0, ge=-20, le=20)  # 0 = no political push either way
    answers_request: float = Field(ge=0, le=1)


class ChannelCost(Strict):
    """How the route an offer takes shifts hostility and conditions; `via` names an intermediary."""

    hostility: float = Field(ge=-1, le=1)
    conditions: float = Field(ge=-1, le=1)
    via: Literal["un_agencies", "red_cross", "ngos"] | None = None  # aid through it takes its rung and presence


class Donor(Strict):
    """A donor's profile: where it sits on the ladder, how it offers, what it offers."""

    label: str
    short: str = ""  # a short name for tight spaces (figure legends); the label when empty
    rung: int = Field(ge=1, le=3)
    ally: bool = False
    tension_link: TensionLink = "none"
    base_hostility: float = Field(0.0, ge=0, le=1)  # 0 = no standing hostility
    tension_weight: float = Field(0.0, ge=0, le=1)  # 0 = not linked to a tension
    channel: Channel = Channel.DIRECT
    conditions: float = Field(ge=0, le=1)
    content_fit: float = Field(ge=0, le=1)
    fit_spread: float = Field(ge=0, le=1)
    offer_size: float = Field(ge=0, le=10)
    delivery_lag_days: int = Field(ge=0, le=365)
    delivery_days: int = Field(ge=1, le=365)
    meets_counter_request: float = Field(0.0, ge=0, le=1)  # chance the donor gives what Pyongyang names instead
    haggles_counter_request: float = Field(0.0, ge=0, le=1)  # chance it gives only part of it
    offer: OfferRule

    @model_validator(mode="after")
    def _one_reply(self) -> Donor:
        if self.meets_counter_request + self.haggles_counter_request > 1:
            raise ValueError("meets_counter_request + haggles_counter_request: at most 1 (they are shares of one reply)")
        return self


class Event(Strict):
    """A scripted event: on `day`, add the deltas to tension and relations (clipped to [0, 1])."""

    day: int = Field(ge=1, le=3650)
    name: str
    note: str = ""
    border_closed: bool | None = None  # a stance shock: seal (true) or reopen (false) the border from this day
    self_reliance: bool | None = None  # a stance shock: declare (true) or drop (false) the self-reliance line
    tension: dict[Literal["inter_korean", "us_dprk"], float] = Field(default_factory=dict)
    relations: dict[Literal[DONORS], float] = Field(default_factory=dict)  # type: ignore[valid-type]


class ScenarioInfo(Strict):
    name: str = "custom"
    title: str = ""
    briefing: str = ""


class Params(Strict):
    """Everything one model run needs."""

    scenario: ScenarioInfo
    horizon_days: int = Field(ge=1, le=3650)
    replicates: int = Field(ge=1, le=10_000_000)
    seed: int = Field(ge=0, le=2**63 - 1)
    flood: Flood
    tension: Tension
    relations: Relations
    access: Access
    dprk: Ladder
    channels: dict[Channel, ChannelCost]
    actors: dict[Literal[DONORS], Donor]  # type: ignore[valid-type]
    events: list[Event] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> Params:
        missing = [d for d in DONORS if d not in self.actors]
        if missing:
            raise ValueError(f"actors: missing donor profile(s) {missing}; every donor in {list(DONORS)} needs one")
        missing_ch = [c.value for c in Channel if c not in self.channels]
        if missing_ch:
            raise ValueError(f"channels: missing {missing_ch}")
        return self

    @classmethod
    def from_config(cls, cfg: Any) -> Params:
        """Validate a composed Hydra/OmegaConf config (or a plain dict) into Params."""
        from omegaconf import DictConfig, OmegaConf

        data: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)  # type: ignore[assignment]
        known = set(cls.model_fields)
        return cls.model_validate({k: v for k, v in data.items() if k in known or k not in _RUNTIME_KEYS})


_RUNTIME_KEYS = {"output", "sweep", "experiment", "app", "validate", "hydra", "plot", "analysis"}
"""Top-level config sections that steer the tools rather than the model."""
