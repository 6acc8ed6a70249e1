"""The classroom's logic without a browser: one world per tab, the seat, many worlds, the debrief."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aidsim.app import figures as figs
from aidsim.app import session as S
from aidsim.app.debrief import DISPATCH, OUTCOMES, debrief_zip
from aidsim.app.worlds import compare, heatmap, outcome_shares, play_decisions
from aidsim.model.config import load, presets
from aidsim.model.model import AidModel
from aidsim.model.params import DONORS
from aidsim.runs.tables import RESPONSES, responses


def test_every_preset_loads_with_a_two_sentence_briefing_and_slider_values():
    for name in presets("scenario"):
        knobs = S.preset_knobs(name)
        assert set(knobs) == {k.key for k in S.KNOBS}
        briefing = S.settings_params(name, {}, 0).scenario.briefing
        assert briefing.count("?") + briefing.count(".") >= 2, (name, briefing)
    assert S.preset_knobs("floods_2007")["flood.severity"] == load(["scenario=floods_2007"]).flood.severity


def test_seed_box_text_becomes_a_seed_or_one_line_error():
    assert S.parse_seed(" 42 ") == 42
    assert S.parse_seed(str(2**63 - 1)) == 2**63 - 1
    for bad in ("abc", "4.5", "-1", "", "1e9", "0x10", str(2**63), "9" * 400, "<script>", "²", None):
        with pytest.raises(ValueError, match="^seed ") as err:
            S.parse_seed(bad)
        assert "\n" not in str(err.value) and len(str(err.value)) < 120


def test_hostile_slider_and_offer_values_are_one_line_errors():
    room = S.Classroom()
    for key, bad in (("flood.severity", 1e9), ("flood.severity", float("nan")), ("tension.inter_korean", -1), ("tension.inter_korean", "x"), ("nope", 1)):
        with pytest.raises(ValueError) as err:
            room.set_knob(key, bad)
        assert "\n" not in str(err.value)
    assert room.knobs == S.preset_knobs("amnok_2024")  # nothing taken
    for bad in ({"channel": "drone"}, {"size": 0.0}, {"content_fit": float("inf")}, {"conditions": "all"}):
        with pytest.raises(ValueError):
            S.Offer(**bad)
    with pytest.raises(ValueError, match="unknown"):
        room.choose_preset("../../etc/passwd")


def test_title_names_every_changed_setting_and_presets_restore_them():
    room = S.Classroom()
    assert room.title == "Amnok river floods, July 2024"
    room.set_knob("flood.severity", 20)
    room.set_knob("tension.inter_korean", 0.2)
    room.reset()
    assert room.title == "Amnok river floods, July 2024; inter-Korean tension 0.2, severity 20x"
    assert room.dispatch_markdown().startswith("# Dispatch: Amnok river floods, July 2024; inter-Korean tension 0.2, severity 20x")
    room.choose_preset("amnok_2024")  # re-choosing the preset restores it
    assert room.knobs == S.preset_knobs("amnok_2024") and room.title == "Amnok river floods, July 2024"


def test_the_classroom_world_is_replicate_0_of_the_seed():
    room = S.Classroom(seed=7)
    while room.step():
        pass
    reference = AidModel(load(["seed=7"]), replicates=[0]).run()
    pd.testing.assert_frame_equal(room.outcome_table(), responses(reference))


def test_two_classrooms_do_not_share_a_world():
    a, b = S.Classroom(), S.Classroom()
    for _ in range(5):
        a.step()
    assert (a.day, b.day) == (5, 0)
    b.knobs["flood.severity"] = 80.0
    b.reset()
    assert a.day == 5 and a.params.flood.severity == 1.0 and b.params.flood.severity == 80.0


def test_feed_is_newest_first_and_grows():
    room = S.Classroom()
    assert len(room.feed()) == 1
    for _ in range(10):
        room.step()
    days = [e.day for e in room.feed()]
    assert len(days) > 1 and days == sorted(days, reverse=True)


def test_a_seated_donor_waits_for_the_student():
    room = S.Classroom(seat="russia")
    assert room.awaiting_decision
    assert room.step() is False and room.day == 0  # no decision, no day
    assert room.step(None, decided=True) and room.day == 1  # waited a day
    assert room.outcomes()[DONORS.index("russia")]["response"] == "not_offered"
    assert room.step(S.Offer("direct", 1.0, 0.0, 1.0), decided=True)
    moscow = room.outcomes()[DONORS.index("russia")]
    assert moscow["offer_day"] == 2 and not room.awaiting_decision
    assert room.decisions == [(1, None), (2, S.Offer("direct", 1.0, 0.0, 1.0))]


def test_a_counter_request_waits_for_the_students_reply(monkeypatch):
    # Without 2024's self-reliance line, under which no offer from Seoul could be tipped by a counter-request,
    # and with Pyongyang's side pinned as in test_model's role-play test (a narrow decision spread, a
    # counter-request worth much), so that this one world reaches a counter-request whatever the fit.
    made = S.settings_params
    pinned = {"dprk.decision_noise": 0.5, "dprk.counter_request_gain": 20.0}
    monkeypatch.setattr(S, "settings_params", lambda preset, knobs, seed, replicates=1: made(preset, {**knobs, **pinned}, seed, replicates))
    room = S.Classroom(preset="own_strength_dropped", seat="south_korea", knobs={"tension.inter_korean": 0.3, "flood.severity": 100})
    assert room.params.dprk.counter_request_gain == pinned["dprk.counter_request_gain"]
    room.step(S.Offer("red_cross", 0.3, 0.3, 0.5), decided=True)
    while not room.awaiting_reply and room.day < 10:
        room.step()
    assert room.awaiting_reply and room.awaiting_decision
    day = room.day
    assert room.step() is False and room.day == day  # no reply, no day
    with pytest.raises(ValueError, match="counter-request"):
        room.step(S.Offer(), decided=True)
    assert room.step(S.Reply("meet"), decided=True)
    assert room.outcomes()[DONORS.index("south_korea")]["response"] == "accepted"
    assert room.decision_rows()[-1]["decision"] == "counter-request: send what it names"
    while room.step():
        pass
    again = play_decisions(AidModel(room.params, replicates=[0]), "south_korea", room.decisions)
    pd.testing.assert_frame_equal(room.outcome_table(), responses(again))


def test_students_decision_changes_the_outcome_over_many_worlds():
    """A Moscow that never offers is never answered; the model's Moscow nearly always offers."""
    room = S.Classroom(seat="russia")
    while not room.done:
        room.step(None, decided=True)
    c = compare(room, worlds=500)
    assert c.student["response"] == "not_offered" and c.student_shares["not_offered"] == 1.0
    assert c.modelled_shares["not_offered"] < 0.2
    assert c.modelled["offer_day"] is not None


