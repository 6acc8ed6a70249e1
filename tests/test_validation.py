"""The episode library, `aidsim-validate` (in sample and leave-one-episode-out) and `aidsim-calibrate`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aidsim.analysis import calibration, validation
from aidsim.analysis.episodes import ANSWERS, load_episodes
from aidsim.model.config import conf_dir
from aidsim.model.errors import ConfigError
from aidsim.model.params import DONORS

BIN = Path(sys.executable).parent
EPISODES = conf_dir() / "episode"


def run(prog: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / prog), *args], capture_output=True, text=True, timeout=900)


def test_the_library_holds_at_least_fifteen_sourced_episodes():
    episodes = load_episodes(EPISODES)
    assert len(episodes) >= 15
    for ep in episodes:
        assert ep.context is not None, f"{ep.name}: the shipped library is in the rich form"
        for donor, row in ep.responses.items():
            assert row.sources and row.confidence, f"{ep.name}.{donor}"
    # the 2024 seed episode keeps its recorded answers
    amnok = next(e for e in episodes if e.name == "amnok_2024")
    assert amnok.answers == {
        "russia": "deferred",
        "china": "deferred",
        "south_korea": "ignored",
        "united_states": "not_offered",
        "un_agencies": "ignored",
        "red_cross": "ignored",
        "ngos": "ignored",
    }


def test_the_answer_vocabulary_has_one_home():
    import typing

    from aidsim.analysis.episodes import Answer
    from aidsim.model.ladder import RESPONSES

    assert typing.get_args(Answer) == RESPONSES == ANSWERS


def test_an_episode_runs_its_context_not_its_answers():
    ep = next(e for e in load_episodes(EPISODES) if e.name == "floods_2007")
    overrides = ep.overrides_for_run()
    assert "flood.severity=80.0" in overrides and "seoul=engagement" in overrides
    assert not any("accepted" in o or "ignored" in o for o in overrides)


def _copy_with(tmp_path: Path, name: str, edit) -> Path:
    folder = tmp_path / "eps"
    folder.mkdir(exist_ok=True)
    text = (EPISODES / "floods_2012.yaml").read_text()
    (folder / name).write_text(edit(text))
    return folder


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("  south_korea:\n", "  japan:\n", 1), "responses.japan"),
        (lambda t: t.replace("answer: rejected", "answer: maybe", 1), "answer='maybe'"),
        (lambda t: t.replace("horizon_days: 90", "horizon_days: 20", 1), "outside the horizon"),
        (lambda t: t.replace("(hardline", "(sunshine", 1), "stance 'sunshine'"),
    ],
    ids=["unknown donor", "unknown answer", "day outside the horizon", "unknown Seoul stance"],
)
def test_a_malformed_episode_is_one_line_naming_file_and_key(tmp_path, edit, expected):
    folder = _copy_with(tmp_path, "bad.yaml", edit)
    proc = run("aidsim-validate", f"episodes_dir={folder}", f"hydra.run.dir={tmp_path / 'out'}")
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "bad.yaml" in line and expected in line and "\n" not in line, line


def test_a_row_without_sources_is_refused(tmp_path):
    bad = tmp_path / "nosrc.yaml"
    bad.write_text("name: x\ntitle: y\nscenario: amnok_2024\nobserved: {}\nsources: []\n")
    with pytest.raises(ConfigError, match="nosrc.yaml"):
        load_episodes(tmp_path)


def test_the_likelihood_scores_the_recorded_path_not_only_the_answer():
    """Seoul's 2011 offer lapsed after a refused counter-request; its 2024 offer met plain silence.
    The same share of 'ignored' worlds counts for each only by the path its record shows."""
    episodes = [e for e in load_episodes(conf_dir() / "episode") if e.name in ("floods_2011", "amnok_2024")]
    assert [e.responses["south_korea"].counter_request is not None for e in episodes] == [False, True]  # sorted: 2024, 2011
    ignored = np.zeros(len(ANSWERS))
    ignored[ANSWERS.index("ignored")] = 0.6
    after_counter = ignored * 0.75  # most of the lapsed offers had been countered
    pred = dict.fromkeys(DONORS, ignored) | {f"{d}:countered": after_counter for d in DONORS}
    seoul = [r for r in calibration.rows(episodes, [pred, pred]) if r["donor"] == "south_korea"]
    assert [r["p_observed"] for r in seoul] == pytest.approx([0.6, 0.6])  # the answer alone: the same
    assert [r["p_joint"] for r in seoul] == pytest.approx([0.15, 0.45])  # by the recorded path: not


def test_a_self_reliance_line_without_its_source_is_refused(tmp_path):
    text = (conf_dir() / "episode" / "amnok_2024.yaml").read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("self_reliance_source:"))
    (tmp_path / "unsourced.yaml").write_text(text.replace(line, ""))
    with pytest.raises(ConfigError, match=r"unsourced\.yaml.*self_reliance_source"):
        load_episodes(tmp_path)


def test_short_form_episodes_stay_valid(tmp_path):
    eps = tmp_path / "eps"
    eps.mkdir()
    (eps / "what_if.yaml").write_text("name: detente_guess\ntitle: A guess\nscenario: detente\nobserved: {russia: deferred}\nsources: [classroom]\n")
    proc = run("aidsim-validate", f"episodes_dir={eps}", "replicates=100", f"hydra.run.dir={tmp_path / 'out'}")
    assert proc.returncode == 0, proc.stderr
    assert "detente_guess" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1].endswith("episodes=1")


def test_calibration_refuses_fewer_than_three_episodes(tmp_path):
    eps = tmp_path / "eps"
    eps.mkdir()
    for name in ("amnok_2024", "floods_2007"):
        shutil.copy(EPISODES / f"{name}.yaml", eps)
    proc = run("aidsim-calibrate", f"episodes_dir={eps}", f"preset_path={tmp_path / 'p.yaml'}", f"hydra.run.dir={tmp_path / 'out'}")
    assert proc.returncode == 2 and "at least 3" in proc.stderr and not (tmp_path / "p.yaml").exists()


def _small(n_episodes: int = 3, trials: int = 4):
    episodes = load_episodes(EPISODES)[:n_episodes]
    params = validation.base_params(episodes, 7)
    settings = calibration.FitSettings(
        worlds=32, trials=trials, seed=3, smoothing=0.02, parameters={"dprk.presence_discount": (0.0, 6.0), "dprk.image_weight": (0.0, 8.0)}
    )
    return episodes, params, settings


def test_same_seed_same_fit():
    episodes, params, settings = _small()
    a = calibration.fit(episodes, params, settings)
    b = calibration.fit(episodes, params, settings)
    assert a.values == b.values and a.traces == b.traces
    assert all(x >= y for trace in a.traces for x, y in zip(trace, trace[1:], strict=False))  # best-so-far never worsens


def test_restarts_are_independent_searches_and_the_fit_is_the_best_of_them():
    episodes, params, settings = _small(trials=6)
    settings = settings.model_copy(update={"parameters": {**settings.parameters, "dprk.decision_noise": (0.1, 3.0)}})
    alone = [calibration.fit(episodes, params, settings.model_copy(update={"seed": settings.seed + i})) for i in (0, 1)]
    both = calibration.fit(episodes, params, settings.model_copy(update={"restarts": 2}))
    assert both.traces == [a.traces[0] for a in alone]  # search i is the search seeded seed + i, unchanged
    assert alone[0].best_nll != alone[1].best_nll
    assert both.best_nll == min(a.best_nll for a in alone)
    assert both.values == min(alone, key=lambda a: a.best_nll).values


def test_the_refinement_goes_below_the_searches_best_and_is_reproducible():
    episodes, params, settings = _small(n_episodes=6, trials=3)
    settings = settings.model_copy(update={"parameters": {**settings.parameters, "dprk.decision_noise": (0.1, 3.0)}})
    searched = calibration.fit(episodes, params, settings)
    refined = calibration.fit(episodes, params, settings.model_copy(update={"refine": 12}))
    again = calibration.fit(episodes, params, settings.model_copy(update={"refine": 12}))
    assert refined.traces == searched.traces  # the searches are untouched; the refinement comes after them
    assert len(refined.refine_trace) >= 12  # whole generations: at least the trials asked for
    assert refined.best_nll < searched.best_nll  # same worlds, no recheck: directly comparable
    assert refined.values == again.values and refined.refine_trace == again.refine_trace
    lo, hi = refined.spread["dprk.decision_noise"]
    assert lo <= refined.values["dprk.decision_noise"] <= hi  # the spread shown beside a value contains it


def test_one_rung_threshold_is_fitted_as_an_element_of_its_list():
    from omegaconf import OmegaConf

    from aidsim.cli.calibrate import preset_text

    episodes, params, _ = _small()
    documented = list(params[0].dprk.rung_thresholds)
    moved = calibration.with_values(params[0], {"dprk.rung_thresholds.0": 0.4})
    assert moved.dprk.rung_thresholds == [0.4, *documented[1:]]
    with pytest.raises(ValueError, match="dprk.rung_thresholds.3: unknown"):
        calibration.FitSettings(worlds=16, trials=1, seed=0, smoothing=0.02, parameters={"dprk.rung_thresholds.3": (0.1, 1.0)})
    # the preset writes the whole list: the fitted element, and the others as documented
    fit = calibration.Fit(values={"dprk.rung_thresholds.0": 0.4, "dprk.image_weight": 2.0}, spread={}, best_nll=1.0, traces=[], refine_trace=[])
    text = preset_text(fit, params[0], len(episodes), 7)
    assert OmegaConf.to_container(OmegaConf.create(text))["dprk"]["rung_thresholds"] == [0.4, *documented[1:]]


def test_recheck_chooses_the_candidate_best_on_the_larger_sample():
    episodes, params, settings = _small()
    settings = settings.model_copy(update={"recheck": 3, "recheck_worlds": 200})
    candidates = [{"dprk.decision_noise": v} for v in (3.0, 0.2, 1.0)]

    def nll_on_200(values):  # the 200 worlds after the search's
        predicted = calibration.batch_shares([calibration.with_values(p, values) for p in params], 200, first=settings.worlds)
        return calibration.neg_log_likelihood(calibration.rows(episodes, predicted), settings.smoothing)

    candidates.sort(key=nll_on_200, reverse=True)  # the best last: choosing it is a real choice, not simply the first
    nll = [nll_on_200(c) for c in candidates]
    values, best = calibration.recheck(episodes, params, settings, candidates)
    assert len(set(nll)) == 3
    assert best == min(nll) and values == candidates[nll.index(min(nll))]
    # a fit with a recheck reports its choice's likelihood on the larger sample
    fitted = calibration.fit(episodes, params, settings.model_copy(update={"trials": 5}))
    assert fitted.best_nll == nll_on_200(fitted.values)


def test_loeo_scores_each_episode_with_weights_fitted_without_it():
    episodes, params, settings = _small(4, trials=3)
    full, fitted = calibration.loeo(episodes, params, settings, workers=1)
    assert len(fitted) == 4
    # fold i's fit equals a fit on the other three episodes
    others = [e for e in episodes if e.name != episodes[0].name]
    alone = calibration.fit(others, params[1:], settings, start=calibration.documented_values(params[0], settings))
    assert fitted[0] == alone.values
    # and the in-sample fit beside them is the fit on all four
    assert full == calibration.fit(episodes, params, settings, start=calibration.documented_values(params[0], settings)).values


def test_baselines_learn_only_from_rows_they_may_see():
    df = pd.DataFrame(
        {
            "episode": ["a", "a", "b", "c"],
            "donor": ["russia", "south_korea", "south_korea", "un_agencies"],
            "observed": ["ignored", "ignored", "accepted", "accepted"],
            "predicted_mode": ["ignored"] * 4,
            "brier": [0.0] * 4,
        }
    )
    held = validation.baselines(df, {"russia"}, held_out=True)
    # episode a held out: the other rows are all 'accepted'
    assert list(held["common_mode"][:2]) == ["accepted", "accepted"]
    assert list(held["ladder_mode"]) == ["accepted", "ignored", "ignored", "ignored"]
    h = validation.headline(df.join(held))
    assert h["baseline"] == max(h["common_accuracy"], h["ladder_accuracy"])


def test_resampling_keeps_an_episodes_rows_together():
    # two episodes of ten rows each: one all right, one all wrong
    df = pd.DataFrame(
        {
            "episode": ["a"] * 10 + ["b"] * 10,
            "observed": ["accepted"] * 20,
            "predicted_mode": ["accepted"] * 10 + ["ignored"] * 10,
            "brier": [0.0] * 10 + [2.0] * 10,
            "common_mode": ["ignored"] * 20,
            "ladder_mode": ["ignored"] * 20,
        }
    )
    iv = validation.resampled(df, draws=2000, seed=1)
    # a draw of (a, a) or (b, b) comes up one time in four each: resampled by episode the
    # interval spans both extremes; resampled row by row it would stay near 0.5
    assert iv["accuracy"] == (0.0, 1.0) and iv["brier"] == (0.0, 2.0) and iv["margin"] == (0.0, 1.0)
    assert validation.resampled(df, draws=2000, seed=1) == iv  # seeded


def test_validate_report_is_generated_from_the_data(tmp_path):
    dest = tmp_path / "docs" / "validation.md"
    proc = run("aidsim-validate", "replicates=200", "report=true", f"report_path={dest}", f"hydra.run.dir={tmp_path / 'out'}")
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    keys = [kv.split("=")[0] for kv in last.split()]
    assert keys == ["accuracy", "brier", "baseline", "episodes"]
    df = pd.read_csv(tmp_path / "out" / "validation.csv")
    h = validation.headline(df)
    text = dest.read_text()
    assert f"| the model | {h['accuracy']:.3f} | {h['brier']:.3f} |" in text
    assert f"from {len(df)} recorded donor answers in {df['episode'].nunique()} episodes" in text
    assert "in sample" in text and "## What the model still gets wrong" in text
    # Seoul's rows are scored apart, because its stance labels were read from the same record.
    seoul, others = df[df["donor"] == "south_korea"], df[df["donor"] != "south_korea"]
    w = validation.headline(others)
    assert f"Without Seoul's {len(seoul)} rows ({len(others)} rows left), scored the same way: the model {w['accuracy']:.3f}" in text
    stances = {ep.name: ep.context.governments.seoul_stance for ep in load_episodes(EPISODES) if ep.context}
    for stance, n in seoul["episode"].map(stances).value_counts().items():
        assert f"| {stance} | {n} |" in text
    iv = validation.resampled(df, draws=2000, seed=2024)  # conf/validate.yaml's resample and seed
    assert f"accuracy from {iv['accuracy'][0]:.3f} to {iv['accuracy'][1]:.3f}" in text
    episodes_md = dest.with_name("episodes.md").read_text()
    for ep in load_episodes(EPISODES):
        assert f"(`{ep.name}`)" in episodes_md
    assert set(df["observed"]) <= set(ANSWERS)


def test_committed_docs_match_the_library():
    docs = Path(__file__).resolve().parents[1] / "docs"
    text = (docs / "episodes.md").read_text()
    episodes = load_episodes(EPISODES)
    assert f"{len(episodes)} episodes" in text
    for ep in episodes:
        assert f"(`{ep.name}`)" in text
