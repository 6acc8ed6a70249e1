"""The dispatch: a plain-language, day-by-day account of one replicate world.

Built at the edge from the model's state (offers, answers, requests, events, need), so it can be
written for a finished run or for a classroom model paused on any day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from aidsim.model.ladder import NO_DAY, Response
from aidsim.report.style import DonorNames, donor_label

if TYPE_CHECKING:
    from aidsim.model.agents import DonorAgent
    from aidsim.model.model import AidModel

ARTICLE = {"un_agencies", "red_cross"}
"""Donors whose short name takes "the" inside a sentence ("the Red Cross", but "NGOs")."""


def who(donor_id: str) -> str:
    """A donor as the dispatch names it: its short name (`report.style.donor_label`), with an article if it needs one."""
    name = donor_label(donor_id, short=True)
    return f"the {name}" if donor_id in ARTICLE else name


def possessive(name: str) -> str:
    """The possessive: "Moscow's", "the UN agencies'"."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


WHO = DonorNames(who)
"""donor id -> the dispatch's name for it (`who`), as a mapping."""
PLURAL = {"un_agencies", "ngos"}
OWN_CHANNEL = {"un_agencies": "un", "red_cross": "red_cross", "ngos": "ngo"}  # saying it again adds nothing
CHANNEL = {"direct": "directly", "red_cross": "through the Red Cross", "un": "through the UN", "ngo": "through NGOs"}


@dataclass(frozen=True, order=True)
class Entry:
    """One line of the dispatch."""

    day: int
    order: int
    text: str
    actor: str = ""


def _answer_text(donor: DonorAgent, response: int, silence: bool) -> str:
    name = who(donor.donor_id)
    if response == Response.ACCEPTED:
        return f"Pyongyang accepts {possessive(name)} aid."
    if response == Response.DEFERRED:
        return f"Pyongyang thanks {name} warmly but says recovery will follow its own plan; the door stays open."
    if response == Response.REJECTED:
        return f"Pyongyang turns down {possessive(name)} offer outright."
    if silence:
        return f"Pyongyang does not answer {name}; state media denounces the offer's sponsors as enemies."
    return f"Pyongyang does not answer {name}."


def _counter_text(donor: DonorAgent, world: int) -> str:
    name = who(donor.donor_id)
    subject = name[0].upper() + name[1:]
    asked = f"Pyongyang answers {possessive(name)} offer by naming what it wants instead: rice, cement and heavy equipment."
    response = int(donor.first_answer[world])
    if donor.haggled[world]:
        ends = "and that is enough: the aid is accepted." if response == Response.ACCEPTED else "Pyongyang calls it insignificant and refuses it."
        return f"{asked} {subject} offers only part of it, {ends}"
    if response == Response.ACCEPTED:
        return f"{asked} {subject} agrees, and the aid is accepted."
    return f"{asked} {subject} will not send them; the offer lapses without an answer."


def entries(model: AidModel, world: int = 0) -> list[Entry]:
    """The dispatch entries for one world (an index into the batch), oldest first."""
    rules = model.params.dprk
    d = model.dprk
    out = [
        Entry(
            0,
            0,
            f"Floods strike: damage {d.need0[world]:.1f}x the July 2024 Amnok floods. "
            "The state mobilises its own rescue and announces that everything is under control.",
            "dprk",
        )
    ]
    for day, name in model.applied_events:
        note = next((e.note for e in model.params.events if e.name == name and e.day == day), "")
        out.append(Entry(day, 1, f"{name}. {note}".strip(), "events"))
    for donor in model.donors:
        name, i = who(donor.donor_id), world
        if donor.request_day[i] != NO_DAY:
            out.append(Entry(int(donor.request_day[i]), 2, f"Pyongyang asks {name} for help.", "dprk"))
        if donor.offer_day[i] != NO_DAY:
            channel = donor.profile.channel
            how = "" if OWN_CHANNEL.get(donor.donor_id) == channel else " " + CHANNEL[channel]
            asked = " in answer to its request" if donor.requested[i] and donor.request_day[i] <= donor.offer_day[i] else ""
            verb = "offer" if donor.donor_id in PLURAL else "offers"
            out.append(Entry(int(donor.offer_day[i]), 3, f"{name[0].upper() + name[1:]} {verb} relief supplies{how}{asked}.", donor.donor_id))
        if donor.first_answer_day[i] != NO_DAY and donor.countered[i]:
            out.append(Entry(int(donor.first_answer_day[i]), 4, _counter_text(donor, i), "dprk"))
        elif donor.first_answer_day[i] != NO_DAY:
            silence = bool(np.asarray(donor.hostility >= rules.silence_hostility).reshape(-1)[0])
            out.append(Entry(int(donor.first_answer_day[i]), 4, _answer_text(donor, int(donor.first_answer[i]), silence), "dprk"))
        if donor.first_answer[i] == Response.DEFERRED and donor.status[i] == Response.ACCEPTED:
            out.append(Entry(int(donor.accept_day[i]), 5, f"As need mounts, Pyongyang takes up {possessive(name)} offer after all.", "dprk"))
    if model.history is not None and model.day > 0:
        unmet = model.history.array("unmet")[:, world]
        peak = int(np.argmax(unmet))
        cleared = np.flatnonzero((unmet <= 1e-9) & (np.arange(len(unmet)) > peak))
        if len(cleared):
            share = d.domestic[world] / max(d.domestic[world] + d.foreign[world], 1e-12)
            out.append(Entry(int(cleared[0]), 6, f"Relief work is reported complete; {share:.0%} of it done by the state itself.", "dprk"))
    return sorted(out)


def dispatch_markdown(model: AidModel, world: int = 0) -> str:
    """The dispatch as Markdown, oldest first."""
    s = model.params.scenario
    title = s.title or s.name
    rep = int(model.replicate_ids[world])
    lines = [f"# Dispatch: {title}", "", f"Replicate {rep}, seed {model.params.seed}, day 0 to {model.day}.", ""]
    lines += [f"- **Day {e.day}** — {e.text}" for e in entries(model, world)]
    return "\n".join(lines) + "\n"
