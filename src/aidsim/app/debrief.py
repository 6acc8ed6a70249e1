"""The debrief download: one zip with the world's settings, its dispatch, its outcome table, the
seat's offers and answers, and the figures."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd

from aidsim.app import figures as figs
from aidsim.app.session import Classroom
from aidsim.app.worlds import WORLDS, Comparison

DISPATCH, OUTCOMES, SETTINGS, DECISIONS = "dispatch.md", "outcomes.csv", "settings.json", "decisions.csv"


DECISION_COLUMNS = ["day", "seat", "decision", "channel", "content_fit", "conditions", "size", "answer"]


def outcome_table(room: Classroom, comparison: Comparison | None = None) -> pd.DataFrame:
    """The documented responses table of the class's world, plus who sat where and, after a
    role-play, what the model's donor did in the same world."""
    table = room.outcome_table().assign(scenario=room.preset, seed=room.seed, seated=lambda t: t["donor"] == room.seat)
    if comparison is not None:
        table["model_response"] = table["response"].where(~table["seated"], comparison.modelled["response"])
    return table


def debrief_zip(room: Classroom, shares: pd.DataFrame | None = None, comparison: Comparison | None = None, large: bool = False) -> bytes:
    """The zip: settings.json (preset, title with every changed setting, sliders, seed, seat, day),
    dispatch.md, outcomes.csv, decisions.csv (the seat's offers and answers, after a role-play),
    many_worlds.csv (`shares` over WORLDS worlds, when computed) and figures/*.png."""
    figures = {
        "need": figs.need_figure(room, large),
        "ladder": figs.ladder_figure(room, large),
        "aid": figs.aid_figure(room, large),
        "tension": figs.tension_figure(room, large),
    }
    if shares is not None:
        figures["many_worlds"] = figs.shares_figure(shares, WORLDS, large)
    if comparison is not None:
        figures["role_play"] = figs.comparison_figure(comparison, large)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(SETTINGS, json.dumps(room.settings(), indent=2))
        z.writestr(DISPATCH, room.dispatch_markdown())
        if room.seat:
            z.writestr(DECISIONS, pd.DataFrame(room.decision_rows(), columns=DECISION_COLUMNS).to_csv(index=False))
        z.writestr(OUTCOMES, outcome_table(room, comparison).to_csv(index=False))
        if shares is not None:
            z.writestr("many_worlds.csv", shares.to_csv(index_label="donor"))
        for name, fig in figures.items():
            z.writestr(f"figures/{name}.png", figs.png(fig))
    return buf.getvalue()
