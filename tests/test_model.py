"""The calibration targets of issue 2 for the default 2024 scenario, and the model's invariants.

Each statistical claim uses 1,000 replicate worlds and the default seed (2024); thresholds are the
issue's. A share estimated from 1,000 worlds has a standard error of at most 0.016.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aidsim.model.config import load
from aidsim.model.ladder import Response
from aidsim.model.model import AidModel
from aidsim.model.params import DONORS, Event
from aidsim.runs import tables


def donor_rows(resp: pd.DataFrame, donor: str) -> pd.DataFrame:
    return resp[resp["donor"] == donor]


def share(mask: pd.Series) -> float:
    return float(np.mean(mask))


def test_russia_offers_early_and_is_deferred_not_rejected(amnok):
    _, resp, _ = amnok
    r = donor_rows(resp, "russia")
    assert share(r["offer_day"].fillna(999) <= 10) >= 0.80
    assert share(r["response"] == "deferred") >= 0.80
    assert share(r["response"] == "rejected") < 0.01


def test_seoul_offers_early_and_meets_silence(amnok):
    _, resp, _ = amnok
    r = donor_rows(resp, "south_korea")
    assert share(r["offer_day"].fillna(999) <= 10) >= 0.80
    assert share(r["response"] == "ignored") >= 0.80
    assert share(r["response"] == "accepted") <= 0.02


def test_china_is_slow_and_never_rejected(amnok):
    _, resp, _ = amnok
    r = donor_rows(resp, "china")
    assert share(r["offer_day"].fillna(999) <= 8) <= 0.30
    assert share(r["response"] == "rejected") < 0.01


@pytest.mark.parametrize("donor", ["un_agencies", "red_cross"])
def test_international_bodies_are_not_accepted(amnok, donor):
    _, resp, _ = amnok
    assert share(donor_rows(resp, donor)["response"] != "accepted") >= 0.80


def test_self_reliance_dominates(amnok):
    _, _, runs = amnok
    assert share(runs["any_accepted"]) <= 0.10
    assert runs["domestic_share"].median() >= 0.9


def test_allies_are_never_rebuffed(amnok):
    """Fact 4: what allies offer is accepted or deferred, never ignored or rejected.

    An offer made on the horizon's last day has had no time for an answer and counts as ignored
    (no answer within the horizon); every earlier one has been answered.
    """
    model, resp, _ = amnok
    allies = resp[resp["donor"].isin(["russia", "china"]) & (resp["response"] != "not_offered")]
    answered = allies[allies["offer_day"] < model.params.horizon_days]
    assert set(answered["response"].unique()) <= {"accepted", "deferred"}
    assert answered["response_day"].notna().all()


@pytest.mark.parametrize(
    ("scenario", "observed"),
    [
        ("floods_2007", {"south_korea": "accepted", "united_states": "accepted", "china": "accepted", "un_agencies": "accepted"}),
        (
            "tumen_2016",
            {
                "un_agencies": "accepted",
                "red_cross": "accepted",
                "ngos": "accepted",
                "china": "accepted",
                "russia": "accepted",
                "south_korea": "not_offered",
            },
        ),
    ],
)
def test_calibration_episodes_reproduce_their_record(run_scenario, scenario, observed):
    _, resp, _ = run_scenario(f"scenario={scenario}")
    modes = tables.summary(resp)[list(tables.RESPONSES)].idxmax(axis=1)
    matches = sum(modes[d] == o for d, o in observed.items())
    assert matches / len(observed) >= 0.80, modes.to_dict()


def _p(overrides: list[str], stat) -> float:
    model = AidModel(load([*overrides, "replicates=1000"])).run()
    resp, runs = tables.responses(model), tables.runs(model)
    return stat(resp, runs)


# Monotonicity on small grids. Neighbouring cells share random streams (common random numbers), so
# a real reversal shows as a drop; 0.02 allows for the noise left in a 1,000-world share.
TOL = 0.02


def _assert_non_decreasing(values: list[float]) -> None:
    assert all(b >= a - TOL for a, b in zip(values, values[1:], strict=False)), values


def test_acceptance_does_not_fall_as_severity_rises():
    stat = lambda resp, runs: runs["any_accepted"].mean()  # noqa: E731
    _assert_non_decreasing([_p([f"flood.severity={s}"], stat) for s in (0.3, 1, 3, 10, 30, 100)])


def test_seoul_acceptance_does_not_rise_with_tension():
    stat = lambda resp, runs: (donor_rows(resp, "south_korea")["response"] == "accepted").mean()  # noqa: E731
    values = [_p(["scenario=floods_2007", f"tension.inter_korean={t}"], stat) for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    _assert_non_decreasing(values[::-1])
    assert values[0] > values[-1] + 0.3  # tension matters, not just "does not rise"


def test_china_acceptance_given_offer_does_not_fall_with_relations():
    def stat(resp, runs):
        c = donor_rows(resp, "china")
        offered = c[c["response"] != "not_offered"]
        return (offered["response"] == "accepted").mean()

    _assert_non_decreasing([_p(["flood.severity=10", f"relations.china={r}"], stat) for r in (0.1, 0.3, 0.5, 0.7, 0.9)])


def test_replicate_is_independent_of_batch():
    params = load([])
    small = AidModel(params, replicates=50).run()
    large = AidModel(params, replicates=1000).run()
    a = tables.responses(small).query("replicate == 37").reset_index(drop=True)
    b = tables.responses(large).query("replicate == 37").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    ra = tables.runs(small).query("replicate == 37").reset_index(drop=True)
    rb = tables.runs(large).query("replicate == 37").reset_index(drop=True)
    pd.testing.assert_frame_equal(ra, rb)


def test_explicit_replicate_indices_match_a_full_batch():
    params = load(["replicates=200"])
    full = tables.runs(AidModel(params).run()).set_index("replicate")
    some = tables.runs(AidModel(params, replicates=[199, 3, 77]).run()).set_index("replicate")
    pd.testing.assert_frame_equal(some, full.loc[[199, 3, 77]])


def test_same_seed_same_result_other_seed_other_result():
    a = tables.runs(AidModel(load(["replicates=300"])).run())
    b = tables.runs(AidModel(load(["replicates=300"])).run())
    c = tables.runs(AidModel(load(["replicates=300", "seed=7"])).run())
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["peak_unmet_need"], c["peak_unmet_need"])


def test_need_is_conserved(amnok):
    """Whatever the flood brings is either relieved (at home or from abroad) or still unmet."""
    model, _, _ = amnok
    d = model.dprk
    np.testing.assert_allclose(d.domestic + d.foreign + d.unmet, d.need0, rtol=1e-9)
    delivered = sum(a.delivered for a in model.donors)
    np.testing.assert_allclose(delivered, d.foreign, rtol=1e-9, atol=1e-12)


def test_tables_follow_the_documented_schema(amnok):
    model, resp, runs = amnok
    assert list(resp.columns[:9]) == [
        "replicate",
        "donor",
        "offer_day",
        "response",
        "response_day",
        "first_response",
        "requested",
        "countered",
        "aid_delivered",
    ]
    assert len(resp) == model.worlds * len(DONORS)
    assert set(resp["response"].unique()) <= set(tables.RESPONSES)
    assert resp.loc[resp["response"] == "not_offered", "offer_day"].isna().all()
    assert list(runs.columns) == [
        "replicate",
        "seed",
        "any_accepted",
        "first_accept_day",
        "first_accept_donor",
        "domestic_share",
        "peak_unmet_need",
        "deepest_rung",
    ]
    assert runs["first_accept_day"].isna().eq(~runs["any_accepted"]).all()
    assert runs["deepest_rung"].between(0, 3).all()


def test_scripted_event_moves_tension_on_its_day():
    model = AidModel(load(["scenario=tumen_2016", "replicates=20"]))
    before = model.tension["inter_korean"]
    for _ in range(9):
        model.step()
    assert model.tension["inter_korean"] == before
    model.step()
    assert model.tension["inter_korean"] == pytest.approx(min(1.0, before + 0.1))
    assert model.applied_events == [(10, "Nuclear test")]


def test_a_seated_donor_offers_only_when_told():
    model = AidModel(load(["replicates=50"]))
    seoul = model.donor("south_korea")
    seoul.seat()
    for _ in range(10):
        model.step()
    assert (seoul.status == Response.NOT_OFFERED).all()
    seoul.offer_now("ngo", content_fit=0.9, conditions=0.0, size=0.1)
    model.step()
    assert (seoul.offer_day == model.day).all()
    model.step()
    assert ((seoul.status != Response.PENDING) | seoul.countered).all()  # answered, or a counter-request awaits the person


def test_low_tension_and_big_need_open_the_door_to_seoul(run_scenario):
    """Facts 2 and 5 together: a large flood in an engagement era gets Seoul's aid accepted."""
    _, resp, _ = run_scenario("scenario=floods_2007")
    assert share(donor_rows(resp, "south_korea")["response"] == "accepted") >= 0.6


