"""The parts both pages share (the classroom at / and the shared room at /room): the live figures,
the dispatch, a seat's decision card, a role-play result, the page's styles, and the one-line error."""

from __future__ import annotations

import html
import logging
from functools import partial

import solara

from aidsim.app import live
from aidsim.app.session import CHANNELS, REPLIES, SEATS, Classroom, Offer, Reply, SeatDecision, presets, settings_params
from aidsim.app.worlds import Comparison
from aidsim.report.narrative import possessive
from aidsim.report.style import RESPONSE_LABELS

LARGE_CSS = """
.v-application .v-main, .v-application .v-navigation-drawer { font-size: 1.3rem; }
.v-application .v-card__title { font-size: 1.7rem; }
.v-application .v-label, .v-application .v-select__selection, .v-application .v-btn, .v-application input { font-size: 1.25rem !important; }
.v-application .v-card__subtitle, .v-application .v-alert { font-size: 1.15rem; }
.dispatch-line, .briefing, .day-counter { font-size: 1.3rem; }
"""
PAGE_CSS = """
.dispatch-feed { max-height: 560px; overflow-y: auto; }
.dispatch-line { padding: 2px 0; border-bottom: 1px solid #eee; }
.day-badge { font-weight: bold; color: #0072B2; margin-right: 0.4em; }
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { flex-basis: 100%; margin-bottom: -4px; }
.day-counter { font-weight: bold; }
.figure, .figure > div { width: 100%; min-width: 0; }
.figure .js-plotly-plot, .figure .plot-container { width: 100% !important; }
.world-title { font-size: 1.3rem; margin: 4px 0 8px 0; }
.v-application .v-label { word-break: normal; overflow-wrap: normal; white-space: normal; }
"""


def preset_titles() -> dict[str, str]:
    """Preset name -> title shown in the menu: the recorded floods first, then the what-ifs, each
    group marked (a preset's own title, else its name)."""
    titles = {p: settings_params(p, {}, 0).scenario.title or p for p in presets("scenario")}
    whatif = {p for p, t in titles.items() if t.lower().startswith("what if")}
    history = {p: f"Recorded: {t}" for p, t in sorted(titles.items(), key=lambda kv: kv[1]) if p not in whatif}
    return history | {p: titles[p] for p in sorted(whatif, key=titles.__getitem__)}


