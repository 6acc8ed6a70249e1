"""Where North Korea decides: the preference ladder and the answer to each offer.

The rules encode the stylized facts listed in docs/model.md, "Patterns the model must reproduce"
(P1-P7 there):
1. Self-reliance first: no outside help while the state can clear the need itself.
2. It walks down a fixed ladder (allies, then international bodies, then Seoul and Washington),
   each rung opening only at a higher unmet-need pressure; hostility (tension) pushes a donor's
   threshold up and good relations pull it down, so low tension compresses the ladder (2007).
3. Under very high tension offers from an adversary meet silence, not a formal no (2024).
4. Allies are never rebuffed: what is not taken is thanked and deferred, door open.
5. The larger the damage relative to capacity, the further down the ladder it goes.
6. Monitoring and foreign staff on the ground are a cost.
7. Image: accepting aid while claiming control is costly, less so as the disaster grows past
   what anyone could claim to control.
All functions are vectorised over replicate worlds (numpy arrays of shape (worlds,)); any
parameter may be a scalar or a per-world array (a sweep runs many cells in one batch).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from aidsim.model.params import ChannelCost, Donor, Ladder

Num = float | np.ndarray
"""A parameter or state: a scalar shared by all worlds, or one value per world."""


class Response(IntEnum):
    """An offer's status; the last four are the DPRK's possible answers."""

    NOT_OFFERED = 0
    PENDING = 1
    ACCEPTED = 2
    DEFERRED = 3
    IGNORED = 4
    REJECTED = 5

    @property
    def label(self) -> str:
        return "ignored" if self is Response.PENDING else self.name.lower()


# Plain ints for the hot paths: comparing arrays with IntEnum members is several times slower.
NOT_OFFERED, PENDING, ACCEPTED, DEFERRED, IGNORED, REJECTED = (int(r) for r in Response)

RESPONSES: tuple[str, ...] = ("accepted", "deferred", "ignored", "rejected", "not_offered")
"""Final answers in the order tables, plots and episode scores use (PENDING at the horizon counts as ignored)."""

RESPONSE_CODE = np.array([RESPONSES.index(Response(i).label) for i in range(len(Response))], dtype=np.int8)
"""Status value -> position in RESPONSES."""

NO_DAY = -1
"""The day recorded for something that has not happened (no offer, no answer)."""


def hostility(donor: Donor, channel: ChannelCost, tension: dict[str, Num]) -> Num:
    """How hostile Pyongyang holds a donor to be, in [0, 1].

    A donor's own baseline plus its share of the tension it is linked to (Seoul to inter-Korean
    tension, Washington to US-DPRK tension); an indirect channel (Red Cross, NGO) softens it,
    the way 2007's US money went through two US NGOs (fact 2).
    """
    h: Num = donor.base_hostility + channel.hostility
    if donor.tension_link != "none":
        h = h + donor.tension_weight * tension[donor.tension_link]
    return np.clip(h, 0.0, 1.0)


def image_cost(p: np.ndarray, ladder: Ladder) -> np.ndarray:
    """Cost of being seen to take aid while claiming control (fact 7).

    The claim is credible while pressure is low (`1 / (1 + pressure)` near 1), so the cost fades
    once the disaster plainly exceeds the state's means, as in 2007 and 2016.
    """
    return ladder.image_weight * ladder.image_sensitivity / (1.0 + p)


def log_threshold(rung: int, h: Num, relation: Num, ladder: Ladder) -> Num:
    """Log pressure at which the DPRK would take help from a donor on `rung` (facts 2 and 4).

    The rung sets the base: the donor's own, or that of the intermediary its aid goes through
    (`channel.via`: Washington's money through NGOs in 2007, 2010 and 2011, or through the WFP in
    1996, was taken as NGO or UN help). Hostility raises the threshold, a warm relation lowers it.
    """
    base = np.log(ladder.rung_thresholds[rung - 1])
    return base + ladder.hostility_weight * h - ladder.relation_weight * relation


def offer_cost(log_thr: Num, conditions: Num, ladder: Ladder) -> Num:
    """What taking a donor's aid costs on the pressure scale: its threshold plus monitoring and
    foreign-staff conditions (fact 6)."""
    return log_thr + ladder.monitoring_weight * conditions


def access_cost(resident: bool | np.ndarray, border_closed: bool | np.ndarray, self_reliance: bool | np.ndarray, ally: bool, ladder: Ladder) -> Num:
    """Presence and stance: what the channel's standing inside the country adds to an offer's cost.

    Help that flows through a body resident in the country and its domestic counterpart (WFP and
    UNICEF offices, the IFRC delegation beside the DPRK Red Cross, resident NGO units) is cheap:
    after modest floods in 2001, 2013, 2015, 2018 and 2019 the state took it while refusing or
    ignoring others. A sealed border (2020-2023) makes every other foreign channel dear; a body
    still resident keeps its discount (August 2020: the Red Cross's stocks inside the country were
    used while the UN's offer was refused). Allies' goods still came in through a sealed border,
    quarantined at the port: Russian wheat unloaded in an isolated zone of Nampo in May 2020
    (Reuters, 2020-05-14), Chinese medicines flown from Shenyang in May 2022. A declared
    self-reliance line (August 2020: no outside aid at all for the floods; August 2024: recovery by
    the state's own strength, Moscow and Beijing thanked and told it would ask if need be) costs
    the same for every channel, the allies' included. One `closure_cost` serves both: each is the
    leadership's public word that outside help is unwelcome, and the record cannot tell two costs apart.
    """
    sealed = np.asarray(self_reliance) if ally else np.asarray(self_reliance) | np.asarray(border_closed)
    return np.where(sealed, ladder.closure_cost, 0.0) - np.where(resident, ladder.presence_discount, 0.0)


def offer_appeal(fit: np.ndarray, attitude: np.ndarray, ladder: Ladder) -> np.ndarray:
    """What speaks for a particular offer in a world: its content fit (2010-2012 turned on rice and
    cement versus flour and noodles) plus the world's fixed disposition toward the donor (the
    logistic decision noise)."""
    return attitude - ladder.misfit_weight * (1.0 - fit)


def situation(p: np.ndarray, ladder: Ladder) -> np.ndarray:
    """The need side, shared by all offers on a day: log pressure less the image cost."""
    return np.log(np.maximum(p, 1e-12)) - image_cost(p, ladder)


def acceptance_score(situation: np.ndarray, appeal: np.ndarray, cost: Num) -> np.ndarray:
    """Positive means accept: need beyond the donor's threshold, plus the offer's appeal, less
    its costs. With logistic noise in `appeal`, P(accept) = logistic((situation - cost - misfit)
    / decision_noise)."""
    return situation + appeal - cost


def decline(ally: bool, h: Num, u: np.ndarray, ladder: Ladder) -> np.ndarray:
    """How an offer that is not taken is answered.

    Allies and donors held in little hostility are thanked and deferred (fact 4: Russia, 2024).
    Donors held in high hostility meet silence (fact 3: Seoul, 2024; also every offer of 2022 while
    the border was sealed). In between, the offer is mostly left unanswered and sometimes refused
    outright with a stated reason (`explicit_rejection_prob`: Seoul's 2012 offer called "not
    necessary", the WFP's rice in 2019, the UN in August 2020).
    """
    if ally:
        return np.full(u.shape, DEFERRED, dtype=np.int8)
    out = np.where(u < ladder.explicit_rejection_prob, REJECTED, IGNORED)
    out = np.where(h >= ladder.silence_hostility, IGNORED, out)
    return np.where(h < ladder.courtesy_hostility, DEFERRED, out).astype(np.int8)


def counter_request(score: np.ndarray, h: Num, border_closed: bool | np.ndarray, ladder: Ladder) -> np.ndarray:
    """Whether the DPRK answers an offer it would not take as it stands by naming what it wants
    instead (rice, cement, heavy equipment): only where getting that would tip the answer
    (`counter_request_gain` on the score's scale), and never to a donor held so hostile that its
    offers meet silence (fact 3: Seoul, 2024), nor while the border is sealed (no outside assistance
    at all, so nothing to haggle over). Seoul's offers of 2006, 2007, 2010 and 2011 were
    answered so; how it ends depends on the donor's reply (`after_counter_request`).
    """
    return (score <= 0) & (score + ladder.counter_request_gain > 0) & (h < ladder.silence_hostility) & ~np.asarray(border_closed)


def after_counter_request(met: np.ndarray, haggled: np.ndarray, score: np.ndarray, ladder: Ladder) -> np.ndarray:
    """How a countered offer ends, given the donor's reply. Met: the aid is taken (Seoul 2006, 2007,
    2010). Refused: the offer lapses in silence (Seoul 2011). Haggled, the donor giving only part of
    what was named (`haggle_share` of `counter_request_gain`): taken if that part tips the answer,
    else refused outright as not worth having (Seoul's flour and noodles instead of rice and cement,
    called insignificant in 2012)."""
    part = score + ladder.haggle_share * ladder.counter_request_gain > 0
    return np.where(met, ACCEPTED, np.where(haggled, np.where(part, ACCEPTED, REJECTED), IGNORED)).astype(np.int8)


def may_request(would_accept: np.ndarray, h: Num, ladder: Ladder) -> np.ndarray:
    """Whether the DPRK asks a donor for help unoffered: it would accept, and the donor is not so
    hostile that asking is unthinkable (2007: it asked the WFP; 2016: UN agencies, NGOs, China;
    2019: Russia). Only for donors on a rung it asks at all (`asks_rung`)."""
    return would_accept & (h < ladder.request_max_hostility)


def asks_rung(rung: int, ladder: Ladder) -> bool:
    """Whether the DPRK ever asks donors on this rung before they offer. In no recorded episode did
    it ask Seoul or Washington first (2016: the North did not ask Seoul; 2006's request to Seoul
    answered Seoul's own offer, a counter-request), so by default it asks only allies and
    international bodies (`request_max_rung`)."""
    return rung <= ladder.request_max_rung


def open_rung(p: np.ndarray, ladder: Ladder) -> np.ndarray:
    """The deepest rung the need alone would open (0 = self-reliance), ignoring who is offering."""
    return np.asarray(sum((p >= t).astype(np.int8) for t in ladder.rung_thresholds))
