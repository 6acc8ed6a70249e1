"""The shared room without a browser: codes, seats, the day waiting for decisions, the teacher's
timer, absent students, isolation between rooms, and the debrief's comparison per seat."""

from __future__ import annotations

import io
import json
import threading
import zipfile

import pandas as pd
import pytest

from aidsim.app import room as R
from aidsim.app.debrief import debrief_zip
from aidsim.app.session import ModelDecides, Offer, Reply, preset_knobs
from aidsim.app.worlds import play_decisions
from aidsim.model.model import AidModel
from aidsim.runs.tables import responses

T0 = 1000.0  # a fixed clock: the tests pass `now` and never sleep


def _room(rooms: R.Rooms | None = None, seed: int = 2024, **knobs: float) -> R.Room:
    return (R.Rooms() if rooms is None else rooms).open("teacher", "amnok_2024", {**preset_knobs("amnok_2024"), **knobs}, seed, now=T0)


def _run_to_end(room: R.Room, now: float = T0) -> float:
    """Step the room to its horizon; every present seat waits each day it owes a decision."""
    while not room.world.done:
        for status in room.status(now):
            if status.name and status.due and not status.decided and room.present(status.donor, now):
                tab = room.seats[status.donor].tab
                assert tab is not None
                room.decide(tab, Reply("refuse") if status.due == "reply" else None)
        room.ask_step("teacher")
        assert room.tick(now)
        now += 0.1
        for tab in {s.tab for s in room.seats.values() if s.tab}:
            room.check_in(tab, now)
    return now


def test_codes_are_short_unambiguous_and_rooms_are_isolated():
    rooms = R.Rooms()
    a, b = _room(rooms), _room(rooms)
    assert a.code != b.code and len(a.code) == R.CODE_LENGTH and set(a.code + b.code) <= set(R.CODE_ALPHABET)
    assert rooms.get(f" {a.code.lower()[:2]} {a.code.lower()[2:]} ") is a  # as typed from the board
    a.join("s1", "russia", "Ana", now=T0)
    a.ask_step("teacher")
    a.decide("s1", None)
    assert a.tick(T0)
    assert (a.world.day, b.world.day) == (1, 0)
    assert a.world.model is not b.world.model and b.seats == {}
    with pytest.raises(ValueError, match="holds no seat"):
        b.decide("s1", None)  # a seat in one room is nothing in another


def test_bad_codes_names_and_seats_are_one_line_errors():
    rooms = R.Rooms()
    room = _room(rooms)
    for bad in ("", "abc", "ABCDE", "<script>", "O0I1", None, "x" * 10_000, "ΑΒΓΔ"):
        with pytest.raises(ValueError, match="^room code") as err:
            rooms.get(bad)
        assert "\n" not in str(err.value) and len(str(err.value)) < 120
    unknown = next(c for c in ("ABCD", "WXYZ") if c != room.code)
    with pytest.raises(ValueError, match="no such room"):
        rooms.get(unknown)
    for bad in ("", "   ", "x" * 31, "a\x00b", "\u202eevil", None):
        with pytest.raises(ValueError, match="^name: "):
            room.join("s1", "russia", bad, now=T0)
    with pytest.raises(ValueError, match="^seat "):
        room.join("s1", "pyongyang", "Ana", now=T0)
    assert room.seats == {}  # nothing was taken by a refused join
    assert R.check_name("  Ana   Lee ") == "Ana Lee"


def test_the_day_waits_until_every_seated_student_has_decided():
    room = _room()
    room.join("s1", "russia", "Ana", now=T0)
    room.join("s2", "south_korea", "Ben", now=T0)
    room.ask_step("teacher")
    assert not room.tick(T0) and room.world.day == 0  # nobody has decided
    room.decide("s1", Offer("direct", 1.0, 0.0, 0.5))
    assert room.waiting_for(T0) == ["south_korea"]
    assert not room.tick(T0) and room.world.day == 0  # Seoul has not
    assert [(s.who, s.decided) for s in room.status(T0) if s.name] == [("Seoul", False), ("Moscow", True)]
    room.decide("s2", None)
    assert room.tick(T0) and room.world.day == 1
    assert room.seats["russia"].decisions == [(1, Offer("direct", 1.0, 0.0, 0.5))]
    assert room.seats["south_korea"].decisions == [(1, None)]
    assert next(r for r in room.world.outcomes() if r["donor"] == "russia")["offer_day"] == 1
    assert room.due("russia") is None and room.due("south_korea") == "offer"
    assert not room.tick(T0)  # one step asked, one day moved


