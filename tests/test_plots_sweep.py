"""Study figures: maps for two-knob grids, lines for one knob, pooled lines for sampled designs."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aidsim.model.config import compose
from aidsim.model.params import DONORS
from aidsim.report import figures, narrative, style
from aidsim.runs import study
from aidsim.runs.tables import RESPONSES


def run(tmp_path: Path, name: str, *overrides: str) -> Path:
    root = tmp_path / name
    cfg = compose([f"sweep.dir={root}", "sweep.plots=false", "replicates=60", *overrides], config_name="sweep")
    study.run_study(cfg, root)
    return root


def run_jobs(tmp_path: Path, name: str, values: dict[str, list[float]], replicates: int = 20) -> Path:
    """A Hydra -m study as `aidsim-sweep -m` leaves it: one store per job under jobs/, each job's
    config holding its own overrides and its manifest naming them as labels."""
    root = tmp_path / name
    for combo in itertools.product(*values.values()):
        labels = dict(zip(values, combo, strict=True))
        overrides = [f"{k}={v}" for k, v in labels.items()]
        cfg = compose([f"sweep.dir={root}", "sweep.plots=false", f"replicates={replicates}", *overrides], config_name="sweep")
        study.run_study(cfg, root / "jobs" / ",".join(overrides), labels=labels, drop=labels)
    return root


def _texts(fig) -> str:
    return " | ".join(t.get_text() for t in fig.texts)


def test_donor_names_and_colours_have_one_home():
    """Names come from the `label:`/`short:` of each actor profile; every donor and response has its colour."""
    actors = compose([]).actors
    for donor in DONORS:
        assert style.donor_label(donor) == actors[donor].label
        assert style.donor_label(donor, short=True) == (actors[donor].get("short") or actors[donor].label)
        assert narrative.WHO[donor].endswith(style.donor_label(donor, short=True))
    assert style.donor_label("south_korea", short=True) == "Seoul"
    assert list(style.DONOR_COLOURS) == list(DONORS) and len(set(style.DONOR_COLOURS.values())) == len(DONORS)
    assert list(style.RESPONSE_COLOURS) == list(style.RESPONSE_LABELS) == list(RESPONSES)


def test_library_figures_do_not_use_pyplot():
    """Figures are matplotlib Figure objects: importing the drawing modules picks no backend."""
    code = "import sys, aidsim.report.figures, aidsim.analysis.sensitivity, aidsim.analysis.discovery; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_wilson_interval_matches_known_values():
    lo, hi = figures.wilson(np.array([0, 5, 10]), np.array([10, 10, 10]))
    np.testing.assert_allclose(lo, [0.0, 0.2366, 0.7225], atol=1e-4)
    np.testing.assert_allclose(hi, [0.2775, 0.7634, 1.0], atol=1e-4)


def test_two_knob_grid_gives_maps_with_the_2024_point(tmp_path):
    root = run(tmp_path, "g", "+sweep.grid={tension.inter_korean:[0.5,0.9,1.0],flood.severity:[0.5,1.5,40.0]}")
    files = figures.study_figures(root, ("png", "svg"))
    assert {f.name for f in files} == {f"{n}.{e}" for n in ("p_accepted", "most_likely_response", "first_acceptance") for e in ("png", "svg")}
    assert all(f.stat().st_size > 10_000 for f in files)
    s = figures.StudySummary(root)
    assert s.marker == "2024" and s.base == {"tension.inter_korean": 0.9, "flood.severity": 1.0}
    k, n = s.p("russia")
    assert n.eq(60).all() and (k <= n).all()
    assert (s.n.to_numpy() == 60).all()
    svg = (root / "figures" / "p_accepted.svg").read_text()
    assert "n = 60 worlds per cell, 9 cells" in svg and "inter-Korean tension" in svg and "flood severity (x July 2024 damage)" in svg


def test_summary_counts_match_the_raw_tables(tmp_path):
    from aidsim.runs import store as results

    root = run(tmp_path, "c", "+sweep.grid={flood.severity:[1.0,30.0]}")
    s = figures.StudySummary(root)
    resp = results.load(root)
    runs = results.load(root, "runs")
    for cell in (0, 1):
        k, _ = s.p("china")
        assert k[cell] == ((resp.cell == cell) & (resp.donor == "china") & (resp.response == "accepted")).sum()
        k, _ = s.p(None)
        assert k[cell] == runs[runs.cell == cell]["any_accepted"].sum()
        days = runs[(runs.cell == cell)]["first_accept_day"].dropna()
        expected = days.sort_values().iloc[(len(days) - 1) // 2] if len(days) >= 10 else np.nan
        assert s.median_first_day()[cell] == pytest.approx(expected, nan_ok=True)
        assert s.mean_rung()[cell] == pytest.approx(runs[runs.cell == cell]["deepest_rung"].mean())


def test_one_knob_and_sampled_designs_give_lines(tmp_path):
    one = run(tmp_path, "one", "+sweep.grid={flood.severity:[0.5,2.0,8.0,32.0]}")
    assert [f.name for f in figures.study_figures(one, ("png",))] == ["p_accepted_lines.png"]
    lhs = run(
        tmp_path,
        "lhs",
        "replicates=20",
        "sweep.sample={method:lhs,n:24,seed:3,ranges:{tension.inter_korean:[0,1],flood.severity:[0.3,100]},log:[flood.severity]}",
    )
    names = [f.name for f in figures.study_figures(lhs, ("png",))]
    assert names == ["p_accepted_by_tension_inter_korean.png", "p_accepted_by_flood_severity.png"]


def test_the_store_knows_every_figure_name_it_draws(tmp_path):
    """--force deletes only the figures the store draws (store.FIGURE_NAME): every kind is among them."""
    from aidsim.runs.store import FIGURE_NAME

    grid = run(tmp_path, "grid", "replicates=20", "+sweep.grid={tension.inter_korean:[0.2,0.9],flood.severity:[1.0,10.0]}")
    one = run(tmp_path, "one", "replicates=20", "+sweep.grid={flood.severity:[0.5,2.0]}")
    lhs = run(tmp_path, "lhs", "replicates=20", "sweep.sample={method:lhs,n:8,seed:3,ranges:{tension.inter_korean:[0,1],relations.china:[0,1]}}")
    files = [f for root in (grid, one, lhs) for f in figures.study_figures(root, figures.FORMATS + ("pdf",))]
    assert len({f.stem for f in files}) == 6 and all(FIGURE_NAME.fullmatch(f.name) for f in files)


def test_aidsim_plot_command(tmp_path):
    root = run(tmp_path, "cmd", "+sweep.grid={flood.severity:[1.0,10.0]}")
    bin_dir = Path(sys.executable).parent
    out = subprocess.run([str(bin_dir / "aidsim-plot"), str(root), "--format", "pdf"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and (root / "figures" / "p_accepted_lines.pdf").is_file()
    bad = subprocess.run([str(bin_dir / "aidsim-plot"), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert (
        bad.returncode == 2 and bad.stderr.strip() == f"aidsim-plot: error: {tmp_path}: not a sweep results folder (no manifest.json); run aidsim-sweep first"
    )
    root = run(tmp_path, "cut", "replicates=20", "sweep.chunk_worlds=20", "+sweep.grid={flood.severity:[1.0,10.0]}")
    next(root.glob("runs/chunk-*.parquet")).unlink()  # an incomplete study: drawn, and said once, in one line
    out = subprocess.run([str(bin_dir / "aidsim-plot"), str(root), "--format", "png"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stderr.count("\n") == 1 and out.stderr.startswith(f"aidsim-plot: warning: {root}: study incomplete")


def test_a_multirun_grid_marks_the_2024_point_only_where_its_grid_holds_it(tmp_path):
    """Each -m job's config holds its own tension and severity: the base comes from the config
    without them (tension 0.9, severity 1), so a grid of tension 0.2 and 0.8 has no star and says none."""
    grid = {"tension.inter_korean": [0.2, 0.8], "flood.severity": [1.0, 10.0]}
    s = figures.StudySummary(run_jobs(tmp_path, "outside", grid))
    assert s.base["tension.inter_korean"] == 0.9 and s.base["flood.severity"] == 1.0
    g = figures._Grid(s, "tension.inter_korean", "flood.severity")
    for fig in (figures.p_accepted_maps(g), figures.most_likely_response_maps(g), figures.outcome_maps(g)):
        assert "star" not in _texts(fig)
        assert not any(line.get_marker() == "*" for ax in fig.axes for line in ax.lines)
    inside = figures.StudySummary(run_jobs(tmp_path, "inside", {**grid, "tension.inter_korean": [0.2, 0.9]}))
    g = figures._Grid(inside, "tension.inter_korean", "flood.severity")
    fig = figures.p_accepted_maps(g)
    assert g.star == (1.0, 0.0) and "2024 point marked with a star" in _texts(fig)
    assert [line.get_xydata().tolist() for line in fig.axes[0].lines if line.get_marker() == "*"] == [[[1.0, 0.0]]]


def test_a_base_that_cannot_be_composed_is_unknown():
    assert figures._unoverridden({"flood": "no_such_preset", "flood.severity": 10.0}, ["flood.severity"]) == {"flood.severity": None}


def test_a_one_knob_sample_is_drawn_in_knob_order(tmp_path):
    root = run(tmp_path, "lhs1", "replicates=20", "sweep.sample={method:lhs,n:16,seed:1,ranges:{relations.china:[0,1]}}")
    s = figures.StudySummary(root)
    assert not s.cells["relations.china"].is_monotonic_increasing  # the design lists its points unsorted
    fig = figures.knob_lines(s, "relations.china")
    for ax in fig.axes[:3]:
        for line in ax.lines:
            x = line.get_xdata()
            assert len(x) == 2 or np.all(np.diff(x) > 0)  # a 2-point line is the dotted 2024 mark
    for band in fig.axes[0].collections:  # each Wilson band: the lower edge left to right
        edge = band.get_paths()[0].vertices[1:17, 0]
        assert np.all(np.diff(edge) > 0)


def test_one_knob_captions_say_only_what_is_drawn(tmp_path):
    """The dotted base line is named only when drawn; an empty time panel says why; the title names
    the knob as people do, not by its key."""
    outside = figures.StudySummary(run(tmp_path, "mob34", "replicates=9", "+sweep.grid={dprk.mobilisation_days:[3,4]}"))
    fig = figures.knob_lines(outside, "dprk.mobilisation_days")
    assert outside.base["dprk.mobilisation_days"] == 5 and "dotted" not in _texts(fig)
    assert not [line for ax in fig.axes for line in ax.lines if line.get_linestyle() == ":"]
    assert fig.get_suptitle().startswith("Aid acceptance against DPRK mobilisation\n")
    # 9 worlds a cell: never the 10 accepting worlds a median time needs
    assert f"time blank where < {figures.MIN_ACCEPTING_WORLDS} worlds accepted any aid" in _texts(fig)
    assert any("fewer than 10 worlds" in t.get_text() for t in fig.axes[1].texts)
    inside = figures.StudySummary(run(tmp_path, "mob46", "replicates=9", "+sweep.grid={dprk.mobilisation_days:[4,6]}"))
    fig = figures.knob_lines(inside, "dprk.mobilisation_days")
    assert "2024 value: dotted line" in _texts(fig)
    assert all(line.get_xdata()[0] == 5 for line in (ln for ax in fig.axes for ln in ax.lines if ln.get_linestyle() == ":"))


def test_a_text_knob_is_drawn_at_one_position_per_value(tmp_path):
    one = run(tmp_path, "txt", "replicates=20", "+sweep.grid={actors.russia.channel:[direct,ngo]}")
    assert [f.name for f in figures.study_figures(one, ("png",))] == ["p_accepted_lines.png"]
    two = run(tmp_path, "txt2", "replicates=20", "+sweep.grid={actors.russia.channel:[direct,ngo],flood.severity:[1.0,10.0]}")
    assert len(figures.study_figures(two, ("png",))) == 3


def test_a_study_with_no_finished_chunk_has_no_figures_but_one_line(tmp_path):
    from aidsim.model.errors import ConfigError

    root = run(tmp_path, "cut", "replicates=20", "+sweep.grid={flood.severity:[1.0,10.0]}")
    for shard in root.glob("*/chunk-*.parquet"):
        shard.unlink()
    with pytest.warns(UserWarning, match="incomplete"), pytest.raises(ConfigError, match="no finished chunks yet"):
        figures.study_figures(root, ("png",))
