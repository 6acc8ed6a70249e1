"""Sensitivity, scenario discovery and the aidsim-analyze command: known answers and output structure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aidsim.analysis import discovery, studies
from aidsim.analysis.sensitivity import Range, morris, sobol, sobol_design
from aidsim.model.config import compose
from aidsim.model.errors import ConfigError

BIN = Path(sys.executable).parent


def ishigami(points: pd.DataFrame, a: float = 7.0, b: float = 0.1) -> pd.DataFrame:
    x1, x2, x3 = (points[c].to_numpy() for c in ("x1", "x2", "x3"))
    return pd.DataFrame({"y": np.sin(x1) + a * np.sin(x2) ** 2 + b * x3**4 * np.sin(x1)})


def test_sobol_recovers_ishigami_indices():
    # Analytic values for a=7, b=0.1 (Ishigami & Homma 1990). N=1024 (5,120 runs), fixed seed:
    # SALib's estimates land within 0.03 of them here; 0.05 leaves room across platforms.
    ranges = {f"x{i}": Range(-np.pi, np.pi) for i in (1, 2, 3)}
    idx, design = sobol(ranges, ishigami, n=1024, seed=7, resamples=200)
    assert len(design) == 1024 * (3 + 2)
    got = idx.set_index("parameter")
    np.testing.assert_allclose(got["S1"], [0.3139, 0.4424, 0.0], atol=0.05)
    np.testing.assert_allclose(got["ST"], [0.5576, 0.4424, 0.2437], atol=0.05)
    assert (got["S1_conf"] > 0).all() and (got["ST_conf"] > 0).all()


def test_additive_model_sobol_and_morris():
    # y = x1 + 2 x2 + 0 x3 on [0, 1]^3: S1 = ST = a_i^2 / sum a^2 = (0.2, 0.8, 0);
    # Morris elementary effects of a linear model are exact: mu* = |a_i| per full range, sigma = 0.
    ranges = {k: Range(0.0, 1.0) for k in ("x1", "x2", "x3")}
    respond = lambda p: pd.DataFrame({"y": p["x1"] + 2 * p["x2"]})  # noqa: E731
    idx, _ = sobol(ranges, respond, n=512, seed=3, resamples=100)
    got = idx.set_index("parameter")
    np.testing.assert_allclose(got["S1"], [0.2, 0.8, 0.0], atol=0.03)
    np.testing.assert_allclose(got["ST"], [0.2, 0.8, 0.0], atol=0.03)
    m, design = morris(ranges, respond, trajectories=10, levels=4, seed=3, resamples=100)
    assert len(design) == 10 * (3 + 1)
    np.testing.assert_allclose(m.set_index("parameter")["mu_star"], [1.0, 2.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(m["sigma"], 0.0, atol=1e-9)


def test_log_scaled_range_samples_within_bounds_and_rejects_non_power_of_two():
    ranges = {"flood.severity": Range(0.3, 100, "log"), "tension.inter_korean": Range(0, 1)}
    _, points = sobol_design(ranges, 64, seed=1)
    assert points["flood.severity"].between(0.3, 100).all()
    # sampled uniformly in log10: about half the points lie below the geometric midpoint
    assert abs((points["flood.severity"] < np.sqrt(0.3 * 100)).mean() - 0.5) < 0.1
    with pytest.raises(ValueError, match="power of 2"):
        sobol_design(ranges, 100, seed=1)


def test_constant_output_gets_nan_indices_not_a_crash():
    ranges = {k: Range(0.0, 1.0) for k in ("a", "b")}
    idx, _ = sobol(ranges, lambda p: pd.DataFrame({"flat": np.zeros(len(p)), "y": p["a"]}), n=64, seed=1, resamples=50)
    assert idx[idx["output"] == "flat"][["S1", "ST"]].isna().all().all()
    assert idx[(idx["output"] == "y") & (idx["parameter"] == "a")]["ST"].iloc[0] > 0.9
    assert set(idx[idx["output"] == "flat"]["varying"]) == {0}


def test_prim_recovers_planted_box():
    # Cases of interest: a > 0.6 and b < 0.3 (12% of the cube); c is irrelevant; 2% label noise.
    rng = np.random.default_rng(11)
    x = pd.DataFrame(rng.uniform(size=(3000, 3)), columns=["a", "b", "c"])
    y = (x["a"] > 0.6) & (x["b"] < 0.3)
    y = np.where(rng.uniform(size=len(x)) < 0.02, ~y, y)
    box = discovery.prim_box(x, y, min_coverage=0.8)
    lim = box.limits.set_index("parameter")
    assert set(lim.index[lim["restricted"]]) == {"a", "b"}
    assert abs(lim.loc["a", "low"] - 0.6) < 0.05 and abs(lim.loc["b", "high"] - 0.3) < 0.05
    assert box.density > 0.8 and box.coverage >= 0.8
    assert list(box.trajectory.columns) == ["step", "coverage", "density", "mass", "restricted"]
    assert box.trajectory["coverage"].iloc[0] == 1.0  # step 0 is the whole space


def test_prim_needs_both_kinds_of_points():
    x = pd.DataFrame({"a": np.linspace(0, 1, 20)})
    with pytest.raises(ValueError, match="cases of interest"):
        discovery.prim_box(x, np.zeros(20, bool))


def test_cell_outcomes_by_hand():
    runs = pd.DataFrame(
        {
            "cell": [0, 0, 1, 1],
            "replicate": [0, 1, 0, 1],
            "any_accepted": [True, False, True, True],
            "first_accept_day": pd.array([4, None, 10, 20], dtype="Int16"),
            "domestic_share": [0.5, 1.0, 0.2, 0.4],
        }
    )
    resp = pd.DataFrame(
        {
            "cell": [0, 0, 0, 0, 1, 1, 1, 1],
            "replicate": [0, 0, 1, 1, 0, 0, 1, 1],
            "donor": ["russia", "south_korea"] * 4,
            "response": ["accepted", "ignored", "deferred", "ignored", "deferred", "accepted", "accepted", "accepted"],
        }
    )
    out = studies.cell_outcomes(runs, resp, horizon=60, ally_ids=("russia", "china"))
    assert out.loc[0, "p_any_accepted"] == 0.5 and out.loc[1, "p_any_accepted"] == 1.0
    assert out.loc[0, "p_seoul_accepted"] == 0.0 and out.loc[1, "p_seoul_accepted"] == 1.0
    assert out.loc[0, "p_ally_accepted"] == 0.5 and out.loc[1, "p_ally_accepted"] == 0.5
    assert out.loc[0, "median_first_accept_day"] == (4 + 61) / 2  # no acceptance counts as horizon + 1
    assert out.loc[1, "domestic_share"] == pytest.approx(0.3)
    assert list(out.columns) == list(studies.OUTPUTS)


def test_targets_and_studies_fail_in_one_line():
    ally_ids = studies.allies(compose([]))
    assert ally_ids == ("russia", "china")  # conf/actors: ally: true
    assert studies.parse_target("south_korea accepted", ally_ids) == (("south_korea",), "accepted")
    assert studies.parse_target("ally deferred", ally_ids) == (("russia", "china"), "deferred")
    with pytest.raises(ConfigError, match="target='seoul accepted'"):
        studies.parse_target("seoul accepted", ally_ids)
    with pytest.raises(ConfigError, match="available: .*amnok_2024"):
        studies.load_study("nope")
    study = studies.load_study("amnok_2024")
    assert study.parameters["flood.severity"].scale == "log"


def test_a_broken_manifest_fails_in_one_line(tmp_path):
    """Studies and manifests go through the one YAML -> pydantic loader: the file and the key are named."""
    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps({"analysis": {"command": "whatif"}, "study": {"name": "x", "parameters": {"flood.severity": {"low": 2, "high": 1}}}}))
    with pytest.raises(ConfigError, match=r"manifest.json: study\.parameters"):
        studies.from_manifest(str(bad), None)
    with pytest.raises(ConfigError, match="manifest.json: cannot read"):
        studies.from_manifest(str(tmp_path / "missing" / "manifest.json"), None)


def _analyze(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "aidsim-analyze"), *args, f"hydra.run.dir={tmp / 'logs'}"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp,
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["nonsense"], "command='nonsense': allowed: sensitivity, discover, whatif"),
        (["sensitivity", "study=nope"], "study='nope': unknown study; available:"),
        (["sensitivity", "sensitivity.sobol_n=100"], "sensitivity.sobol_n=100: allowed: a power of 2"),
        (["discover", "target=everyone accepted"], "target='everyone accepted': allowed:"),
        (["sensitivity", "sensitivity.sobol_m=4"], "sensitivity.sobol_m: unknown key; allowed keys here: methods, morris_levels"),
        (["whatif", "replicates=abc"], "replicates='abc': allowed: "),
    ],
)
def test_bad_input_is_one_line(tmp_path, args, message):
    r = _analyze(tmp_path, *args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_sensitivity_command_writes_tables_figures_and_a_rerunnable_manifest(tmp_path):
    small = ["replicates=10", "sensitivity.sobol_n=4", "sensitivity.morris_trajectories=2", "sensitivity.resamples=50", "progress=false"]
    r = _analyze(tmp_path, "sensitivity", *small, f"out={tmp_path / 'a'}")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "a" / "sensitivity"
    for name in ("sobol.csv", "morris.csv", "sobol.png", "morris.png", "design_sobol.csv", "design_morris.csv", "manifest.json"):
        assert (out / name).is_file(), name
    s = pd.read_csv(out / "sobol.csv")
    assert list(s.columns) == ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf", "varying"]
    dims = len(studies.load_study("amnok_2024").parameters)
    assert len(s) == len(studies.OUTPUTS) * dims  # every output x every parameter of the study
    assert list(pd.read_csv(out / "morris.csv").columns) == ["output", "parameter", "mu", "mu_star", "mu_star_conf", "sigma", "varying"]
    assert len(pd.read_csv(out / "design_sobol.csv")) == 4 * (dims + 2)
    summary = (out / "summary.md").read_text()
    assert "Generated by `aidsim-analyze sensitivity study=amnok_2024`" in summary and "](sobol.png)" in summary
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["analysis"]["replicates"] == 10 and manifest["study"]["name"] == "amnok_2024"
    assert manifest["provenance"]["packages"]["SALib"] == "1.6.0"
    # The manifest alone reproduces the numbers.
    r2 = _analyze(tmp_path, f"manifest={out / 'manifest.json'}", f"out={tmp_path / 'b'}")
    assert r2.returncode == 0, r2.stderr
    for name in ("sobol.csv", "morris.csv", "design_sobol.csv"):
        assert (tmp_path / "b" / "sensitivity" / name).read_text() == (out / name).read_text()


@pytest.mark.slow
def test_discover_and_whatif_commands(tmp_path):
    # open_2024: under 2024's declared self-reliance line no point would be a case
    discover = ("discover", "study=open_2024", "target=any accepted", "discover.threshold=0.9", "replicates=20", "discover.samples=48", "progress=false")
    r = _analyze(tmp_path, *discover, f"out={tmp_path}")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "discover" / "any_accepted"
    box = pd.read_csv(out / "box.csv")
    assert list(box.columns) == ["parameter", "low", "high", "full_low", "full_high", "restricted", "quasi_p"]
    # any acceptance needs a big enough flood: the box must restrict flood.severity from below
    sev = box.set_index("parameter").loc["flood.severity"]
    assert sev["restricted"] and sev["low"] > sev["full_low"]
    assert (out / "tradeoff.png").is_file() and "coverage" in (out / "box.md").read_text()
    # a report published beside the docs: the figure is copied under the report's name
    r = _analyze(tmp_path, *discover, f"out={tmp_path / 'p'}", "discover.report=docs/box_any.md")
    assert r.returncode == 0, r.stderr
    assert "](box_any_tradeoff.png)" in (tmp_path / "docs" / "box_any.md").read_text() and (tmp_path / "docs" / "box_any_tradeoff.png").is_file()
    r = _analyze(tmp_path, "whatif", "study=amnok_2024", "replicates=50", f"out={tmp_path}", f"whatif.report={tmp_path / 'docs' / 'whatif.md'}")
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(tmp_path / "whatif" / "whatif.csv")
    study = studies.load_study("amnok_2024")
    assert study.whatif is not None
    assert table["change"].iloc[0].startswith("baseline") and len(table) == 1 + len(study.whatif.changes)
    by_setting = table.set_index("set")
    assert by_setting.loc["flood.severity=50.0", "p_any_accepted"] > table["p_any_accepted"].iloc[0]
    assert by_setting.loc["flood.severity=50.0", "setting"] == "flood.severity 1.0 -> 50.0"  # base value read from the config
    assert by_setting.loc["access.border_closed=True", "p_any_accepted"] <= table["p_any_accepted"].iloc[0]
    md = (tmp_path / "docs" / "whatif.md").read_text()
    assert "Largest single effect" in md and (tmp_path / "docs" / "whatif_bars.png").is_file()


@pytest.mark.slow
def test_discover_reuses_a_sweep_of_the_same_name(tmp_path):
    grid = "sweep.grid={flood.severity:[0.03,0.1,0.3,1,3,10],tension.inter_korean:[0.1,0.5,0.9]}"
    sweep = subprocess.run(  # without 2024's self-reliance line, under which nothing here would be a case
        [str(BIN / "aidsim-sweep"), "sweep.study=toy", grid, "access.self_reliance=false", "replicates=40", "sweep.plots=false", "sweep.workers=1"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert sweep.returncode == 0, sweep.stderr
    r = _analyze(tmp_path, "discover", "study=toy", "target=any accepted", "discover.threshold=0.9")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "results" / "sweeps" / "toy" / "analysis" / "discover" / "any_accepted"
    points = pd.read_csv(out / "points.csv")
    assert len(points) == 18 and set(points.columns) >= {"flood.severity", "tension.inter_korean", "p", "of_interest"}
    box = pd.read_csv(out / "box.csv").set_index("parameter")
    # the box is drawn from the sweep's own points: it cuts severity between the cases and the rest
    cases, rest = points[points["of_interest"]], points[~points["of_interest"]]
    assert len(cases) and len(rest)
    assert box.loc["flood.severity", "restricted"]
    assert rest["flood.severity"].max() < box.loc["flood.severity", "low"] <= cases["flood.severity"].min()
    assert "sweep results/sweeps/toy" in (out / "box.md").read_text()


def test_outcomes_do_not_depend_on_how_points_are_chunked():
    study = studies.load_study("amnok_2024")
    base = studies.base_config(study, replicates=30, seed=5)
    points = studies.latin_hypercube(study.ranges(), 7, seed=1)
    one = studies.Evaluator(base, chunk=100, progress=False, label="t").outcomes(points)
    many = studies.Evaluator(base, chunk=2, progress=False, label="t").outcomes(points)
    pd.testing.assert_frame_equal(one, many)
    assert len(one) == 7 and one["p_any_accepted"].between(0, 1).all()


def test_the_command_line_knows_every_analysis_there_is():
    from aidsim.analysis import COMMANDS

    assert tuple(studies.RUNNERS) == COMMANDS
