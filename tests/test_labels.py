"""Labels and figures that say what was run: titles naming the overrides, round log ticks, the 2024
point on the default grids, day axes that do not stretch one day, donor colours told apart, legends
over no data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from aidsim.model.config import compose, presets
from aidsim.model.params import DONORS
from aidsim.report import figures, labels, markdown, style
from aidsim.report.timeline import timeline_data, timeline_figure
from aidsim.runs import study
from aidsim.runs.designs import log_spaced

BIN = Path(sys.executable).parent
TITLE_2024 = "Amnok river floods, July 2024 (preset amnok_2024)"


def small_study(tmp_path: Path, grid: str) -> figures.StudySummary:
    root = tmp_path / "study"
    cfg = compose([f"sweep.dir={root}", "sweep.plots=false", "replicates=20", f"+sweep.grid={grid}"], config_name="sweep")
    study.run_study(cfg, root)
    return figures.StudySummary(root)


# --- titles ------------------------------------------------------------------------------------


def test_the_runs_printout_and_dispatch_name_the_override_values(tmp_path):
    proc = subprocess.run(
        [str(BIN / "aidsim"), "flood.severity=20", "tension.inter_korean=0.3", "replicates=50", f"hydra.run.dir={tmp_path}", "output.figures=false"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    title = f"{TITLE_2024}; severity 20x, inter-Korean tension 0.3"
    assert proc.stdout.startswith(f"{title}: 50 worlds x 60 days, seed 2024")
    assert (tmp_path / "dispatch.md").read_text().startswith(f"# Dispatch: {title}\n")


def test_the_timeline_title_is_the_runs_title(run_scenario):
    model, _, _ = run_scenario("replicates=20")
    titled = model.params.scenario.model_copy(update={"title": labels.run_title("Amnok river floods, July 2024", "amnok_2024", ["flood.severity=20"])})
    model.params = model.params.model_copy(update={"scenario": titled})
    assert timeline_figure(timeline_data(model)).get_suptitle().startswith(f"{TITLE_2024}; severity 20x\n20 worlds")


def test_the_timeline_names_the_tensions_as_everywhere_else(run_scenario):
    model, _, _ = run_scenario("replicates=20")
    legend = timeline_figure(timeline_data(model)).axes[2].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [labels.NAMES["tension.inter_korean"], labels.NAMES["tension.us_dprk"]]
    assert labels.NAMES["tension.inter_korean"].startswith("inter-Korean") and labels.NAMES["tension.us_dprk"].startswith("US-DPRK")


def test_run_title_words_each_setting_and_drops_what_steers_the_tools():
    overrides = ["flood.severity=20", "replicates=300", "seed=7", "hydra.run.dir=x", "tension.us_dprk=0.50", "relations.china=0.8"]
    overrides += ["+dprk.decision_noise=0.2", "events=exercise", "relations=engagement_2007", "~flood.visibility", "horizon_days=90"]
    assert labels.run_title("Amnok river floods, July 2024", "amnok_2024", overrides) == (
        f"{TITLE_2024}; severity 20x, US-DPRK tension 0.5, relations with Beijing 0.8, dprk.decision_noise 0.2, "
        "events preset exercise, relations preset engagement_2007, and 1 more setting"
    )
    assert labels.run_title("Amnok 2024", None, {"tension.inter_korean": 0.2, "flood.severity": 14.0}) == "Amnok 2024; inter-Korean tension 0.2, severity 14x"
    assert labels.run_title("Amnok river floods, July 2024", "amnok_2024") == TITLE_2024
    assert labels.setting("horizon_days", 90) == "horizon 90 days"


def test_a_studys_title_names_what_its_experiment_file_set_but_not_its_swept_knobs():
    ladder = compose(["experiment=ladder_costs"], config_name="sweep")
    assert labels.config_title(ladder, exclude=list(ladder.sweep.grid)) == f"{TITLE_2024}; severity 40x"
    default = compose(["experiment=tension_x_severity", "tension.us_dprk=0.5"], config_name="sweep")
    assert labels.config_title(default, exclude=list(default.sweep.grid)) == f"{TITLE_2024}; US-DPRK tension 0.5, self-reliance line off"


# --- the severity axis -------------------------------------------------------------------------


def test_every_default_severity_grid_is_log_spaced_through_the_2024_point():
    grids = [compose([f"experiment={e}"], config_name="sweep").sweep.grid or {} for e in presets("experiment")]
    severities = [list(g["flood.severity"]) for g in grids if "flood.severity" in g]
    assert len(severities) >= 3  # tension_x_severity, china_relations, severity_line
    for severity in severities:
        assert {1.0, 10.0, 100.0} <= set(severity) and log_spaced(severity)


def test_heatmap_severity_ticks_are_round_values_at_their_log_positions():
    positions, text = figures.index_ticks(np.logspace(-0.5, 2, 11))
    assert text == ["0.3", "1", "3", "10", "30", "100"]
    np.testing.assert_allclose(positions, 4 * np.log10([0.3, 1, 3, 10, 30, 100]) + 2)  # a quarter decade per cell, 1 at cell 2
    _, linear = figures.index_ticks(np.linspace(0, 1, 11))
    assert linear[:3] == ["0", "0.1", "0.2"]  # a linear knob keeps one tick per cell


def test_heatmaps_label_the_severity_axis_as_log_scale_with_round_ticks(tmp_path):
    s = small_study(tmp_path, "{tension.inter_korean:[0.5,0.9],flood.severity:[0.3162278,1.0,3.162278,10.0,31.62278,100.0]}")
    fig = figures.p_accepted_maps(figures._Grid(s, "tension.inter_korean", "flood.severity"))
    assert fig.get_supylabel() == "flood severity (x July 2024 damage) (log scale)"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["0.3", "1", "3", "10", "30", "100"]
    assert fig.get_supxlabel() == "inter-Korean tension (0 engagement - 1 open hostility)"


# --- one-knob lines ----------------------------------------------------------------------------


def test_one_knob_lines_are_log_for_log_spaced_knobs_and_keep_a_day_axis_wide(tmp_path):
    s = small_study(tmp_path, "{flood.severity:[0.3162278,1.0,3.162278,10.0,31.62278,100.0]}")
    fig = figures.knob_lines(s, "flood.severity")
    p, days, rung = fig.axes[:3]
    assert p.get_xscale() == "log" and "(log scale)" in p.get_xlabel()
    assert [t.get_text() for t in p.get_xticklabels()] == ["0.3", "1", "3", "10", "30", "100"]
    lo, hi = days.get_ylim()
    assert hi - lo >= style.MIN_DAY_SPAN  # first acceptance within a day or two here
    assert rung.get_ylim()[1] - rung.get_ylim()[0] >= 3


def test_a_one_day_difference_does_not_fill_a_day_axis():
    assert style.day_limits(3, 4) == (0.0, style.MIN_DAY_SPAN)
    assert style.day_limits(20, 21) == (15.5, 25.5)
    assert style.day_limits(2, 40) == (2, 40)


def test_what_if_curves_spanning_orders_of_magnitude_are_log():
    curves = pd.DataFrame({"knob": "flood.severity", "value": [0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0, 100.0]})
    curves = curves.assign(p_any_accepted=0.5, low=0.4, high=0.6)
    fig = markdown.whatif_curve_figure(curves, {"flood.severity": 1.0}, {}, "caption")
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_xlabel().endswith("(log scale)")
    assert not style.wants_log(np.linspace(0, 1, 11)) and not style.wants_log([0.1, 0.5, 1.0])


def test_one_log_rule_puts_a_tenfold_severity_like_grid_on_log_axes_in_lines_and_heatmaps(tmp_path):
    """The docs' grid 1 10 40 spans 40-fold with its median near the geometric middle: a log axis
    in the line plot and in the heatmaps alike; a narrow or linearly spread knob stays linear in both."""
    assert style.wants_log([1.0, 10.0, 40.0]) and style.wants_log(np.logspace(-0.5, 2, 11))
    assert not style.wants_log([1.0, 2.0, 4.0]) and not style.wants_log([0.5, 0.9, 1.0]) and not style.wants_log([0.1, 0.5, 1.0])
    s = small_study(tmp_path, "{tension.inter_korean:[0.5,0.9],flood.severity:[1.0,10.0,40.0]}")
    lines = figures.knob_lines(s, "flood.severity")
    assert lines.axes[0].get_xscale() == "log" and lines.axes[0].get_xlabel().endswith("(log scale)")
    maps = figures.p_accepted_maps(figures._Grid(s, "tension.inter_korean", "flood.severity"))
    assert maps.get_supylabel().endswith("(log scale)") and not maps.get_supxlabel().endswith("(log scale)")
    assert [t.get_text() for t in maps.axes[0].get_yticklabels()] == ["1", "3", "10", "30"]


def test_a_sampled_knob_is_log_only_if_sampled_in_log_terms():
    draws = np.random.default_rng(1).uniform(size=256)  # tension in an LHS: smallest draw ~0.002, yet linear
    assert not style.wants_log(draws) and style.wants_log(0.3 * (100 / 0.3) ** draws)


# --- colours and legends -------------------------------------------------------------------------

_DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]])
_PROTANOPIA = np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]])
"""Machado, Oliveira & Fernandes (2009), severity 1, on linear RGB."""


def _lab(hex_colour: str, vision: np.ndarray) -> np.ndarray:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.clip(vision @ np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4), 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear / [0.95047, 1.0, 1.08883]
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str, vision: np.ndarray) -> float:
    """CIE76 colour difference (Euclidean in CIELAB) as seen with `vision`."""
    return float(np.linalg.norm(_lab(a, vision) - _lab(b, vision)))


def test_no_two_donors_share_a_colour_and_moscow_and_the_red_cross_differ_by_delta_e_40():
    colours = style.DONOR_COLOURS
    assert list(colours) == list(DONORS) and len(set(colours.values())) == len(DONORS)
    assert set(colours.values()) <= set(style.SERIES)  # Okabe-Ito without its yellow, too faint for a line
    for vision in (np.eye(3), _DEUTERANOPIA, _PROTANOPIA):
        assert delta_e(colours["russia"], colours["red_cross"], vision) >= 40
    assert delta_e(style.ORANGE, style.VERMILLION, _DEUTERANOPIA) < 40  # the test tells the old pair apart


def _overlaps_an_axes(fig: Figure) -> list[str]:
    """Legends whose box overlaps the data area of any visible axes."""
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    areas = [ax.get_window_extent(renderer) for ax in fig.axes if ax.get_visible()]
    return [" / ".join(t.get_text() for t in legend.get_texts()) for legend in legends if any(legend.get_window_extent(renderer).overlaps(a) for a in areas)]


def test_legends_lie_outside_the_axes_data_area(run_scenario, tmp_path):
    model, _, _ = run_scenario("replicates=20")
    assert _overlaps_an_axes(timeline_figure(timeline_data(model))) == []
    s = small_study(tmp_path, "{tension.inter_korean:[0.5,0.9],flood.severity:[1.0,10.0,100.0]}")
    grid = figures._Grid(s, "tension.inter_korean", "flood.severity")
    for fig in (figures.knob_lines(s, "flood.severity"), figures.most_likely_response_maps(grid), figures.outcome_maps(grid)):
        assert _overlaps_an_axes(fig) == []
    curves = pd.DataFrame({"knob": "tension.inter_korean", "value": np.linspace(0, 1, 11), "p_any_accepted": 0.1, "low": 0.05, "high": 0.15})
    fig = markdown.whatif_curve_figure(curves, {"tension.inter_korean": 0.9}, {}, "caption")
    assert _overlaps_an_axes(fig) == [] and not fig.axes[0].get_legend()


def test_a_preset_picked_for_a_group_is_named_as_one_not_as_the_keys_it_sets():
    overrides = ["experiment=severity_line", "tension.inter_korean=0.3", "seoul=engagement"]
    cfg = compose(overrides, config_name="sweep")
    choices = compose(overrides, config_name="sweep", hydra=True).hydra.runtime.choices  # what HydraConfig holds in a run
    title = labels.config_title(cfg, exclude=list(cfg.sweep.grid), choices=choices)
    assert title == f"{TITLE_2024}; seoul preset engagement, inter-Korean tension 0.3"
    # without the choices (an old study's folder) the preset's keys are what differs
    assert "actors.south_korea" in labels.config_title(cfg, exclude=list(cfg.sweep.grid))


def test_a_flag_from_the_command_line_reads_as_on_or_off():
    assert labels.setting("access.self_reliance", "false") == "self-reliance line off"
    assert labels.setting("access.self_reliance", "True") == "self-reliance line on"
    assert labels.run_title("Amnok", None, ["access.self_reliance=false"]) == "Amnok; self-reliance line off"


def test_a_runs_own_donor_names_reach_its_dispatch(monkeypatch):
    from aidsim.model.config import load
    from aidsim.model.model import AidModel
    from aidsim.report import narrative, style

    monkeypatch.setattr(style, "_run_profiles", {})  # this process's names are restored afterwards
    params = load(["actors.russia.short=Kremlin", "replicates=20"])
    style.use_names(params.actors)
    assert style.donor_label("russia", short=True) == "Kremlin"
    text = narrative.dispatch_markdown(AidModel(params).run(), 0)
    assert "Kremlin" in text and "Moscow" not in text
