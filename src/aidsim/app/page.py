"""`aidsim-app`: the classroom page (Solara, served from this machine, no internet needed).

    aidsim-app                      # http://127.0.0.1:8765 on this computer
    aidsim-app --host 0.0.0.0       # students' laptops on the classroom network reach it too

Every browser tab gets its own `Classroom` (session.py): its own world, sliders, seat and
Reset. The page is Solara, the toolkit under Mesa's SolaraViz, but with its own controller:
SolaraViz's Step/Play/Reset cannot stop a run for a student's decision and resume it (setting
`model.running = False` disables Step and Play until Reset), and role-play needs exactly that.
This module only lays out the page and forwards clicks; the work is in session (one world),
worlds (many worlds), live and figures, debrief, pacing (Play's pace). The shared room, one world
for a whole class with a donor's seat for each student, is the second page, at /room (room.py,
room_page.py).
"""

from __future__ import annotations

import html
import logging
import time
from functools import partial
from typing import cast

import solara
import solara.lab

from aidsim.app import assets, live
from aidsim.app.debrief import debrief_zip, untraced
from aidsim.app.pacing import DayShown, Turns
from aidsim.app.room_page import RoomPage
from aidsim.app.session import KNOBS, SEATS, SHORT, Classroom, SeatDecision, parse_seed, world_title
from aidsim.app.widgets import LARGE_CSS, PAGE_CSS, Decision, Feed, Figure, RoleplayResult, WorldFigures, day_text, one_line, preset_titles, show_day
from aidsim.app.worlds import WORLDS, Heatmap, compare, heatmap, outcome_shares
from aidsim.model.params import DONORS
from aidsim.report.narrative import possessive
from aidsim.report.style import VERMILLION

logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
assets.refuse_cdn_fetches()  # this module is what the server runs: from here on it fetches nothing

PLAY_SECONDS = 0.6  # pause between days while playing: time to read the feed aloud
TURN_SECONDS = 0.02  # Play's least pause between days (the "fastest" speed): the tab's own clicks (Pause) get their turn
PLAY_TURNS = Turns()  # one tab at a time shows a day of Play (pacing.Turns); one that waits too long skips showing, never a day


@solara.component
def Debrief(room: Classroom, board: live.Board, version: int, large: bool):
    """After a role-play: the seat against the model's donor (computed once per finished run)."""
    RoleplayResult(solara.use_memo(lambda: compare(room), [version]), board, version, large)


@solara.component
def ThisWorld(room: Classroom, board: live.Board, version: int, large: bool, decide):
    """The class's world: its title, the seat's decision card when one is due, the role-play result
    at the end, the five live figures and the dispatch (`version` moves on every click; a day of
    Play updates the figures and the dispatch in place, see widgets.show_day)."""
    solara.HTML(tag="h2", unsafe_innerHTML=html.escape(room.title), classes=["world-title"])
    with solara.Column(gap="0px"):  # always there: cards come and go inside it, the figures below stay mounted
        if room.knobs != room.model_knobs:
            solara.Info("The sliders have moved since this world began: press Reset to run them here (Many worlds uses them already).")
        if room.seat is not None and room.awaiting_decision:
            Decision(room.seat, room.day, room.due(room.seat), bool(room.model.donor(room.seat).requested[0]), decide)
        if room.done and room.seat:
            Debrief(room, board, version, large)
    with solara.Columns([2, 1]):
        with solara.Column():
            WorldFigures(room, board, version, large)
        Feed(room, board, version)