# The mechanisms the episode library shows (docs/model.md): counter-requests, presence, sealed
# borders, stance shocks. Each test isolates one rule by setting its weight past any doubt.


ISOLATED = ["access.self_reliance=false", "dprk.decision_noise=0.5"]


def _donor(overrides: list[str], donor: str):
    # Without 2024's declared self-reliance line, which would otherwise mask the rule under test, and
    # with the documented decision noise, so that the fitted noise does not blur it.
    model = AidModel(load([*ISOLATED, *overrides, "replicates=400"])).run()
    return model.donor(donor)


@pytest.mark.parametrize(("meets", "answer"), [(1.0, Response.ACCEPTED), (0.0, Response.IGNORED)])
def test_a_counter_request_ends_accepted_when_met_and_lapses_when_refused(meets, answer):
    reply = [f"actors.south_korea.meets_counter_request={meets}", "actors.south_korea.haggles_counter_request=0"]
    overrides = ["tension.inter_korean=0.3", "dprk.counter_request_gain=20", *reply]
    seoul = _donor(overrides, "south_korea")
    countered = seoul.countered
    assert countered.mean() >= 0.8  # Seoul's offer, not taken as it stands, is countered
    assert (seoul.status[countered] == int(answer)).all()


def test_no_counter_request_where_offers_meet_silence():
    seoul = _donor(["dprk.counter_request_gain=20"], "south_korea")  # 2024: very high tension (fact 3)
    assert not seoul.countered.any()