def one_line(exc: BaseException) -> str:
    """An error as one line for the page (never a traceback; the full one goes to the server log)."""
    logging.getLogger("aidsim.app").warning("page error", exc_info=exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


@solara.component
def Figure(board: live.Board, key: str, make, dependencies: list):
    """One live figure, drawn by plotly.js in the browser. Its widget lives as long as the tab
    (`board`) and is updated in place when `dependencies` change; `key` is its CSS class (the
    tests find it so)."""
    failed = solara.use_reactive("")

    def build():
        try:
            spec = make()
        except Exception as exc:  # noqa: BLE001 - a figure that fails says so in one line; the page lives
            failed.set(f"{key}: {one_line(exc)}")
            return None
        failed.set("")
        return spec

    def refresh():
        spec = build()
        if spec is not None and key in board.widgets:
            board.update(key, spec)

    solara.use_effect(refresh, dependencies)
    if key not in board.widgets:
        spec = build()
        if spec is None:
            solara.Error(failed.value, classes=["page-error"])
            return
        board.show(key, lambda: spec)
    if failed.value:
        solara.Error(failed.value, classes=["page-error"])
    with solara.Column(classes=["figure", key], gap="0px"):
        solara.display(board.widgets[key])


@solara.component
def WorldFigures(room: Classroom, board: live.Board, drawn: int, large: bool):
    """The class's world in five figures, drawn in each tab's own browser (no drawing lock shared
    between tabs): `drawn` moves every day, or every N days while playing."""
    makes = live.WORLD_FIGURES
    for row in (makes[:2], makes[2:4]):
        with solara.Columns([1, 1]):
            for make in row:
                Figure(board, make.__name__, partial(make, room, large), [drawn, large])
    Figure(board, makes[4].__name__, partial(makes[4], room, large), [drawn, large])


def feed_markup(room: Classroom) -> str:
    """The dispatch of the class's world as HTML, newest first (its text escaped)."""
    return "".join(f'<div class="dispatch-line"><span class="day-badge">Day {e.day}</span>{html.escape(e.text)}</div>' for e in room.feed())


@solara.component
def Feed(room: Classroom, board: live.Board, version: int):
    """The dispatch of the class's world in plain language, newest first (one HTML block, the
    tab's own: a new day is one message to the browser, however long the dispatch)."""
    with solara.Card("Dispatch (newest first)"):
        solara.display(board.html("dispatch-feed", feed_markup(room)))


def day_text(room: Classroom) -> str:
    """The day counter's text."""
    return f"Day {room.day} of {room.params.horizon_days}"


def show_day(room: Classroom, board: live.Board, large: bool, draw: bool) -> None:
    """A day of Play on a tab's screen without re-rendering the page: the day counter, the dispatch
    and, when `draw`, the five figures, each of the tab's widgets updated in place (those the tab
    has not shown yet are left for its next render)."""
    board.label("day-counter", day_text(room))
    if "dispatch-feed" in board.blocks:
        board.html("dispatch-feed", feed_markup(room))
    for make in live.WORLD_FIGURES if draw else ():
        if make.__name__ in board.widgets:
            board.update(make.__name__, make(room, large))


@solara.component
def Decision(seat: str, day: int, due: str, requested: bool, on_decided, waiting: str = "The model waits for you."):
    """The seat's decision for day `day + 1`: offer (what, how, with which conditions) or wait, or,
    when `due` is "reply", meet or refuse Pyongyang's counter-request. `on_decided` gets the decision
    and returns a one-line error, or "" when it was taken."""
    channel = solara.use_reactive("red_cross")
    fit = solara.use_reactive(0.6)
    conditions = solara.use_reactive(0.3)
    size = solara.use_reactive(0.5)
    error = solara.use_reactive("")

    def decide(decision: SeatDecision) -> None:
        error.set(on_decided(decision) or "")

    def offer():
        try:
            made = Offer(channel.value, fit.value, conditions.value, size.value)
        except ValueError as exc:
            error.set(one_line(exc))
            return
        decide(made)

    if due == "reply":
        with solara.Card(f"Your decision as {SEATS[seat]}: day {day + 1}", classes=["decision-card"], style={"border": "3px solid #D55E00"}):
            solara.Warning(f"Pyongyang answers {possessive(SEATS[seat])} offer by naming what it wants instead (rice, cement, heavy equipment).")
            solara.Text(
                "Send what it names, and the aid is taken; send only part of it, and Pyongyang takes it if that is enough "
                "and otherwise refuses it outright; refuse, and your offer lapses in silence."
            )
            with solara.Row():
                for i, (reply, words) in enumerate(REPLIES.items()):
                    solara.Button(words.capitalize(), color="primary" if i == 0 else None, on_click=lambda reply=reply: decide(Reply(reply)))
            if error.value:
                solara.Error(error.value, classes=["page-error"])
        return
    with solara.Card(f"Your decision as {SEATS[seat]}: day {day + 1}", classes=["decision-card"], style={"border": "3px solid #D55E00"}):
        if requested:
            solara.Warning(f"Pyongyang has asked {SEATS[seat]} for help.")
        solara.Text(f"{waiting} Offer aid now, or wait a day and watch.")
        solara.Select(
            "Channel",
            values=list(CHANNELS.values()),
            value=CHANNELS.get(channel.value, CHANNELS["red_cross"]),
            on_value=lambda t: channel.set(next((k for k, v in CHANNELS.items() if v == t), "red_cross")),
        )
        solara.SliderFloat(f"Content fit: {fit.value:.1f} (1 = exactly what Pyongyang asked for)", value=fit, min=0, max=1, step=0.1)
        solara.SliderFloat(f"Conditions: {conditions.value:.1f} (0 = none, 1 = monitors and staff on the ground)", value=conditions, min=0, max=1, step=0.1)
        solara.SliderFloat(f"Size: {size.value:.1f} (share of the visible damage)", value=size, min=0.1, max=2, step=0.1)
        with solara.Row():
            solara.Button("Offer aid", color="primary", on_click=offer)
            solara.Button("Wait a day", on_click=lambda: decide(None))
        if error.value:
            solara.Error(error.value, classes=["page-error"])


@solara.component
def RoleplayResult(comparison: Comparison, board: live.Board, version: int, large: bool, you: str = "you"):
    """After a role-play: a seat's outcome against the model donor's, here and over many worlds
    (`you`: how the page names the seat's student, "you" or "Ben")."""
    mine, model = comparison.student, comparison.modelled
    describe = lambda o: "did not offer" if o["offer_day"] is None else f"offered on day {o['offer_day']}: {RESPONSE_LABELS[o['response']]}"  # noqa: E731
    seat = SEATS[comparison.donor]
    key = "comparison_figure" if you == "you" else f"comparison_figure_{comparison.donor}"  # one widget per seat on a room's screen
    with solara.Card(f"Role-play result: {seat}", classes=["roleplay-result"]), solara.Columns([1, 1]):
        with solara.Column():
            solara.HTML(tag="p", unsafe_innerHTML=f"In this world, <b>{html.escape(you)} ({seat})</b> {describe(mine)}.", classes=["roleplay-student"])
            solara.HTML(tag="p", unsafe_innerHTML=f"<b>The model's {seat}</b>, same world, same settings, {describe(model)}.", classes=["roleplay-model"])
            solara.Text(
                f"The bars replay the seat's decisions, and let the model decide, in {comparison.worlds:,} worlds with these settings: "
                "was it the decision or luck?"
            )
        Figure(board, key, lambda: live.comparison_figure(comparison, large), [version, large])