def test_replayed_decisions_match_the_classroom_world():
    room = S.Classroom(seat="south_korea", seed=11)
    room.step(None, decided=True)
    room.step(S.Offer("red_cross", 0.9, 0.0, 0.5), decided=True)
    while room.step():
        pass
    again = play_decisions(AidModel(room.params, replicates=[0]), "south_korea", room.decisions)
    pd.testing.assert_frame_equal(room.outcome_table(), responses(again))


def test_many_worlds_shares_are_distributions_and_follow_the_sliders():
    knobs = S.preset_knobs("amnok_2024")
    shares, seconds = outcome_shares("amnok_2024", knobs, 2024)
    assert list(shares.index) == list(DONORS) and list(shares.columns) == list(RESPONSES)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert seconds < 10  # generous: the figure is printed on the page; the issue's target is < 2 s
    big, _ = outcome_shares("amnok_2024", {**knobs, "flood.severity": 80.0}, 2024)
    assert big["accepted"].sum() > shares["accepted"].sum()


def test_heatmap_grid_and_bad_knob_pair():
    knobs = S.preset_knobs("amnok_2024")
    h = heatmap("amnok_2024", knobs, 2024, "tension.inter_korean", "flood.severity", None, worlds=50)
    assert h.share.shape == (5, 5) and np.all((h.share >= 0) & (h.share <= 1))
    assert h.share[-1].mean() >= h.share[0].mean()  # more damage: not less acceptance
    with pytest.raises(ValueError, match="two different knobs"):
        heatmap("amnok_2024", knobs, 2024, "flood.severity", "flood.severity", None)


