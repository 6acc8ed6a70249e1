"""The Mesa agents: the DPRK and the donors.

Each agent is one country or body; its state is a set of numpy arrays with one element per
replicate world, so one agent object serves one world in the classroom or 100,000 in a sweep.
The agents hold state and call the decision rules; the rules themselves live in ladder.py (the
DPRK) and donors.py (everyone else). Work is done only where it can change something (offers
not yet made, answers due, aid in the pipeline), which keeps a day cheap once worlds settle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from aidsim.model import donors, flood, ladder
from aidsim.model.ladder import ACCEPTED, DEFERRED, NO_DAY, NOT_OFFERED, PENDING
from aidsim.model.params import DONORS, Donor
from aidsim.model.streams import logistic

if TYPE_CHECKING:
    from aidsim.model.model import AidModel


def at(x: Any, idx: np.ndarray) -> Any:
    """`x` restricted to the worlds `idx`, whether it is per-world or shared by all worlds."""
    return x[idx] if isinstance(x, np.ndarray) and x.ndim else x


class DonorAgent(mesa.Agent["AidModel"]):
    """A donor (Russia, China, Seoul, Washington, UN agencies, the Red Cross, NGOs)."""

    def __init__(self, model: AidModel, donor_id: str, profile: Donor, attitude_u: np.ndarray):
        super().__init__(model)
        self.donor_id = donor_id
        self.index = DONORS.index(donor_id)
        self.slots = range(4 * self.index, 4 * self.index + 4)  # daily draws: offer, content fit, how declined, counter-request met
        self.profile = profile
        w = model.worlds
        self.status = np.zeros(w, dtype=np.int8)
        self.offer_day = np.full(w, NO_DAY, dtype=np.int32)
        self.first_answer = np.zeros(w, dtype=np.int8)
        self.first_answer_day = np.full(w, NO_DAY, dtype=np.int32)
        self.response_day = np.full(w, NO_DAY, dtype=np.int32)
        self.accept_day = np.full(w, NO_DAY, dtype=np.int32)
        self.requested = np.zeros(w, dtype=bool)
        self.countered = np.zeros(w, dtype=bool)  # the DPRK named what it wanted instead
        self.request_day = np.full(w, NO_DAY, dtype=np.int32)
        self.fit = np.broadcast_to(np.asarray(profile.content_fit, dtype=float), (w,)).copy()
        self.size = np.zeros(w)
        self.delivered = np.zeros(w)
        self.today = np.zeros(w)
        self.accepted = np.flatnonzero(self.accept_day != NO_DAY)  # worlds whose aid was accepted
        self.flowing_until = 0  # the day after the last accepted delivery window closes
        # A world's standing disposition toward this donor: the ladder's decision noise.
        self.attitude = logistic(attitude_u, model.params.dprk.decision_noise)
        self.appeal = ladder.offer_appeal(self.fit, self.attitude, model.params.dprk)
        self._signal = donors.need_signal(profile, model.visible)
        self.n_waiting, self.n_pending, self.n_deferred, self.n_accepted = w, 0, 0, 0
        self.seated = False  # True when a person decides this donor's offers (classroom role-play)
        self.haggled = np.zeros(w, dtype=bool)  # the donor gave only part of what was named
        self.counter_reply: str | None = None  # a seated donor's standing reply (donors.COUNTER_REPLIES); None: ask the person
        self.refresh()

    def refresh(self) -> None:
        """Recompute what depends on tension and relations (at the start and after an event)."""
        m, p = self.model, self.profile
        channel = m.params.channels[p.channel]
        self.relation = m.relations[self.donor_id]
        self.hostility = ladder.hostility(p, channel, m.tension)
        self.conditions = np.clip(p.conditions + channel.conditions, 0.0, 1.0)
        body = channel.via or self.donor_id  # whose rung and presence the aid takes
        rung = m.params.actors[channel.via].rung if channel.via else p.rung
        log_thr = ladder.log_threshold(rung, self.hostility, self.relation, m.params.dprk)
        resident = m.params.access.resident.get(body, False)
        access = ladder.access_cost(resident, m.border_closed, m.self_reliance, p.ally, m.params.dprk)
        self.cost = ladder.offer_cost(log_thr, self.conditions, m.params.dprk) + access

    def step(self) -> None:
        """Offer today or not (unasked, or because Pyongyang asked), then deliver accepted aid."""
        m, day = self.model, self.model.day
        if self.n_waiting and not self.seated:
            waiting = np.flatnonzero(self.status == NOT_OFFERED)
            u_offer = m.streams.uniform(day, self.slots[0], waiting)
            p = donors.offer_probability(self.profile, day, at(self._signal, waiting), at(self.relation, waiting), at(self.hostility, waiting))
            offers = (u_offer < p) | (self.requested[waiting] & (u_offer < at(self.profile.offer.answers_request, waiting)))
            self.make_offer(waiting[offers], donors.offer_fit(self.profile, m.streams.uniform(day, self.slots[1], waiting[offers])))
        if self.n_accepted and day < self.flowing_until:
            # Only worlds that accepted can receive aid: the rule runs on those, zero elsewhere.
            idx, today = self.accepted, np.zeros(m.worlds)
            today[idx] = donors.delivered_today(self.profile, self.size[idx], self.accept_day[idx], day)
            self.today = today
        elif self.n_accepted:
            self.today = np.zeros(m.worlds)  # every delivery window has closed

    def seat(self) -> None:
        """Hand this donor's offer decisions to a person: the model stops offering for it."""
        self.seated = True

    def unseat(self) -> None:
        """Give this donor's decisions back to its own rules (a shared room's absent student)."""
        self.seated = False

    def offer_now(self, channel: str, content_fit: float, conditions: float, size: float) -> None:
        """A seated donor's decision for today, applied in every world where it has not offered yet:
        offer through `channel`, with the given content fit, conditions and size (share of the visible
        damage). Call before `model.step()`; the DPRK answers by its usual rules."""
        self.profile = self.profile.model_copy(update={"channel": channel, "conditions": conditions, "offer_size": size})
        self.refresh()
        waiting = np.flatnonzero(self.status == NOT_OFFERED)
        self.make_offer(waiting, content_fit, day=self.model.day + 1)

    def reply_to_counter_request(self, reply: str) -> None:
        """A seated donor's reply when Pyongyang names what it wants instead of its offer: "meet",
        "haggle" (give part of it) or "refuse" (ladder.after_counter_request says how each ends).
        Pyongyang answers on the next step; the reply stands for any later counter-request."""
        if reply not in donors.COUNTER_REPLIES:
            raise ValueError(f"reply {reply!r}: choose one of {', '.join(donors.COUNTER_REPLIES)}")
        self.counter_reply = reply

    def make_offer(self, idx: np.ndarray, fit: np.ndarray | float, day: int | None = None) -> None:
        """Put an offer on the table in worlds `idx`, with the given content fit."""
        if not len(idx):
            return
        self.status[idx] = PENDING
        self.offer_day[idx] = self.model.day if day is None else day
        self.fit[idx] = fit
        self.appeal[idx] = ladder.offer_appeal(self.fit[idx], self.attitude[idx], self.model.params.dprk)
        self.size[idx] = donors.offer_size(self.profile, at(self.model.visible, idx))
        self.n_waiting -= len(idx)
        self.n_pending += len(idx)

    def answer(self, idx: np.ndarray, response: np.ndarray | int) -> None:
        """Record the DPRK's answer in worlds `idx` (called by the DPRK)."""
        if not len(idx):
            return
        day, before = self.model.day, self.status[idx]
        self.n_pending -= int(np.count_nonzero(before == PENDING))
        self.n_deferred -= int(np.count_nonzero(before == DEFERRED))
        self.status[idx] = response
        self.response_day[idx] = day
        first = idx[self.first_answer[idx] == NOT_OFFERED]
        self.first_answer[first] = self.status[first]
        self.first_answer_day[first] = day
        now = self.status[idx]
        accepted = idx[now == ACCEPTED]
        self.accept_day[accepted] = day
        self.n_accepted += len(accepted)
        if len(accepted):
            self.accepted = np.flatnonzero(self.accept_day != NO_DAY)
            self.flowing_until = max(self.flowing_until, day + self.profile.delivery_lag_days + self.profile.delivery_days)
        self.n_deferred += int(np.count_nonzero(now == DEFERRED))