@solara.component
def ManyWorlds(room: Classroom, board: live.Board, settings: tuple, large: bool):
    """Each donor's outcome over 1,000 worlds for the current sliders, and a heatmap over two knobs."""
    knob_labels = {k.label: k.key for k in KNOBS}
    who = {"any donor": None} | {SHORT[d]: d for d in DONORS}
    x = solara.use_reactive(KNOBS[0].label)
    y = solara.use_reactive(KNOBS[3].label)
    donor = solara.use_reactive("Seoul")
    result = solara.use_reactive(cast(Heatmap | None, None))
    error = solara.use_reactive("")

    def shares_now():
        try:
            return outcome_shares(room.preset, room.knobs, room.seed), ""
        except Exception as exc:  # noqa: BLE001 - one line on the page, never a traceback
            return None, one_line(exc)

    computed, failed = solara.use_memo(shares_now, [settings])

    def compute():
        try:
            if x.value not in knob_labels or y.value not in knob_labels or donor.value not in who:
                raise ValueError("heatmap: choose the knobs and the donor from the lists")
            result.set(heatmap(room.preset, room.knobs, room.seed, knob_labels[x.value], knob_labels[y.value], who[donor.value]))
            error.set("")
        except Exception as exc:  # noqa: BLE001
            error.set(one_line(exc))

    with solara.Columns([3, 2]):
        with solara.Card("Many worlds: same settings, 1,000 replicate worlds"):
            solara.Text(world_title(room.preset, room.knobs), classes=["many-worlds-title"])
            if computed is None:
                solara.Error(failed, classes=["page-error"])
            else:
                shares, seconds = computed
                Figure(board, "shares_figure", lambda: live.shares_figure(shares, WORLDS, large), [settings, large])
                solara.Text(
                    f"Computed in {seconds:.2f} s for the current sliders and seed (once: every tab with the same settings shares it).",
                    classes=["many-worlds-time"],
                )
        with solara.Card("Where would it go differently? (heatmap)"):
            solara.Select("Across (x)", values=list(knob_labels), value=x)
            solara.Select("Up (y)", values=list(knob_labels), value=y)
            solara.Select("Whose aid accepted", values=list(who), value=donor)
            solara.Button("Compute heatmap", color="primary", on_click=compute)
            if error.value:
                solara.Error(error.value, classes=["page-error"])
            if result.value is not None:
                h = result.value
                Figure(board, "heatmap_figure", lambda: live.heatmap_figure(h, large), [id(h), large])
                solara.Text(f"{len(h.xs) * len(h.ys)} cells x {h.worlds} worlds in {h.seconds:.1f} s; other settings as on the sliders.")


@solara.component
def Scenario(room: Classroom, choose_preset):
    """The sidebar's scenario card: the preset menu, its restore button and its briefing."""
    titles = solara.use_memo(preset_titles, [])
    by_title = {t: p for p, t in titles.items()}
    with solara.Card("Scenario"):
        solara.Select("Preset", values=list(by_title), value=titles.get(room.preset, room.preset), on_value=lambda t: choose_preset(by_title.get(t, t)))
        solara.Button("Restore the preset's settings", on_click=lambda: choose_preset(room.preset), text=True, classes=["restore-preset"])
        solara.Text(room.params.scenario.briefing, classes=["briefing"])