def test_a_student_cannot_act_for_another_seat_or_steer_the_day():
    room = _room()
    room.join("s1", "russia", "Ana", now=T0)
    room.join("s2", "china", "Ben", now=T0)
    with pytest.raises(ValueError, match="taken by Ana"):
        room.join("s3", "russia", "Cleo", now=T0)
    with pytest.raises(ValueError, match="already holds Beijing"):
        room.join("s2", "south_korea", "Ben", now=T0)
    room.decide("s2", Offer())
    assert set(room.pending) == {"china"}  # Ben's decision went to Ben's seat only
    with pytest.raises(ValueError, match="holds no seat"):
        room.decide("stranger", Offer())
    with pytest.raises(ValueError, match="only the teacher"):
        room.ask_step("s1")
    with pytest.raises(ValueError, match="only the teacher"):
        room.set_timer("s1", 30.0)
    with pytest.raises(ValueError, match="only the teacher's timer"):
        room.decide("s1", ModelDecides())
    with pytest.raises(ValueError, match="teacher's screen"):
        room.join("teacher", "south_korea", "Teacher", now=T0)
    with pytest.raises(ValueError, match="must offer aid or wait"):
        room.decide("s1", Reply("meet"))  # a stale card: Moscow owes an offer, not a reply


def test_the_teachers_timer_hands_undecided_seats_to_the_model():
    room = _room()
    room.join("s1", "russia", "Ana", now=T0)
    room.set_timer("teacher", 30.0)
    room.ask_step("teacher")
    assert not room.tick(T0)
    assert room.seconds_left(T0 + 10) == pytest.approx(20.0)
    room.check_in("s1", T0 + 29)
    assert not room.tick(T0 + 29)
    room.check_in("s1", T0 + 31)
    assert room.tick(T0 + 31)
    assert room.seats["russia"].decisions == [(1, ModelDecides())]
    assert room.world.model.donor("russia").seated  # handed over for one day only
    with pytest.raises(ValueError, match="timer 45"):
        room.set_timer("teacher", 45.0)


def test_the_model_decides_for_a_silent_seat_as_the_models_donor_would():
    """A seat the model decides for every day ends as the model's own donor in the same world."""
    for seed in (2024, 5):
        room = _room(seed=seed, **{"flood.severity": 20.0})
        room.join("s1", "russia", "Ana", now=T0)
        now = T0
        while not room.world.done:
            room.ask_step("teacher")
            room.model_decides_now("teacher", now)
            assert room.tick(now)
        modelled = AidModel(room.world.params, replicates=[0]).run()
        pd.testing.assert_frame_equal(room.world.outcome_table(), responses(modelled))
        assert all(isinstance(d, ModelDecides) for _, d in room.seats["russia"].decisions)


def test_a_closed_tab_does_not_hold_up_the_day_and_its_key_takes_the_seat_back():
    room = _room()
    seat = room.join("s1", "russia", "Ana", now=T0)
    room.join("s2", "china", "Ben", now=T0)
    room.leave("s1")  # Ana closes her tab
    room.ask_step("teacher")
    room.decide("s2", None)
    assert room.tick(T0)  # Ana is not waited for: the model decides for Moscow
    assert room.seats["russia"].decisions == [(1, ModelDecides())]
    room.ask_step("teacher")
    room.decide("s2", None)
    assert room.tick(T0) and room.world.day == 2
    with pytest.raises(ValueError, match="type its key"):
        room.join("s3", "russia", "Ana", key="wrong", now=T0)
    room.join("s3", "russia", "Ana", key=seat.key, now=T0 + 20)  # Ana again, from a new tab
    assert room.seat_of("s3") == "russia" and room.present("russia", T0 + 20)
    room.decide("s3", Offer())
    assert room.pending["russia"] == Offer()
    room.check_in("s2", T0 + 20)
    room.ask_step("teacher")
    room.decide("s2", None)
    assert room.tick(T0 + 20) and room.seats["russia"].decisions[-1] == (3, Offer())


def test_a_tab_that_stops_checking_in_counts_as_absent():
    room = _room()
    room.join("s1", "russia", "Ana", now=T0)
    room.ask_step("teacher")
    assert not room.tick(T0 + 1)  # present: the day waits (no timer)
    assert room.tick(T0 + R.ABSENT_SECONDS + 1)  # silent for long: absent, the model decides
    assert room.seats["russia"].decisions == [(1, ModelDecides())]


def test_the_teachers_screen_moves_to_a_new_tab_with_its_key():
    room = _room()
    with pytest.raises(ValueError, match="teacher's key"):
        room.take_over("t2", "nope")
    room.take_over("t2", room.teacher_key)
    room.ask_step("t2")
    with pytest.raises(ValueError, match="only the teacher"):
        room.ask_step("teacher")  # the old tab no longer steers