class Dprk(mesa.Agent["AidModel"]):
    """North Korea: relieves need with its own means and answers every offer (rules: ladder.py)."""

    def __init__(self, model: AidModel, need_u: np.ndarray, capacity_u: np.ndarray):
        super().__init__(model)
        params = model.params
        self.need0 = flood.initial_need(params.flood, need_u)
        self.capacity = flood.full_capacity(params.dprk, capacity_u)
        self.unmet = flood.inflow(self.need0, 0, params.flood.onset_days) * np.ones(model.worlds)
        self.peak_unmet = self.unmet.copy()
        self.domestic = np.zeros(model.worlds)
        self.foreign = np.zeros(model.worlds)
        self.pressure = flood.pressure(self.unmet, self.capacity, params.dprk.planning_days)

    def step(self) -> None:
        """Answer offers that are due, take up deferred ones, ask for help, then relieve need."""
        m, day, rules = self.model, self.model.day, self.model.params.dprk
        need_side = ladder.situation(self.pressure, rules)
        for donor in m.donors:
            if not (donor.n_pending or donor.n_deferred or donor.n_waiting):
                continue
            score = ladder.acceptance_score(need_side, donor.appeal, donor.cost)
            yes = score > 0
            if donor.n_pending:
                due = np.flatnonzero((donor.status == PENDING) & (donor.offer_day <= day - rules.response_delay_days))
                asking = donor.seated and donor.counter_reply is None  # a counter-request waits for the person's reply
                if asking:
                    due = due[~donor.countered[due]]
                u_how = m.streams.uniform(day, donor.slots[2], due)
                answer = np.where(yes[due], ACCEPTED, ladder.decline(donor.profile.ally, at(donor.hostility, due), u_how, rules))
                if not donor.profile.ally:  # allies are thanked and deferred, never haggled with
                    countered = ladder.counter_request(score[due], at(donor.hostility, due), at(m.border_closed, due), rules)
                    if donor.seated:  # counter-requests made earlier, now answered by the person's reply
                        countered |= donor.countered[due]
                    if countered.any():
                        donor.countered[due[countered]] = True
                        if asking:
                            due, answer = due[~countered], answer[~countered]
                        else:
                            if donor.seated:  # the person's standing reply
                                met, haggled = np.full(len(due), donor.counter_reply == "meet"), np.full(len(due), donor.counter_reply == "haggle")
                            else:
                                u_reply, prof = m.streams.uniform(day, donor.slots[3], due), donor.profile
                                met, haggled = donors.counter_reply(at(prof.meets_counter_request, due), at(prof.haggles_counter_request, due), u_reply)
                            answer = np.where(countered, ladder.after_counter_request(met, haggled, score[due], rules), answer)
                            donor.haggled[due[countered & haggled]] = True
                donor.answer(due, answer)
            if donor.n_deferred:
                # A deferred offer keeps the door open: taken up once need forces it (Kim to Putin, 2024).
                take_up = np.flatnonzero((donor.status == DEFERRED) & yes)
                donor.answer(take_up, ACCEPTED)
                donor.request_day[take_up] = day
                donor.requested[take_up] = True
            if donor.n_waiting and ladder.asks_rung(donor.profile.rung, rules):
                ask = (donor.status == NOT_OFFERED) & ~donor.requested & ladder.may_request(yes, donor.hostility, rules)
                donor.request_day[ask] = day
                donor.requested |= ask
        self.relieve(day)

    def relieve(self, day: int) -> None:
        """Apply today's foreign deliveries, then the state's own mobilised capacity (self-reliance)."""
        m, rules = self.model, self.model.params.dprk
        flowing = [d for d in m.donors if d.n_accepted and day < d.flowing_until]
        if flowing:
            arriving = sum(d.today for d in flowing)
            got = np.flatnonzero(arriving)  # worlds receiving aid today; elsewhere nothing changes
            arriving = arriving[got]
            foreign = np.minimum(arriving, self.unmet[got])
            # Scale each donor's delivery down when together they exceed what is left to do.
            scale = foreign / arriving
            for d in flowing:
                d.delivered[got] += d.today[got] * scale
            self.unmet[got] -= foreign
            self.foreign[got] += foreign
        domestic = np.minimum(flood.mobilised(self.capacity, day, rules.mobilisation_days), self.unmet)
        self.unmet -= domestic
        self.domestic += domestic
        self.unmet += flood.inflow(self.need0, day, m.params.flood.onset_days)
        np.maximum(self.peak_unmet, self.unmet, out=self.peak_unmet)
        self.pressure = flood.pressure(self.unmet, self.capacity, rules.planning_days)
