"""A shared room: one world for a whole class, a donor's seat for each student (HubNet for this subject).

The teacher opens a room and gets a short code; students join it from their own browsers, each
taking a donor's seat. There is ONE world (a `Classroom` with no seat of its own), so the dispatch,
the ladder and the outcome are the same on every screen. A day waits until every seated student
who owes a decision has made it; a seat whose tab is gone, or whose student has not decided when
the teacher's timer runs out, is decided by the model's donor for that day (`ModelDecides`).

Who may do what is checked here, not on the page: every call names the tab (`tab`, a token the
server makes for each browser tab and never sends to it), a decision is taken only from the tab
holding that seat, and only the teacher's tab steers the day. A seat and the teacher's screen can
be taken back from a new tab with the key shown to their holder (a closed tab breaks nothing).

Rooms are independent objects in a bounded registry (`ROOMS`), each behind its own lock: tabs run
in threads, and every method that reads or changes a room takes it.
"""

from __future__ import annotations

import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass, field

from aidsim.app.session import SEATS, Classroom, ModelDecides, SeatDecision, decision_rows
from aidsim.app.worlds import WORLDS, Comparison, compare_seat
from aidsim.model.ladder import NOT_OFFERED
from aidsim.report.narrative import possessive

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on a board
CODE_LENGTH = 4
MAX_ROOMS = 64
"""Rooms one server keeps at once; the oldest idle room goes first (a tab opening rooms in a loop
cannot fill the memory)."""
IDLE_SECONDS = 6 * 3600.0
"""A room no tab has looked at for this long is closed when a new one needs the place."""
ABSENT_SECONDS = 8.0
"""A seat whose tab has not checked in for this long counts as absent: the model decides for it
(every open tab checks in about four times a second)."""
TIMERS = (None, 30.0, 60.0, 120.0)
"""The teacher's timer choices, in seconds (None: wait for every present student)."""
NAME_LENGTH = 30


def _key() -> str:
    return f"{secrets.randbelow(10**4):04d}"


def check_name(text: object) -> str:
    """A student's name as typed, trimmed; ValueError with one line for an empty, long or odd one."""
    name = " ".join(str(text if text is not None else "").split())
    if not name:
        raise ValueError("name: type your name (or your team's)")
    if len(name) > NAME_LENGTH:
        raise ValueError(f"name: at most {NAME_LENGTH} characters")
    if any(unicodedata.category(c)[0] == "C" for c in name):
        raise ValueError("name: letters, digits and spaces only")
    return name


def check_code(text: object) -> str:
    """A room code as typed ("abcd", " AB CD "), normalised; ValueError with one line if it cannot be one."""
    code = "".join(str(text if text is not None else "").split()).upper()
    shown = code if len(code) <= 12 else code[:10] + "..."
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        raise ValueError(f"room code {shown!r}: use the {CODE_LENGTH} letters and digits on the teacher's screen")
    return code


@dataclass
class Seat:
    """A student at a donor's place in the room."""

    donor: str
    name: str
    key: str  # four digits: take the seat back from a new tab
    tab: str | None  # the tab holding the seat; None when its student has left
    seen: float  # when that tab last checked in (time.monotonic)
    decisions: list[tuple[int, SeatDecision]] = field(default_factory=list)


@dataclass(frozen=True)
class SeatStatus:
    """One row of the teacher's screen."""

    donor: str
    who: str  # "Seoul"
    name: str | None  # None: a free seat (the model plays it)
    present: bool
    due: str | None  # "offer", "reply" or None: what the seat owes before the next day
    decided: bool


