"""`aidsim-app`: the classroom page (Solara, served from this machine, no internet needed).

    aidsim-app                      # http://127.0.0.1:8765 on this computer
    aidsim-app --host 0.0.0.0       # students' laptops on the classroom network reach it too

Every browser tab gets its own `Classroom` (app_session.py): its own world, sliders, seat and
Reset. The page is Solara, the toolkit under Mesa's SolaraViz, but with its own controller:
SolaraViz's Step/Play/Reset cannot stop a run for a student's decision and resume it (setting
`model.running = False` disables Step and Play until Reset), and role-play needs exactly that.
This module only lays out the page and forwards clicks; the work is in app_session (one world),
app_worlds (many worlds), app_figures and app_debrief.
"""

from __future__ import annotations

import html
import logging
import time

import solara
import solara.lab

from aidsim.app import figures as figs
from aidsim.app.debrief import debrief_zip
from aidsim.app.session import CHANNELS, KNOBS, SEATS, Classroom, Offer, parse_seed, presets, settings_params
from aidsim.app.worlds import WORLDS, compare, heatmap, outcome_shares
from aidsim.model.params import DONORS

logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO

PLAY_SECONDS = 0.6  # pause between days while playing: time to read the feed aloud
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
.figure svg { width: 100%; height: auto; }
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { flex-basis: 100%; margin-bottom: -4px; }
.day-counter { font-weight: bold; }
"""


def _titles() -> dict[str, str]:
    """Preset name -> title shown in the menu (a preset's own title, else its name)."""
    return {p: settings_params(p, {}, 0).scenario.title or p for p in presets("scenario")}


WORLD_FIGURES = (figs.need_figure, figs.ladder_figure, figs.aid_figure, figs.tension_figure)


@solara.component
def WorldFigures(room: Classroom, version: int, large: bool):
    """The class's world in four figures, drawn in one worker thread after each day: the day counter
    and the feed answer a click at once and the figures follow (the last ones stay up meanwhile).
    A newer day cancels a drawing still under way, so Play never queues up stale work."""
    images = solara.use_reactive({})

    def draw(cancel):
        with room.lock:  # a consistent world: not half-way through a step
            made = [(make.__name__, make(room, large)) for make in WORLD_FIGURES]
        out = {}
        for name, fig in made:
            if cancel.is_set():
                return
            out[name] = figs.svg(fig)
        images.set(out)

    solara.use_thread(draw, dependencies=[version, large], intrusive_cancel=False)
    names = [make.__name__ for make in WORLD_FIGURES]
    for row in (names[:2], names[2:]):
        with solara.Columns([1, 1]):
            for name in row:
                SVG(images.value.get(name, ""), name)


@solara.component
def SVG(image: str, name: str):
    """An inline SVG figure, scaled to its column; `name` becomes its CSS class (tests find it so)."""
    solara.HTML(tag="div", unsafe_innerHTML=image, classes=["figure", name], style={"max-width": "100%"})


@solara.component
def Feed(room: Classroom, version: int):
    """The dispatch of the class's world in plain language, newest first."""
    with solara.Card("Dispatch (newest first)"), solara.Column(classes=["dispatch-feed"], gap="0px"):
        for e in room.feed():
            solara.HTML(tag="div", unsafe_innerHTML=f'<span class="day-badge">Day {e.day}</span>{html.escape(e.text)}', classes=["dispatch-line"])


@solara.component
def Decision(room: Classroom, version: int, on_decided):
    """The seat's decision for tomorrow: offer (what, how, with which conditions) or wait."""
    channel = solara.use_reactive("red_cross")
    fit = solara.use_reactive(0.6)
    conditions = solara.use_reactive(0.3)
    size = solara.use_reactive(0.5)
    seat = room.seat
    donor = room.model.donor(seat)
    with solara.Card(f"Your decision as {SEATS[seat]}: day {room.day + 1}", classes=["decision-card"], style={"border": "3px solid #D55E00"}):
        if bool(donor.requested[0]):
            solara.Warning(f"Pyongyang has asked {SEATS[seat]} for help.")
        solara.Text("The model waits for you. Offer aid now, or wait a day and watch.")
        solara.Select(
            "Channel",
            values=list(CHANNELS.values()),
            value=CHANNELS[channel.value],
            on_value=lambda t: channel.set(next(k for k, v in CHANNELS.items() if v == t)),
        )
        solara.SliderFloat("Content fit (1 = exactly what Pyongyang asked for)", value=fit, min=0, max=1, step=0.1)
        solara.SliderFloat("Conditions (0 = none, 1 = monitors and staff on the ground)", value=conditions, min=0, max=1, step=0.1)
        solara.SliderFloat("Size (share of the visible damage)", value=size, min=0.1, max=2, step=0.1)
        with solara.Row():
            solara.Button("Offer aid", color="primary", on_click=lambda: on_decided(Offer(channel.value, fit.value, conditions.value, size.value)))
            solara.Button("Wait a day", on_click=lambda: on_decided(None))


@solara.component
def Debrief(room: Classroom, version: int, large: bool):
    """After a role-play: the student's outcome against the model donor's, here and over many worlds."""
    comparison = solara.use_memo(lambda: compare(room), [version])
    mine, model = comparison.student, comparison.modelled
    describe = lambda o: "did not offer" if o["offer_day"] is None else f"offered on day {o['offer_day']}: {figs.RESPONSE_LABELS[o['response']]}"  # noqa: E731
    with solara.Card("Role-play result", classes=["roleplay-result"]), solara.Columns([1, 1]):
        with solara.Column():
            solara.HTML(tag="p", unsafe_innerHTML=f"In this world, <b>you ({SEATS[room.seat]})</b> {describe(mine)}.", classes=["roleplay-student"])
            solara.HTML(
                tag="p",
                unsafe_innerHTML=f"<b>The model's {SEATS[room.seat]}</b>, same world, same settings, {describe(model)}.",
                classes=["roleplay-model"],
            )
            solara.Text(
                f"The bars replay your decision, and let the model decide, in {comparison.worlds:,} worlds with these settings: was it the decision or luck?"
            )
        SVG(figs.svg(figs.comparison_figure(comparison, large)), "comparison_figure")


@solara.component
def ThisWorld(room: Classroom, version: int, large: bool, bump):
    """The class's world: the seat's decision card when one is due, the role-play result at the
    end, the four live figures and the dispatch."""
    if room.awaiting_decision:

        def decided(offer: Offer | None):
            room.step(offer, decided=True)
            bump()

        Decision(room, version, decided)
    if room.done and room.seat:
        Debrief(room, version, large)
    with solara.Columns([2, 1]):
        with solara.Column():
            WorldFigures(room, version, large)
        Feed(room, version)


@solara.component
def ManyWorlds(room: Classroom, settings: tuple, large: bool):
    """Each donor's outcome over 1,000 worlds for the current sliders, and a heatmap over two knobs."""
    shares, seconds = solara.use_memo(lambda: outcome_shares(room.preset, room.knobs, room.seed), [settings])
    knob_labels = {k.label: k.key for k in KNOBS}
    who = {"any donor": None} | {figs.SHORT[d]: d for d in DONORS}
    x = solara.use_reactive(KNOBS[0].label)
    y = solara.use_reactive(KNOBS[3].label)
    donor = solara.use_reactive("Seoul")
    result = solara.use_reactive(None)
    error = solara.use_reactive("")

    def compute():
        try:
            result.set(heatmap(room.preset, room.knobs, room.seed, knob_labels[x.value], knob_labels[y.value], who[donor.value]))
            error.set("")
        except ValueError as exc:
            error.set(str(exc))

    with solara.Columns([3, 2]):
        with solara.Card("Many worlds: same settings, 1,000 replicate worlds"):
            SVG(figs.svg(figs.shares_figure(shares, WORLDS, large)), "shares_figure")
            solara.Text(f"Computed on this page in {seconds:.2f} s for the current sliders and seed.", classes=["many-worlds-time"])
        with solara.Card("Where would it go differently? (heatmap)"):
            solara.Select("Across (x)", values=list(knob_labels), value=x)
            solara.Select("Up (y)", values=list(knob_labels), value=y)
            solara.Select("Whose aid accepted", values=list(who), value=donor)
            solara.Button("Compute heatmap", color="primary", on_click=compute)
            if error.value:
                solara.Error(error.value)
            if result.value is not None:
                h = result.value
                SVG(figs.svg(figs.heatmap_figure(h, large)), "heatmap_figure")
                solara.Text(f"{len(h.xs) * len(h.ys)} cells x {h.worlds} worlds in {h.seconds:.1f} s; other settings as on the sliders.")


@solara.component
def Controls(room: Classroom, version: int, settings: tuple, bump, touch, playing, seed_text, seat_name):
    """The sidebar: preset and briefing, Step/Play/Reset, the sliders, the seed, the seat."""
    titles = solara.use_memo(_titles, [])
    by_title = {t: p for p, t in titles.items()}
    seed_error = solara.use_reactive("")

    def choose_preset(title: str):
        playing.set(False)
        room.choose_preset(by_title[title])
        bump()

    def set_knob(key: str, value: float):
        room.knobs = {**room.knobs, key: float(value)}
        touch()

    def reset():
        playing.set(False)
        try:
            room.seed = parse_seed(seed_text.value)
            seed_error.set("")
        except ValueError as exc:
            seed_error.set(str(exc))
            return
        room.seat = next((d for d, n in SEATS.items() if n == seat_name.value), None)
        room.reset()
        bump()

    def step():
        room.step()
        bump()

    def to_end():  # stops early where a seated student must decide
        while room.step():
            pass
        bump()

    with solara.Card("Scenario"):
        solara.Select("Preset", values=list(by_title), value=titles[room.preset], on_value=choose_preset)
        solara.Text(room.params.scenario.briefing, classes=["briefing"])
    with solara.Card("Controls"):
        solara.Text(f"Day {room.day} of {room.params.horizon_days}", classes=["day-counter"])
        with solara.Row():
            solara.Button("Step", on_click=step, color="primary", disabled=playing.value or room.done or room.awaiting_decision)
            solara.Button(
                "Pause" if playing.value else "Play",
                on_click=lambda: playing.set(not playing.value),
                color="primary",
                disabled=room.done or room.awaiting_decision,
            )
            solara.Button("Reset", on_click=reset, color="primary")
        solara.Button("Run to the end", on_click=to_end, text=True, disabled=playing.value or room.done or room.awaiting_decision)
        if room.awaiting_decision:
            solara.Info(f"Waiting for {SEATS[room.seat]}'s decision (see the decision card).")
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
                    on_value=lambda i, k=knob.key, c=choices: set_knob(k, c[i]),
                )
            else:
                solara.SliderFloat(
                    label, value=value, min=knob.lo, max=knob.hi, step=knob.step, thumb_label=False, on_value=lambda v, k=knob.key: set_knob(k, v)
                )
        solara.InputText("Seed (which world)", value=seed_text, error=seed_error.value or False)
    with solara.Card("Role-play"):
        solara.Select("Student's seat (applies on Reset)", values=["nobody", *SEATS.values()], value=seat_name)


