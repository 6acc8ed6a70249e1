"""Play's pacing (app/pacing.py): a day is handed to a tab only after it showed the last one, and
then only after a rest as long as that showing took, so a slow tab's Pause click gets a turn."""

from __future__ import annotations

import time

import pytest

from aidsim.app import pacing


@pytest.fixture
def clock(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(pacing.time, "monotonic", lambda: now[0])
    return now


def test_no_day_is_handed_while_the_last_is_not_shown(clock):
    gate = pacing.DayShown()
    assert gate.take()
    for _ in range(5):
        clock[0] += 1.0
        assert not gate.take()  # however long the page takes, Play does not pile up days


def test_after_showing_play_rests_as_long_as_the_showing_took(clock):
    gate = pacing.DayShown()
    assert gate.take()
    clock[0] += 0.8  # the page took 0.8 s to show the day
    gate.shown()
    clock[0] += 0.79
    assert not gate.take()  # the tab's own clicks get this time
    clock[0] += 0.02
    assert gate.take()


def test_a_fast_page_is_not_held_back(clock):
    gate = pacing.DayShown()
    assert gate.take()
    gate.shown()  # shown at once: no rest
    assert gate.take()


def test_a_showing_with_no_day_handed_changes_nothing(clock):
    gate = pacing.DayShown()
    gate.shown()  # the page re-rendered for another reason
    assert gate.take()


def test_one_tab_at_a_time_shows_a_day_of_play_and_waits_for_its_turn_a_bounded_time():
    import threading

    turns = pacing.Turns()
    with turns.take() as first:
        assert first
        with turns.take() as second:
            assert not second  # no wait asked: that tab skips showing this day, not the day
        started = time.perf_counter()
        with turns.take(wait=0.05) as third:
            assert not third  # the first tab holds the turn longer than the wait
        assert 0.04 <= time.perf_counter() - started < 1.0
    with turns.take() as later:
        assert later  # free again once the first tab has shown its day

    got = []

    def wait_for_turn():
        with turns.take(wait=5.0) as turn:
            got.append(turn)

    with turns.take() as held:
        assert held
        waiter = threading.Thread(target=wait_for_turn)
        waiter.start()
        time.sleep(0.05)
    waiter.join(5)
    assert got == [True]  # a tab that waits gets the turn as soon as it is free