def test_allies_are_never_haggled_with():
    russia = _donor(["dprk.counter_request_gain=20"], "russia")
    assert not russia.countered.any()


def test_presence_makes_a_resident_body_cheaper_to_accept():
    def accepted(resident: str) -> float:
        un = _donor(["flood.severity=5", "dprk.presence_discount=3", f"access.resident.un_agencies={resident}"], "un_agencies")
        return float((un.status == int(Response.ACCEPTED)).mean())

    assert accepted("true") > accepted("false") + 0.3


def test_a_sealed_border_closes_every_channel_but_the_allies():
    def accepted(closed: str) -> pd.Series:
        overrides = [*ISOLATED, "flood.severity=20", "access=amnok_2024", "dprk.closure_cost=8", f"access.border_closed={closed}", "replicates=400"]
        resp = tables.responses(AidModel(load(overrides)).run())
        return (resp["response"] == "accepted").groupby(resp["donor"].astype(str)).mean()

    open_, closed = accepted("false"), accepted("true")
    others = ["south_korea", "united_states", "un_agencies", "red_cross", "ngos"]
    assert open_[others].max() > 0.5 and closed[others].max() < 0.05  # everyone else shut out
    assert closed[["russia", "china"]].to_numpy() == pytest.approx(open_[["russia", "china"]].to_numpy(), abs=0.02)  # 2020 wheat, 2022 medicines


def test_a_declared_self_reliance_line_defers_even_the_allies():
    """2004, 2011, 2015: China's and Russia's help taken after small floods; 2024, under Kim's
    'own strength' line, thanked and deferred."""

    def answers(line: str) -> pd.Series:
        overrides = [
            "dprk.decision_noise=0.5",
            "flood.severity=20",
            "access=amnok_2024",
            "dprk.closure_cost=8",
            f"access.self_reliance={line}",
            "replicates=400",
        ]
        resp = tables.responses(AidModel(load(overrides)).run())
        return resp[resp["donor"].astype(str).isin(["russia", "china"])]["response"].value_counts(normalize=True)

    free, declared = answers("false"), answers("true")
    assert free.get("accepted", 0) > 0.5 and declared.get("accepted", 0) < 0.05
    assert declared.get("deferred", 0) > 0.9  # still thanked, never rebuffed (P4)


def test_a_stance_shock_declares_the_line_on_its_day():
    params = load(["replicates=10", "access.self_reliance=false"])
    model = AidModel(params.model_copy(update={"events": [Event(day=4, name="Own strength", self_reliance=True)]}))
    model.run_for(3)
    assert not model.self_reliance
    model.run_for(1)
    assert model.self_reliance and (4, "Own strength") in model.applied_events


