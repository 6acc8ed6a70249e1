"""The shared room's page (`/room`): a lobby where the teacher opens a room and students join it
with its code, then one world on every screen, a decision card at each student's seat and the
teacher's controls with who has decided.

Everything a click may do is decided by `aidsim.app.room` (who holds which seat, when the day
moves); this module lays out what the room holds. Each tab polls its room a few times a second:
the poll says the tab is still open, moves the day when it is due (whichever tab gets there
first; the day moves once) and redraws the tab when anything changed.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from typing import cast

import pandas as pd
import solara
from solara.server import kernel_context

from aidsim.app import live
from aidsim.app.debrief import debrief_zip, untraced
from aidsim.app.room import ROOMS, TIMERS, Room
from aidsim.app.session import CHANNELS, REPLIES, SEATS, Offer, Reply, SeatDecision, parse_seed, preset_knobs
from aidsim.app.widgets import LARGE_CSS, PAGE_CSS, Decision, Feed, RoleplayResult, WorldFigures, one_line, preset_titles
from aidsim.app.worlds import WORLDS, Comparison, outcome_shares
from aidsim.report.narrative import possessive

POLL_SECONDS = 0.25
TEACHER = "Teacher's screen (needs the teacher's key)"
WATCH = "Watch only (no seat)"
TIMER_LABELS = {"no timer: wait for everyone": None} | {f"{t:g} s, then the model decides": t for t in TIMERS if t is not None}
ROOM_CSS = """
.room-code { font-size: 2.4rem; font-weight: bold; letter-spacing: 0.2em; color: #0072B2; margin-left: 0.3em; }
.seat-status table { border-collapse: collapse; width: 100%; }
.room-line { display: block; margin: 2px 0; }
.seat-status td, .seat-status th { text-align: left; padding: 2px 8px 2px 0; border-bottom: 1px solid #eee; }
"""
PACES = {"2 s between days": 2.0, "5 s between days": 5.0, "0.5 s between days": 0.5}


def _said(decision: SeatDecision) -> str:
    """A decision in the words of the seat's card."""
    if isinstance(decision, Offer):
        d = decision
        return f"offer aid {CHANNELS[d.channel].lower()} (content fit {d.content_fit:.1f}, conditions {d.conditions:.1f}, size {d.size:.1f})"
    if isinstance(decision, Reply):
        return f"answer Pyongyang's request: {REPLIES[decision.reply]}"
    return "wait a day"


@solara.component
def Lobby(tab: str, enter):
    """Open a room (the teacher) or join one with its code (a student, or the teacher again)."""
    titles = solara.use_memo(preset_titles, [])
    by_title = {t: p for p, t in titles.items()}
    preset = solara.use_reactive(next(iter(titles.values())))
    seed_text = solara.use_reactive("2024")
    open_error = solara.use_reactive("")
    code_text = solara.use_reactive("")
    name = solara.use_reactive("")
    seat = solara.use_reactive(next(iter(SEATS.values())))
    key = solara.use_reactive("")
    join_error = solara.use_reactive("")
    by_name = {n: d for d, n in SEATS.items()}

    def open_room():
        try:
            if preset.value not in by_title:
                raise ValueError("preset: choose one from the list")
            room = ROOMS.open(tab, by_title[preset.value], preset_knobs(by_title[preset.value]), parse_seed(seed_text.value))
        except ValueError as exc:
            open_error.set(one_line(exc))
            return
        enter(room.code)

    def join():
        try:
            room = ROOMS.get(code_text.value)
            if seat.value == TEACHER:
                room.take_over(tab, key.value)
            elif seat.value != WATCH:
                if seat.value not in by_name:
                    raise ValueError("seat: choose one from the list")
                room.join(tab, by_name[seat.value], name.value, key.value)
        except ValueError as exc:
            join_error.set(one_line(exc))
            return
        enter(room.code)

    with solara.Columns([1, 1]):
        with solara.Card("Teacher: open a room", classes=["open-room"]):
            solara.Select("Preset", values=list(by_title), value=preset)
            solara.InputText("Seed (which world)", value=seed_text)
            solara.Button("Open a room", color="primary", on_click=open_room)
            if open_error.value:
                solara.Error(open_error.value, classes=["page-error", "open-error"])
        with solara.Card("Student: join a room", classes=["join-room"]):
            solara.InputText("Room code", value=code_text)
            solara.InputText("Your name", value=name)
            solara.Select("Your seat", values=[*SEATS.values(), WATCH, TEACHER], value=seat)
            solara.InputText("Key (only to take back a seat or the teacher's screen)", value=key)
            solara.Button("Join", color="primary", on_click=join)
            if join_error.value:
                solara.Error(join_error.value, classes=["page-error", "join-error"])


@solara.component
def TeacherPanel(room: Room, tab: str, version: int):
    """Step, Play/Pause, the timer, "the model decides now", and who has decided."""
    error = solara.use_reactive("")
    timer = solara.use_reactive(next(k for k, v in TIMER_LABELS.items() if v == room.timer))
    pace = solara.use_reactive(next((k for k, v in PACES.items() if v == room.pace), next(iter(PACES))))

    def act(fn) -> None:
        try:
            fn()
            error.set("")
        except ValueError as exc:
            error.set(one_line(exc))

    def set_timer(label: str) -> None:
        timer.set(label)
        act(lambda: room.set_timer(tab, TIMER_LABELS.get(label, room.timer), PACES.get(pace.value)))

    def set_pace(label: str) -> None:
        pace.set(label)
        act(lambda: room.set_timer(tab, room.timer, PACES.get(label)))

    now = time.monotonic()
    done = room.world.done
    with solara.Card(f"Teacher's screen: room {room.code}", classes=["teacher-panel"]):
        solara.HTML(tag="div", unsafe_innerHTML=f'Room code <span class="room-code">{room.code}</span>', classes=["room-code-line"])
        solara.Text("Students open this page's address on their own computers, type the code, their name and a seat.", classes=["room-line"])
        solara.Text(f"Teacher's key {room.teacher_key}: opens this screen again from another tab.", classes=["room-line", "teacher-key"])
        with solara.Row():
            solara.Button("Step", color="primary", on_click=lambda: act(lambda: room.ask_step(tab)), disabled=done or room.playing or room.step_asked)
            play = lambda: act(lambda: room.set_playing(tab, not room.playing))  # noqa: E731
            solara.Button("Pause" if room.playing else "Play", color="primary", on_click=play, disabled=done)
        solara.Button(
            "The model decides now for undecided seats",
            text=True,
            on_click=lambda: act(lambda: room.model_decides_now(tab, time.monotonic())),
            disabled=done or not room.waiting_for(now),
        )
        solara.Select("Timer for each day", values=list(TIMER_LABELS), value=timer.value, on_value=set_timer)
        solara.Select("Play speed", values=list(PACES), value=pace.value, on_value=set_pace)
        left = room.seconds_left(now)
        if left is not None:
            solara.Text(f"The model decides for undecided seats in {left:.0f} s.", classes=["timer-left"])
        if error.value:
            solara.Error(error.value, classes=["page-error"])
        rows = []
        for s in room.status(now):
            if s.name is None:
                today = "free: the model plays it"
            elif s.due is None:
                today = "nothing to decide"
            else:
                today = "decided" if s.decided else ("deciding..." if s.present else "absent: the model decides")
            here = "" if s.name is None else ("here" if s.present else "left")
            rows.append(f"<tr><td>{s.who}</td><td>{html.escape(s.name or '-')}</td><td>{here}</td><td>{today}</td></tr>")
        table = "<table><tr><th>Seat</th><th>Student</th><th></th><th>Day " + str(room.world.day + 1) + "</th></tr>" + "".join(rows) + "</table>"
        solara.HTML(tag="div", unsafe_innerHTML=table, classes=["seat-status"])


@solara.component
def StudentPanel(room: Room, tab: str, donor: str, version: int):
    """The student's seat: the decision card while one is due, else what was decided and who the day waits for."""
    seat = room.seats[donor]
    due = room.due(donor)
    who = SEATS[donor]

    def decide(decision: SeatDecision) -> str:
        try:
            room.decide(tab, decision)
        except ValueError as exc:
            return one_line(exc)
        return ""

    with solara.Card(f"You are {who} ({seat.name})", classes=["student-panel"]):
        solara.Text(f"Your key {seat.key}: type it to take your seat back if this tab closes.", classes=["room-line", "seat-key"])
        if room.world.done:
            solara.Text("The run is over: see how your choices compare below.")
        elif due is not None and donor not in room.pending:
            Decision(donor, room.world.day, due, bool(room.world.model.donor(donor).requested[0]), decide, waiting="The class waits for you.")
        elif donor in room.pending:
            waiting = [SEATS[d] for d in room.waiting_for(time.monotonic())]
            solara.Success(f"Decided for day {room.world.day + 1}: {_said(room.pending[donor])}.", classes=["decided"])
            solara.Text("Waiting for " + ", ".join(waiting) + "." if waiting else "Waiting for the teacher to move the day.")
        else:
            solara.Text(f"Nothing to decide today: {possessive(who)} offer is with Pyongyang.")


@solara.component
def RoomDebrief(room: Room, board: live.Board, version: int, large: bool, mine: str | None):
    """At the end: each seat's choices against the model's donor over 1,000 worlds, and the zip."""
    comparisons = solara.use_memo(lambda: _compare(room), [room.code])
    if isinstance(comparisons, str):
        solara.Error(comparisons, classes=["page-error"])
        return
    for c in comparisons:
        you = "you" if c.donor == mine else room.seats[c.donor].name
        RoleplayResult(c, board, version, large, you=you)
    solara.FileDownload(
        untraced(lambda: _room_zip(room, comparisons, large)),
        filename=f"aidsim-room-{room.code}-{room.world.preset}-seed{room.world.seed}.zip",
        label="Download the room's debrief (zip)",
        mime_type="application/zip",
    )


def _compare(room: Room) -> list[Comparison] | str:
    try:
        return room.comparisons()
    except Exception as exc:  # noqa: BLE001 - one line on the page, never a traceback
        return one_line(exc)


def _room_zip(room: Room, comparisons: list[Comparison], large: bool) -> bytes:
    world = room.world
    shares: pd.DataFrame = outcome_shares(world.preset, world.model_knobs, world.seed, WORLDS)[0]
    seats = {d: s.name for d, s in room.seats.items()}
    return debrief_zip(world, shares, comparisons, large, decisions=room.decision_rows(), settings={"room": room.code, "seats": seats})


@solara.component
def InRoom(room: Room, tab: str, large: bool, leave):
    """One room on this tab: the teacher's controls or the student's seat, and the shared world."""
    version = solara.use_reactive(room.version)
    failed = solara.use_reactive("")
    board = solara.use_memo(live.Board, [room.code])

    kernel = solara.use_memo(lambda: kernel_context.get_current_context() if kernel_context.has_current_context() else None, [])

    def open_() -> bool:
        """The tab's browser is still there: its connection is up (a tab whose network dropped
        keeps its server side for a while, but must not hold up the day)."""
        return kernel is None or kernel_context.PageStatus.CONNECTED in kernel.page_status.values()

    def poll(cancel: threading.Event) -> None:
        try:
            while not cancel.is_set() and not (kernel is not None and kernel.closed_event.is_set()):
                now = time.monotonic()
                if open_():
                    room.check_in(tab, now)
                try:
                    room.tick(now)
                except Exception as exc:  # noqa: BLE001 - a failing day is one line, the room stays
                    failed.set(one_line(exc))
                    room.set_playing(room.teacher, False)
                if room.version != version.value:
                    version.set(room.version)
                cancel.wait(POLL_SECONDS)
        finally:
            room.leave(tab)  # the tab closed or left: its seat waits for its key, the model decides meanwhile

    solara.use_thread(poll, dependencies=[room.code], intrusive_cancel=False)
    world = room.world
    mine = room.seat_of(tab)
    v = version.value
    solara.HTML(tag="h2", unsafe_innerHTML=html.escape(world.title), classes=["world-title"])
    solara.Text(f"Room {room.code}: day {world.day} of {world.params.horizon_days}", classes=["day-counter"])
    if failed.value:
        solara.Error(failed.value, classes=["page-error"])
    with solara.Columns([1, 2]):
        with solara.Column():
            if room.is_teacher(tab):
                TeacherPanel(room, tab, v)
            elif mine is not None:
                StudentPanel(room, tab, mine, v)
            else:
                solara.Info(f"Watching room {room.code}.")
            solara.Button("Leave the room", text=True, on_click=leave)
        Feed(world, board, v)
    if world.done:
        RoomDebrief(room, board, v, large, mine)
    WorldFigures(world, board, v, large)


@solara.component
def RoomPage():
    """The shared room's page of one browser tab."""
    # The tab's identity in its rooms: made here, on the server, and never sent to the browser,
    # so no request can claim another tab's seat.
    tab = solara.use_memo(lambda: secrets.token_hex(16), [])
    code = solara.use_reactive("")
    large = solara.use_reactive(False)
    solara.Style(PAGE_CSS + ROOM_CSS + (LARGE_CSS if large.value else ""))
    with solara.AppBar():
        solara.AppBarTitle("aidsim shared room: one world, a donor's seat for each student")
        solara.Switch(label="Large type", value=large)
    room = cast(Room | None, None)
    gone = ""
    if code.value:
        try:
            room = ROOMS.get(code.value)
        except ValueError as exc:
            gone = one_line(exc)
    if room is None:
        if gone:
            solara.Error(gone, classes=["page-error"])
        Lobby(tab, code.set)
    else:
        InRoom(room, tab, large.value, lambda: code.set(""))
