"""`aidsim-validate report=true`: the validation report, its figure, and the scores it quotes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from aidsim.analysis.validation import headline
from aidsim.report import markdown

BIN = Path(sys.executable).parent
DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_report_sets_each_record_beside_the_model_and_says_what_is_wrong(tmp_path):
    dest = tmp_path / "docs" / "validation.md"
    proc = subprocess.run(
        [str(BIN / "aidsim-validate"), "replicates=200", "report=true", f"report_path={dest}", f"hydra.run.dir={tmp_path / 'out'}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(tmp_path / "out" / "validation.csv")
    assert list(df.columns[:5]) == ["episode", "donor", "observed", "predicted_mode", "p_observed"]
    assert {"brier", "p_requested", "median_accept_day"} <= set(df.columns)
    text = dest.read_text()
    accuracy, brier = headline(df)
    assert f"accuracy {accuracy:.3f}, Brier {brier:.3f}" in text  # the report quotes this run's scores
    for episode in ("amnok_2024", "floods_2007", "tumen_2016"):
        assert f"(`{episode}`)" in text
    assert "## What the model gets wrong, and why" in text and "in-sample" in text
    figure = dest.with_name("validation_calibration.png")
    assert figure.is_file() and figure.stat().st_size < 200_000
    assert "![calibration](validation_calibration.png)" in text


def test_brier_of_a_perfect_and_a_uniform_forecast():
    sure = pd.DataFrame({"observed": ["accepted"], **{f"p_{r}": [float(r == "accepted")] for r in markdown.RESPONSES}})
    assert markdown.climatology_brier(sure) == 0.0
    # pooled frequencies of two different records: each donor gets 0.5/0.5 -> (0.5^2 + 0.5^2) = 0.5
    mixed = pd.DataFrame({"observed": ["accepted", "ignored"]})
    assert markdown.climatology_brier(mixed) == 0.5


def test_committed_report_and_figure_exist_and_are_small():
    assert (DOCS / "validation.md").is_file()
    assert (DOCS / "validation_calibration.png").stat().st_size < 200_000
