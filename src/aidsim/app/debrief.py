"""The debrief download: one zip with the world's settings, its dispatch, its outcome table, the
seat's offers and answers, and the figures."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Callable, Sequence

import pandas as pd

from aidsim.app import figures as figs
from aidsim.app.session import Classroom
from aidsim.app.worlds import WORLDS, Comparison

DISPATCH, OUTCOMES, SETTINGS, DECISIONS = "dispatch.md", "outcomes.csv", "settings.json", "decisions.csv"


DECISION_COLUMNS = ["day", "seat", "decision", "channel", "content_fit", "conditions", "size", "answer"]


def outcome_table(room: Classroom, comparisons: Sequence[Comparison] = ()) -> pd.DataFrame:
    """The documented responses table of the class's world, plus which donors students held and,
    after a role-play, what the model's donor did in the same world for each seat."""
    table = room.outcome_table().assign(scenario=room.preset, seed=room.seed, seated=lambda t: [bool(room.model.donor(d).seated) for d in t["donor"]])
    if comparisons:
        modelled = {c.donor: c.modelled["response"] for c in comparisons}
        table["model_response"] = [modelled.get(d, r) for d, r in zip(table["donor"], table["response"], strict=True)]
    return table


def debrief_zip(
    room: Classroom,
    shares: pd.DataFrame | None = None,
    comparisons: Sequence[Comparison] = (),
    large: bool = False,
    decisions: list[dict] | None = None,
    settings: dict | None = None,
) -> bytes:
    """The zip: settings.json (preset, title with every changed setting, sliders, seed, seat, day,
    and whatever `settings` adds, e.g. a shared room's code and seats), dispatch.md, outcomes.csv,
    decisions.csv (the seats' offers and answers: `decisions`, else the tab's own seat), many_worlds.csv
    (`shares` over WORLDS worlds, when computed) and figures/*.png (a role-play figure per comparison), each captioned with the world's title."""
    figures = {
        "need": figs.need_figure(room, large),
        "ladder": figs.ladder_figure(room, large),
        "aid": figs.aid_figure(room, large),
        "tension": figs.tension_figure(room, large),
    }
    if shares is not None:
        figures["many_worlds"] = figs.shares_figure(shares, WORLDS, large)
    for c in comparisons:
        figures["role_play" if len(comparisons) == 1 else f"role_play_{c.donor}"] = figs.comparison_figure(c, large)
    rows = decisions if decisions is not None else room.decision_rows()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(SETTINGS, json.dumps({**room.settings(), **(settings or {})}, indent=2))
        z.writestr(DISPATCH, room.dispatch_markdown())
        if room.seat or rows:
            columns = DECISION_COLUMNS + [c for c in ("student",) if any(c in r for r in rows)]
            z.writestr(DECISIONS, pd.DataFrame(rows, columns=columns).to_csv(index=False))
        z.writestr(OUTCOMES, outcome_table(room, comparisons).to_csv(index=False))
        if shares is not None:
            z.writestr("many_worlds.csv", shares.to_csv(index_label="donor"))
        for name, fig in figures.items():
            z.writestr(f"figures/{name}.png", figs.png(fig, caption=room.title))
    return buf.getvalue()


def untraced(make: Callable[[], bytes]) -> Callable[[], bytes]:
    """`make` for a `solara.FileDownload`, run without a trace function. Solara runs a download's
    callable under a cancel guard that traces every line executed (`sys.settrace`), which makes
    the zip's matplotlib drawing several times slower, and a class's debriefs queue on one server.
    The zip takes a second or two, so it is not worth cancelling."""

    def run() -> bytes:
        previous = sys.gettrace()
        sys.settrace(None)
        try:
            return make()
        finally:
            sys.settrace(previous)

    return run