class Room:
    """One shared world, its seats, today's decisions, the teacher's controls."""

    def __init__(self, code: str, teacher: str, preset: str, knobs: dict[str, float], seed: int, now: float):
        self.code = code
        self.world = Classroom(preset=preset, knobs=knobs, seed=seed)
        self.teacher, self.teacher_key = teacher, _key()
        self.seats: dict[str, Seat] = {}
        self.pending: dict[str, SeatDecision] = {}  # tomorrow's decisions, by donor
        self.timer: float | None = None
        self.deadline: float | None = None  # when the model decides for seats still undecided
        self.pace = 2.0  # seconds between days while playing
        self.playing = False
        self.step_asked = False
        self.next_at = now
        self.version = 0  # moves whenever anything a screen shows changes
        self.seen = now
        self.lock = threading.RLock()
        self._comparisons: dict[int, list[Comparison]] = {}
        self._comparing = threading.Lock()  # seconds of work: not under `lock`, which every tab's check-in takes

    # -- who is where --------------------------------------------------------------------------
    def _changed(self) -> None:
        self.version += 1

    def is_teacher(self, tab: str) -> bool:
        return tab == self.teacher

    def seat_of(self, tab: str) -> str | None:
        """The donor whose seat `tab` holds, if any."""
        with self.lock:
            return next((d for d, s in self.seats.items() if s.tab == tab), None)

    def join(self, tab: str, donor: str, name: object, key: object = "", now: float | None = None) -> Seat:
        """Take `donor`'s seat for `tab`: a free seat whose donor has not offered yet, or a taken
        one with its key (the same student from a new tab). ValueError with one line otherwise."""
        now = time.monotonic() if now is None else now
        if donor not in SEATS:
            raise ValueError(f"seat {str(donor)[:20]!r}: choose one of {', '.join(SEATS.values())}")
        who = SEATS[donor]
        with self.lock:
            if self.is_teacher(tab):
                raise ValueError("this tab is the teacher's screen; students join from their own tabs")
            held = self.seat_of(tab)
            if held is not None and held != donor:
                raise ValueError(f"this tab already holds {possessive(SEATS[held])} seat")
            seat = self.seats.get(donor)
            if seat is not None:
                if str(key).strip() != seat.key:
                    raise ValueError(f"{possessive(who)} seat is taken by {seat.name}; to take it back from a new tab, type its key")
                seat.tab, seat.seen = tab, now
                self._changed()
                return seat
            if self.world.done:
                raise ValueError(f"room {self.code}: the run is over; the seats are closed")
            if int(self.world.model.donor(donor).status[0]) != NOT_OFFERED:  # a late seat only while its donor has not moved
                raise ValueError(f"{who} has already offered in this world; choose another seat")
            seat = Seat(donor, check_name(name), _key(), tab, now)
            self.world.model.donor(donor).seat()
            self.seats[donor] = seat
            self._changed()
            return seat

    def leave(self, tab: str) -> None:
        """`tab` is closing: its seat stays (with its decisions), and the model decides for it
        until its student takes it back with the key."""
        with self.lock:
            for seat in self.seats.values():
                if seat.tab == tab:
                    seat.tab = None
                    self._changed()

    def take_over(self, tab: str, key: object) -> None:
        """The teacher's screen in a new tab (the old one closed), with the teacher's key."""
        with self.lock:
            if str(key).strip() != self.teacher_key:
                raise ValueError("teacher's key: not this room's; it is on the teacher's first screen")
            if self.seat_of(tab) is not None:
                raise ValueError("this tab holds a seat; open the teacher's screen in another tab")
            self.teacher = tab
            self._changed()

    def check_in(self, tab: str, now: float) -> None:
        """A tab showing this room is still open (every tab calls this as it polls)."""
        with self.lock:
            self.seen = now
            for seat in self.seats.values():
                if seat.tab == tab:
                    seat.seen = now

    def present(self, donor: str, now: float) -> bool:
        """The seat's student has a tab open on the room."""
        seat = self.seats[donor]
        return seat.tab is not None and now - seat.seen < ABSENT_SECONDS

    # -- decisions -----------------------------------------------------------------------------
    def due(self, donor: str) -> str | None:
        """What `donor`'s seat owes before the next day ("offer", "reply" or None)."""
        with self.lock:
            return self.world.due(donor) if donor in self.seats else None

    def decide(self, tab: str, decision: SeatDecision) -> None:
        """Tomorrow's decision for the seat `tab` holds (a student may change it until the day
        moves). ValueError with one line if the tab holds no seat or the seat owes nothing."""
        with self.lock:
            donor = self.seat_of(tab)
            if donor is None:
                raise ValueError(f"this tab holds no seat in room {self.code}")
            if isinstance(decision, ModelDecides):
                raise ValueError("decision: only the teacher's timer hands a seat to the model")
            due = self.due(donor)
            if due is None:
                raise ValueError(f"{SEATS[donor]} owes no decision today")
            Classroom.check_decision(due, decision)
            self.pending[donor] = decision
            self._changed()

    def status(self, now: float | None = None) -> list[SeatStatus]:
        """Every seat a student can take, in SEATS order: who holds it, present, what it owes, decided."""
        now = time.monotonic() if now is None else now
        with self.lock:
            rows = []
            for donor, who in SEATS.items():
                seat = self.seats.get(donor)
                due = self.due(donor)
                rows.append(SeatStatus(donor, who, seat.name if seat else None, bool(seat) and self.present(donor, now), due, donor in self.pending))
            return rows

    def waiting_for(self, now: float) -> list[str]:
        """Seats whose present student still owes tomorrow's decision (absent seats never hold up a day)."""
        with self.lock:
            return [d for d in self.seats if self.due(d) and d not in self.pending and self.present(d, now)]

    # -- the teacher's controls ----------------------------------------------------------------
    def _teacher_only(self, tab: str) -> None:
        if not self.is_teacher(tab):
            raise ValueError("only the teacher's screen steers the day")

    def set_playing(self, tab: str, on: bool) -> None:
        """Play (a day every `pace` seconds, each waiting for the decisions) or pause."""
        with self.lock:
            self._teacher_only(tab)
            self.playing, self.step_asked = bool(on), False
            self.deadline = None
            self._changed()

    def ask_step(self, tab: str) -> None:
        """One day, as soon as the decisions are in."""
        with self.lock:
            self._teacher_only(tab)
            self.step_asked = True
            self._changed()

    def set_timer(self, tab: str, seconds: float | None, pace: float | None = None) -> None:
        """How long a day waits for undecided students before the model decides for them (None:
        as long as it takes), and the pause between days while playing."""
        with self.lock:
            self._teacher_only(tab)
            if seconds not in TIMERS:
                raise ValueError(f"timer {seconds!r}: choose one of {', '.join('none' if t is None else f'{t:g} s' for t in TIMERS)}")
            self.timer, self.deadline = seconds, None
            if pace is not None:
                self.pace = float(pace)
            self._changed()

    def model_decides_now(self, tab: str, now: float) -> None:
        """The teacher ends today's wait: the model decides for every seat still undecided."""
        with self.lock:
            self._teacher_only(tab)
            self.step_asked, self.deadline = True, now
            self._changed()

    def seconds_left(self, now: float) -> float | None:
        """Seconds until the model decides for the undecided seats (None: no timer running)."""
        with self.lock:
            return None if self.deadline is None else max(0.0, self.deadline - now)

    # -- time ----------------------------------------------------------------------------------
    def tick(self, now: float) -> bool:
        """Move the world one day if the teacher asked for one and the decisions are in (or the
        timer ran out); any tab may call it, the day moves once. Returns True when it moved."""
        with self.lock:
            if self.world.done:
                self.playing = self.step_asked = False
                return False
            if not (self.step_asked or (self.playing and now >= self.next_at)):
                return False
            if self.waiting_for(now):
                if self.deadline is None and self.timer is not None:
                    self.deadline = now + self.timer
                    self._changed()
                if self.deadline is None or now < self.deadline:
                    return False
            self._advance()
            self.step_asked = False
            self.deadline = None
            self.next_at = now + self.pace
            self._changed()
            return True

    def _advance(self) -> None:
        """All seats' decisions for tomorrow, then the model's day (the world's lock held throughout,
        so no screen draws a half-made day)."""
        world = self.world
        with world.lock:
            day = world.day + 1
            for donor, seat in self.seats.items():
                if world.due(donor) is None:
                    continue
                decision = self.pending.get(donor, ModelDecides())
                seat.decisions.append((day, decision))
                if decision is not None:
                    decision.apply(world.model, donor)
            self.pending = {}
            world.step()
            for donor in self.seats:
                world.model.donor(donor).seat()  # back from a day the model decided for an absent student

    # -- the end -------------------------------------------------------------------------------
    def comparisons(self, worlds: int = WORLDS) -> list[Comparison]:
        """Each seat's choices against the model's donor, in this world and over `worlds` worlds
        (once the run is over; computed once for every screen)."""
        with self.lock:
            if not self.world.done:
                raise ValueError("the comparison comes when the run is over")
            seats = {d: list(s.decisions) for d, s in self.seats.items()}  # fixed once the run is over
        with self._comparing:
            if worlds not in self._comparisons:
                self._comparisons[worlds] = [compare_seat(self.world, d, decisions, worlds) for d, decisions in seats.items()]
            return list(self._comparisons[worlds])

    def decision_rows(self) -> list[dict]:
        """Every seat's decisions, one row a day (the room's decisions.csv)."""
        with self.lock:
            return [{**row, "student": s.name} for d, s in self.seats.items() for row in decision_rows(d, s.decisions, self.world.answer(d))]