@solara.component
def DayControls(room: Classroom, board: live.Board, version: int, act, reset, bump, playing, speed, every, large, day, error):
    """The sidebar's day card: the day counter, Step/Play/Reset, Run to the end, the play speed;
    and Play itself. A day of Play re-renders nothing: it updates the tab's day counter, dispatch
    and figures in place (widgets.show_day). Re-rendering the page every day was most of Play's
    cost on a server shared by a class; Play and Pause re-render this card only, and `version`
    (moved by every other click) brings it up to date with the world."""
    day_shown = solara.use_memo(DayShown, [])

    def show(draw: bool) -> None:
        show_day(room, board, large.peek(), draw)
        day.set(room.day)

    def play_loop():
        start, days = time.monotonic(), 0
        try:
            tick = start
            while playing.peek() and room.step():
                days += 1
                interval = SPEEDS.get(speed.peek(), PLAY_SECONDS)
                if day_shown.ready():
                    with PLAY_TURNS.take(wait=interval / 2) as turn:  # half a day's pause at most: Play keeps its pace
                        if turn and day_shown.take():
                            show(draw=room.day % EVERY.get(every.peek(), 1) == 0)
                            day_shown.shown()
                # A day every `interval` seconds, the day's work included: Play keeps its set speed
                # while a day costs less than that (and goes as fast as it can otherwise), and
                # leaves the tab's clicks a turn between days.
                tick = max(tick + interval, time.monotonic())
                time.sleep(max(TURN_SECONDS, tick - time.monotonic()))
        except Exception as exc:  # noqa: BLE001
            error.set(one_line(exc))
        playing.set(False)
        if days:  # the server's own record of Play's pace (experiments/benchmark_classroom.py reads it)
            print(f"aidsim-app: played {days} days in {time.monotonic() - start:.2f} s at {speed.peek()}", flush=True)
            show(draw=True)
            if room.done or room.awaiting_decision:
                bump()  # the page changes shape: the decision card, the role-play result

    solara.use_thread(play_loop, dependencies=[playing.value], intrusive_cancel=False)

    def to_end():  # stops early where a seated student must decide
        def run():
            while room.step():
                pass

        act(run)

    busy = room.done or room.awaiting_decision
    with solara.Card("Controls"):
        solara.display(board.label("day-counter", day_text(room)))
        with solara.Row():
            solara.Button("Step", on_click=lambda: act(room.step), color="primary", disabled=playing.value or busy)
            solara.Button("Pause" if playing.value else "Play", on_click=lambda: playing.set(not playing.value), color="primary", disabled=busy)
            solara.Button("Reset", on_click=reset, color="primary")
        solara.Button("Run to the end", on_click=to_end, text=True, disabled=playing.value or busy)
        solara.Select("Play speed", values=list(SPEEDS), value=speed)
        solara.Select("Redraw the figures while playing", values=list(EVERY), value=every)
        if error.value:
            solara.Error(error.value, classes=["page-error"])
        if room.awaiting_decision:
            solara.Info(f"Waiting for {possessive(SEATS[room.seat or ''])} decision (see the decision card).")


@solara.component
def Settings(room: Classroom, settings: tuple, touch, seed_text, seed_error, seat_name):
    """The sidebar's settings and role-play cards: the sliders, the seed, the seat (`settings`
    moves when a slider does; none of them changes from one day to the next)."""
    knob_error = solara.use_reactive("")

    def set_knob(key: str, value: float):
        try:
            room.set_knob(key, value)
            knob_error.set("")
        except ValueError as exc:
            knob_error.set(one_line(exc))
        touch()

    def set_index(key: str, choices: list[float], i: int):
        set_knob(key, choices[min(max(int(i), 0), len(choices) - 1)])

    with solara.Card("Settings", subtitle="This world: on Reset. Many worlds: at once."):
        for knob in KNOBS:
            value = room.knobs[knob.key]
            label = f"{knob.label}: {value:g}"
            if knob.values:  # orders of magnitude: step through a list, not a linear range
                choices = knob.choices(value)
                solara.SliderInt(
                    label,
                    value=choices.index(value),
                    min=0,
                    max=len(choices) - 1,
                    thumb_label=False,
                    on_value=partial(set_index, knob.key, choices),
                )
            else:
                solara.SliderFloat(label, value=value, min=knob.lo, max=knob.hi, step=knob.step, thumb_label=False, on_value=partial(set_knob, knob.key))
        if knob_error.value:
            solara.Error(knob_error.value, classes=["page-error"])
        solara.InputText("Seed (which world)", value=seed_text, error=seed_error.value or False)
        if seed_error.value:
            solara.Text(seed_error.value, classes=["seed-error"], style={"color": VERMILLION})
    with solara.Card("Role-play"):
        solara.Select("Student's seat (applies on Reset)", values=["nobody", *SEATS.values()], value=seat_name)


@solara.component
def DebriefTab(room: Classroom, tab: solara.Reactive[int], day: solara.Reactive[int], large: bool):
    """The debrief download: settings, dispatch, outcomes, the seat's offers and the figures in one
    zip. Only while its tab is open (`tab`), it reads `day`, which Play moves: its title and file
    name follow the world."""
    if tab.value != DEBRIEF_TAB:
        return
    day.value  # noqa: B018 - read to follow the world's day
    with solara.Card("Debrief export"):
        solara.Text(f"{room.title}: seed {room.seed}, day {room.day}.", classes=["debrief-title"])
        solara.Text(
            "One zip: the settings (settings.json), the dispatch (Markdown), the outcome per donor and the seat's offers "
            "and answers (CSV), each donor's outcome over 1,000 worlds and the figures (PNG)."
        )
        solara.FileDownload(
            untraced(
                lambda: debrief_zip(
                    room, outcome_shares(room.preset, room.model_knobs, room.seed)[0], [compare(room)] if room.seat and room.done else (), large
                )
            ),
            filename=f"aidsim-debrief-{room.preset}-seed{room.seed}-day{room.day}.zip",
            label="Download debrief (zip)",
            mime_type="application/zip",
        )