def test_debrief_zip_holds_dispatch_table_and_figures():
    room = S.Classroom(seat="russia")
    room.step(S.Offer(), decided=True)
    for _ in range(4):
        room.step()
    shares, _ = outcome_shares(room.preset, room.knobs, room.seed, worlds=100)
    z = zipfile.ZipFile(io.BytesIO(debrief_zip(room, shares)))
    names = set(z.namelist())
    assert {DISPATCH, OUTCOMES, "many_worlds.csv"} <= names
    assert {"figures/need.png", "figures/ladder.png", "figures/aid.png", "figures/tension.png", "figures/many_worlds.png"} <= names
    assert z.read(DISPATCH).decode().startswith("# Dispatch")
    table = pd.read_csv(z.open(OUTCOMES))
    assert len(table) == len(DONORS) and table.loc[table["seated"], "donor"].tolist() == ["russia"]
    assert z.read("figures/need.png")[:8] == b"\x89PNG\r\n\x1a\n"
    settings = json.loads(z.read("settings.json"))
    assert settings["preset"] == "amnok_2024" and settings["seat"] == "russia" and settings["knobs"]["flood.severity"] == 1.0
    decisions = pd.read_csv(z.open("decisions.csv"))
    assert decisions["decision"].tolist() == ["offer"] and decisions["channel"].tolist() == ["red_cross"]


def test_a_debrief_figure_names_the_world_it_shows():
    room = S.Classroom()
    room.set_knob("flood.severity", 20.0)
    room.reset()  # the sliders' world
    fig = figs.need_figure(room)
    figs.png(fig, caption=room.title)
    assert "severity 20x" in room.title
    assert any(t.get_text().replace("\n", " ") == room.title for t in fig.texts)


def test_app_rejects_a_bad_port_in_one_line():
    done = subprocess.run([sys.executable, "-m", "aidsim.cli.app", "--port", "70000"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == "aidsim-app: error: --port 70000: out of range; use 1 to 65535"


def test_app_rejects_a_busy_port_in_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "aidsim.cli.app", "--port", str(port)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"aidsim-app: error: --port {port}: already in use on 127.0.0.1; pick another, e.g. --port {port + 1}"


def test_many_worlds_are_computed_once_per_settings_and_shared():
    knobs = S.preset_knobs("amnok_2024")
    first, seconds = outcome_shares("amnok_2024", knobs, 77, worlds=50)
    first.iloc[0, 0] = -1.0  # a tab's copy: changing it does not change what the next tab gets
    again, same_seconds = outcome_shares("amnok_2024", dict(reversed(list(knobs.items()))), 77, worlds=50)
    assert same_seconds == seconds  # served from the shared result, not computed again
    assert again.iloc[0, 0] >= 0
    fresh = _shares_uncached("amnok_2024", knobs, 77, 50)
    pd.testing.assert_frame_equal(again, fresh)


def _shares_uncached(preset, knobs, seed, worlds):
    model = AidModel(S.settings_params(preset, knobs, seed, worlds), record=False).run()
    from aidsim.runs.tables import summary

    return summary(responses(model))[list(RESPONSES)]


def test_a_debrief_download_runs_without_the_line_tracer_and_restores_it():
    """Solara runs a download's callable under a tracer called on every line (its cancel guard),
    which slows matplotlib several times: `untraced` lifts it for the zip and puts it back."""
    import sys

    from aidsim.app.debrief import untraced

    def tracer(frame, event, arg):
        return None

    seen = []
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        assert untraced(lambda: seen.append(sys.gettrace()) or b"zip")() == b"zip"
        after = sys.gettrace()
    finally:
        sys.settrace(previous)
    assert seen == [None]
    assert after is tracer


def test_a_day_of_play_updates_the_tabs_widgets_in_place_without_rendering_the_page():
    """Play's days reach the tab's day counter (and dispatch and figures) by updating its widgets,
    not by re-rendering the page: on a server shared by a class, that render was most of Play's
    cost. The page is rendered in its own interpreter (tests/page_probe.py)."""
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("page_probe.py"))], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["reached"] >= 15
    assert seen["world_renders_during_play"] == 0  # fifteen days and more, and the world's part of the page never re-rendered
    assert seen["counter"] == seen["counter_wanted"]  # Pause shows the day Play stopped on
    assert seen["feed_shown"]  # and its dispatch
    assert seen["newest_line_day"] > 0  # which has moved past the flood's first line


def test_a_tabs_settings_never_change_the_preset_data_all_tabs_share():
    import copy

    shared = S._preset_data("amnok_2024")
    before = copy.deepcopy(shared)
    moved = {k.key: (k.values[-1] if k.values else k.hi) for k in S.KNOBS}
    params = S.settings_params("amnok_2024", moved, seed=7, replicates=3)
    assert all(S.knob(params, key) == value for key, value in moved.items())
    assert S._preset_data("amnok_2024") == before  # the next tab opens on the preset's own values
    assert S.preset_knobs("amnok_2024") != moved