class Rooms:
    """The server's rooms, keyed by code (thread-safe, bounded)."""

    def __init__(self, limit: int = MAX_ROOMS):
        self.limit = limit
        self._rooms: dict[str, Room] = {}
        self._lock = threading.RLock()

    def open(self, teacher: str, preset: str, knobs: dict[str, float], seed: int, now: float | None = None) -> Room:
        """A new room with a fresh code, `teacher`'s tab at its controls. ValueError when the
        server already holds `limit` rooms in use."""
        now = time.monotonic() if now is None else now
        self._make_place(now)
        room = Room("", teacher, preset, knobs, seed, now)  # making the world takes a moment: outside the registry's lock
        with self._lock:
            self._make_place(now)
            while not room.code or room.code in self._rooms:
                room.code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            self._rooms[room.code] = room
        return room

    def _make_place(self, now: float) -> None:
        with self._lock:
            for code, room in list(self._rooms.items()):
                if now - room.seen > IDLE_SECONDS:
                    del self._rooms[code]
            if len(self._rooms) >= self.limit:
                raise ValueError(f"this server already holds {self.limit} rooms; close a class's tabs or try again later")

    def get(self, text: object) -> Room:
        """The room with this code (as typed); ValueError with one line if there is none."""
        code = check_code(text)
        with self._lock:
            room = self._rooms.get(code)
        if room is None:
            raise ValueError(f"room code {code}: no such room on this server; check the teacher's screen")
        return room

    def __len__(self) -> int:
        with self._lock:
            return len(self._rooms)


ROOMS = Rooms()
"""The server's rooms (one server process: every tab sees the same registry)."""