DEBRIEF_TAB = 2  # the debrief's place among the page's tabs
SPEEDS = {"slow (1.5 s a day)": 1.5, "normal (0.6 s a day)": 0.6, "fast (0.2 s a day)": 0.2, "fastest": 0.02}
EVERY = {"every day": 1, "every 5 days": 5, "every 10 days": 10}


@solara.component
def ClassroomPage():
    """The classroom page of one browser tab (at /)."""
    # One Classroom per browser tab: tabs never share a world. It changes in place, so the page
    # re-renders on a counter, `revision`, moved by every click (Play: see DayControls).
    room = solara.use_memo(Classroom, [])
    board = solara.use_memo(live.Board, [])  # the tab's live widgets, kept and updated in place
    revision = solara.use_reactive(0)
    day = solara.use_reactive(0)  # Play's day, read only by the Debrief tab
    tab = solara.use_reactive(0)  # the tab on show
    playing = solara.use_reactive(False)
    large = solara.use_reactive(False)
    seed_text = solara.use_reactive(str(room.seed))
    seed_error = solara.use_reactive("")
    seat_name = solara.use_reactive("nobody")
    speed = solara.use_reactive("normal (0.6 s a day)")
    every = solara.use_reactive("every day")  # a day's redraw sends only the changed figure specs
    error = solara.use_reactive("")

    def bump():
        revision.set(revision.peek() + 1)  # peek: Play's thread calls this too, and must not subscribe

    def act(fn) -> None:
        """Run a click's work; a failure is one line under the controls and the page lives on."""
        try:
            fn()
            error.set("")
        except Exception as exc:  # noqa: BLE001
            playing.set(False)
            error.set(one_line(exc))
        bump()

    def decide(decision: SeatDecision) -> str:
        act(lambda: room.step(decision, decided=True))
        return ""  # a refused decision shows under the controls, as every failed click does

    def choose_preset(preset: str):
        playing.set(False)
        act(lambda: room.choose_preset(preset))

    def reset():
        playing.set(False)
        try:
            room.seed = parse_seed(seed_text.value)
            seed_error.set("")
        except ValueError as exc:
            seed_error.set(one_line(exc))
            return
        room.seat = next((d for d, n in SEATS.items() if n == seat_name.value), None)
        act(room.reset)

    version = revision.value  # read: every click re-renders the whole page
    settings = (room.preset, tuple(sorted(room.knobs.items())), room.seed)

    solara.Style(PAGE_CSS + (LARGE_CSS if large.value else ""))
    with solara.AppBar():
        solara.AppBarTitle("aidsim classroom: disaster aid and a closed state")
        solara.Switch(label="Large type", value=large)
    with solara.Sidebar():
        Scenario(room, choose_preset)
        DayControls(room, board, version, act, reset, bump, playing, speed, every, large, day, error)
        Settings(room, settings, lambda: revision.set(revision.peek() + 1), seed_text, seed_error, seat_name)
    # Not lazy: Many worlds is ready (and kept up to date) before its tab is opened, so opening it
    # costs the server nothing; the debrief, which follows every day of Play, is built only while open.
    with solara.lab.Tabs(value=tab):
        with solara.lab.Tab("This world"):
            ThisWorld(room, board, version, large.value, decide)
        with solara.lab.Tab("Many worlds"):
            ManyWorlds(room, board, settings, large.value)
        with solara.lab.Tab("Debrief"):
            DebriefTab(room, tab, day, large.value)


routes = [
    solara.Route(path="/", component=ClassroomPage, label="Classroom"),
    solara.Route(path="room", component=RoomPage, label="Shared room"),
]
"""The two pages: each tab its own world at /, one world for a whole class at /room (room_page.py)."""