def test_ticks_from_many_tabs_at_once_move_the_day_once():
    room = _room()
    for i, donor in enumerate(("russia", "china", "south_korea")):
        room.join(f"s{i}", donor, f"Student {i}", now=T0)
        room.decide(f"s{i}", None)
    room.ask_step("teacher")
    moved = []
    barrier = threading.Barrier(8)

    def tab() -> None:
        barrier.wait()
        moved.append(room.tick(T0))

    threads = [threading.Thread(target=tab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(moved) == [False] * 7 + [True] and room.world.day == 1


def test_playing_waits_for_decisions_and_keeps_the_pace():
    room = _room()
    room.join("s1", "russia", "Ana", now=T0)
    room.set_timer("teacher", None, pace=2.0)
    room.set_playing("teacher", True)
    room.decide("s1", None)
    assert room.tick(T0) and room.world.day == 1
    room.decide("s1", None)
    assert not room.tick(T0 + 1)  # the pace: the next day comes 2 s later
    assert room.tick(T0 + 2.1) and room.world.day == 2
    assert not room.tick(T0 + 5)  # Moscow has not decided day 3
    room.set_playing("teacher", False)
    room.decide("s1", None)
    assert not room.tick(T0 + 10)  # paused


def test_the_debrief_compares_each_seat_with_the_models_donor():
    room = _room(**{"flood.severity": 20.0, "tension.inter_korean": 0.3})
    room.join("s1", "russia", "Ana", now=T0)
    room.join("s2", "south_korea", "Ben", now=T0)
    with pytest.raises(ValueError, match="when the run is over"):
        room.comparisons(worlds=100)
    room.ask_step("teacher")
    room.decide("s1", Offer("direct", 1.0, 0.0, 1.0))
    room.decide("s2", None)
    assert room.tick(T0)
    room.leave("s2")  # Ben leaves: the model decides for Seoul from now on
    _run_to_end(room)
    moscow, seoul = room.comparisons(worlds=200)
    assert (moscow.donor, seoul.donor) == ("russia", "south_korea")
    assert moscow.student["offer_day"] == 1 and moscow.worlds == 200
    assert moscow.student_shares["not_offered"] == 0.0  # Ana offered on day 1 in every world
    assert room.comparisons(worlds=200)[0] is moscow  # computed once for every screen
    rows = room.decision_rows()
    assert {r["student"] for r in rows} == {"Ana", "Ben"}
    assert rows[0] == {"day": 1, "seat": "russia", "decision": "offer", "channel": "direct", "content_fit": 1.0, "conditions": 0.0, "size": 1.0,
                       "answer": room.world.answer("russia"), "student": "Ana"}  # fmt: skip
    assert any(r["decision"] == "model decided (seat absent)" for r in rows if r["seat"] == "south_korea")


def test_a_seats_decisions_with_model_days_replay_to_the_same_world():
    """The many-worlds replay of a seat rebuilds the class's world exactly, model-decided days included."""
    room = _room(seed=11, **{"flood.severity": 20.0, "tension.inter_korean": 0.3})
    room.join("s1", "south_korea", "Ana", now=T0)
    room.ask_step("teacher")
    room.decide("s1", None)
    assert room.tick(T0)
    room.ask_step("teacher")
    room.model_decides_now("teacher", T0)
    assert room.tick(T0)
    if room.due("south_korea") == "offer":  # the model's Seoul may have offered on day 2 already
        room.ask_step("teacher")
        room.decide("s1", Offer("red_cross", 0.9, 0.0, 0.5))
        assert room.tick(T0)
    _run_to_end(room)
    assert any(isinstance(d, ModelDecides) for _, d in room.seats["south_korea"].decisions)
    again = play_decisions(AidModel(room.world.params, replicates=[0]), "south_korea", room.seats["south_korea"].decisions)
    pd.testing.assert_frame_equal(room.world.outcome_table(), responses(again))


def test_the_registry_is_bounded_and_forgets_idle_rooms():
    rooms = R.Rooms(limit=2)
    first = _room(rooms)
    _room(rooms)
    with pytest.raises(ValueError, match="already holds 2 rooms"):
        _room(rooms)
    first.check_in("teacher", T0)
    later = T0 + R.IDLE_SECONDS + 1
    rooms.open("teacher", "amnok_2024", {}, 1, now=later)  # both old rooms idle: they go
    assert len(rooms) == 1
    with pytest.raises(ValueError, match="no such room"):
        rooms.get(first.code)


def test_a_late_student_takes_a_free_seat_only_while_its_donor_has_not_moved():
    room = _room(**{"flood.severity": 20.0})
    while int(room.world.model.donor("un_agencies").status[0]) == 0:
        room.ask_step("teacher")
        assert room.tick(T0)
    with pytest.raises(ValueError, match="already offered"):
        room.join("s1", "un_agencies", "Ana", now=T0)
    _run_to_end(room)
    with pytest.raises(ValueError, match="run is over"):
        room.join("s1", "russia", "Ana", now=T0)


def test_the_rooms_debrief_zip_holds_every_seats_decisions_and_comparison():
    room = _room()
    room.join("s1", "russia", "Ana", now=T0)
    room.join("s2", "china", "Ben", now=T0)
    _run_to_end(room)
    comparisons = room.comparisons(worlds=100)
    data = debrief_zip(room.world, None, comparisons, decisions=room.decision_rows(), settings={"room": room.code, "seats": {"russia": "Ana", "china": "Ben"}})
    z = zipfile.ZipFile(io.BytesIO(data))
    assert {"figures/role_play_russia.png", "figures/role_play_china.png"} <= set(z.namelist())
    decisions = pd.read_csv(z.open("decisions.csv"))
    assert set(decisions["seat"]) == {"russia", "china"} and set(decisions["student"]) == {"Ana", "Ben"}
    outcomes = pd.read_csv(z.open("outcomes.csv"))
    assert sorted(outcomes.loc[outcomes["seated"], "donor"]) == ["china", "russia"]
    assert json.loads(z.read("settings.json"))["room"] == room.code