@solara.component
def Page():
    """The page of one browser tab."""
    # One Classroom per browser tab: tabs never share a world. It changes in place, and a component
    # re-renders only when its arguments change, so components get `version` (the world moved)
    # and `settings` (a slider moved) as arguments.
    room = solara.use_memo(Classroom, [])
    version = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    large = solara.use_reactive(False)
    seed_text = solara.use_reactive(str(room.seed))
    seat_name = solara.use_reactive("nobody")
    touched = solara.use_reactive(0)  # settings moved (sliders): many worlds recompute, this world waits for Reset

    def bump():
        version.set(version.value + 1)

    def play_loop():
        while playing.value and room.step():
            bump()
            time.sleep(PLAY_SECONDS)
        playing.set(False)

    solara.use_thread(play_loop, dependencies=[playing.value], intrusive_cancel=False)
    settings = (room.preset, tuple(sorted(room.knobs.items())), room.seed, touched.value)

    solara.Style(PAGE_CSS + (LARGE_CSS if large.value else ""))
    with solara.AppBar():
        solara.AppBarTitle("aidsim classroom: disaster aid and a closed state")
        solara.Switch(label="Large type", value=large)
    with solara.Sidebar():
        Controls(room, version.value, settings, bump, lambda: touched.set(touched.value + 1), playing, seed_text, seat_name)
    with solara.lab.Tabs(lazy=True):
        with solara.lab.Tab("This world"):
            ThisWorld(room, version.value, large.value, bump)
        with solara.lab.Tab("Many worlds"):
            ManyWorlds(room, settings, large.value)
        with solara.lab.Tab("Debrief"), solara.Card("Debrief export"):
            solara.Text("One zip: the dispatch of this world (Markdown), its outcome table (CSV) and the figures (PNG).")
            solara.FileDownload(
                lambda: debrief_zip(
                    room, outcome_shares(room.preset, room.knobs, room.seed)[0], compare(room) if room.seat and room.done else None, large.value
                ),
                filename=f"aidsim-debrief-{room.preset}-seed{room.seed}-day{room.day}.zip",
                label="Download debrief (zip)",
                mime_type="application/zip",
            )