def test_a_stance_shock_seals_the_border_on_its_day():
    params = load(["replicates=10"])
    model = AidModel(params.model_copy(update={"events": [Event(day=4, name="Directive", border_closed=True)]}))
    model.run_for(3)
    assert not model.border_closed
    model.run_for(1)
    assert model.border_closed and (4, "Directive") in model.applied_events


@pytest.mark.parametrize(("severity", "tension"), [(1, 0.3), (6, 0.15), (50, 0.8)])
def test_a_multilateral_seoul_makes_no_unasked_offer_of_its_own(severity, tension):
    """Park and Moon years: Seoul's money went through UN agencies and IFRC appeals, not to Pyongyang
    (it would still answer if Pyongyang asked it directly)."""

    def unasked(stance: str) -> float:
        seoul = _donor([f"seoul={stance}", f"flood.severity={severity}", f"tension.inter_korean={tension}"], "south_korea")
        return float(((seoul.status != int(Response.NOT_OFFERED)) & ~seoul.requested).mean())

    assert unasked("multilateral") <= 0.2
    assert unasked("engagement") >= 0.8


@pytest.mark.parametrize(
    ("reply", "share", "answer"),
    [("meet", 0.5, Response.ACCEPTED), ("refuse", 0.5, Response.IGNORED), ("haggle", 1.0, Response.ACCEPTED), ("haggle", 0.0, Response.REJECTED)],
)
def test_a_seated_donor_answers_a_counter_request_itself(reply, share, answer):
    """Role-play: a counter-request to a person waits for their reply instead of a random draw. Met,
    the aid is taken; refused, the offer lapses; haggled, it is taken only if the part given tips
    the answer (share 1: all of the request's value; share 0: none of it, refused outright)."""
    # A large flood and a narrow, pinned decision spread: most worlds reach a counter-request whatever the fit.
    overrides = [
        "tension.inter_korean=0.3",
        "flood.severity=50",
        "dprk.decision_noise=0.5",
        "dprk.counter_request_gain=20",
        f"dprk.haggle_share={share}",
        "replicates=50",
    ]
    model = AidModel(load(overrides))
    seoul = model.donor("south_korea")
    seoul.seat()
    seoul.offer_now("red_cross", content_fit=0.3, conditions=0.3, size=0.5)
    for _ in range(5):
        model.step()
    waiting = seoul.countered & (seoul.status == Response.PENDING)
    assert waiting.mean() >= 0.8  # countered, and still waiting for the person after days
    seoul.reply_to_counter_request(reply)
    model.step()
    assert (seoul.status[waiting] == int(answer)).all()
    assert seoul.haggled[waiting].all() == (reply == "haggle")


def test_a_donor_that_haggles_gets_part_of_the_request_judged():
    """Model donors: with every reply a haggle, each countered offer ends accepted or rejected
    (never the silent lapse of a refusal), and only haggled offers are marked so."""
    overrides = ["tension.inter_korean=0.3", "flood.severity=20", "dprk.counter_request_gain=20"]
    seoul = _donor([*overrides, "actors.south_korea.meets_counter_request=0", "actors.south_korea.haggles_counter_request=1"], "south_korea")
    countered = seoul.countered
    assert countered.mean() >= 0.5 and (seoul.haggled == countered).all()
    assert set(np.unique(seoul.status[countered])) <= {int(Response.ACCEPTED), int(Response.REJECTED)}


@pytest.mark.parametrize(
    ("meets", "haggles", "share", "words"),
    [(1.0, 0.0, 0.5, "agrees, and the aid is accepted"), (0.0, 0.0, 0.5, "the offer lapses"), (0.0, 1.0, 0.0, "calls it insignificant")],
)
def test_the_dispatch_tells_how_a_counter_request_ended(meets, haggles, share, words):
    from aidsim.report import narrative

    overrides = ["tension.inter_korean=0.3", "flood.severity=20", "dprk.counter_request_gain=20", f"dprk.haggle_share={share}", "replicates=20"]
    overrides += [f"actors.south_korea.meets_counter_request={meets}", f"actors.south_korea.haggles_counter_request={haggles}"]
    model = AidModel(load(overrides)).run()
    world = int(np.flatnonzero(model.donor("south_korea").countered)[0])
    text = " ".join(e.text for e in narrative.entries(model, world))
    assert "naming what it wants instead" in text and words in text
