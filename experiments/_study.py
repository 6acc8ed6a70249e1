"""Shared by the study scripts: run a named study (resuming if interrupted) and draw its figures."""

from __future__ import annotations

import sys
from pathlib import Path

from aidsim.model.config import compose
from aidsim.report import figures
from aidsim.runs import store as results
from aidsim.runs.study import run_study


def reproduce(study: str, *overrides: str) -> Path:
    """Run conf/experiment/<study>.yaml into results/sweeps/<study>/ and draw its figures there.
    Extra Hydra overrides can be given on the command line (e.g. replicates=100)."""
    cfg = compose([f"experiment={study}", "sweep.plots=false", *overrides, *sys.argv[1:]], config_name="sweep")
    root = Path(cfg.sweep.dir)
    out = run_study(cfg, root)
    rate = f", {out['runs_per_s']:,} runs/s" if out.get("runs_per_s") else ""
    print(f"{study}: {out['cells']} cells, {out['runs']:,} runs this session in {out['seconds']:.2f} s{rate} ({out['chunks_resumed']} chunks resumed)")
    for f in figures.study_figures(root):
        print(f"  {f}")
    return root


def table(root: Path) -> None:
    """Print P(any aid accepted) per cell as a small pivot (two-knob grids) or list."""
    knobs = [k for k in results.cells(root).columns if k != "cell"]
    runs = results.load(root, "runs", columns=[*knobs, "any_accepted"])
    share = runs.groupby(knobs)["any_accepted"].mean()
    print(share.unstack().round(2).to_string() if len(knobs) == 2 else share.round(2).to_string())
