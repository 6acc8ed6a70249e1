"""`aidsim-analyze`: sensitivity, discover and whatif over a study (see aidsim.analysis.studies)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from aidsim.analysis import COMMANDS
from aidsim.cli.guard import guarded, note_output
from aidsim.model.config import conf_dir
from aidsim.model.errors import ConfigError, unknown_line


@hydra.main(config_path=str(conf_dir()), config_name="analysis/analyze", version_base="1.3")
def _analyze(cfg: DictConfig) -> None:
    note_output()
    from aidsim.analysis.studies import from_manifest, load_study, run  # the analyses load only now: a bad key is answered without them

    if cfg.manifest:
        cfg, study = from_manifest(cfg.manifest, cfg.out)
    else:
        study = load_study(cfg.study, sweep_ok=cfg.command == "discover" and cfg.discover.reuse_sweep)
    start = time.perf_counter()
    out = run(cfg, study)
    print(summary_lines(cfg, out))
    print(f"results: {out} ({time.perf_counter() - start:.1f} s)")


def summary_lines(cfg: DictConfig, out: Path) -> str:
    """The console report: the headline of what the command found."""
    import pandas as pd

    if cfg.command == "sensitivity":
        lines = []
        from aidsim.analysis.sensitivity import RARE

        for name in ("sobol", "morris"):
            f = out / f"{name}.csv"
            if f.is_file():
                df = pd.read_csv(f)
                key = "ST" if name == "sobol" else "mu_star"
                n_points = len(pd.read_csv(out / f"design_{name}.csv"))
                lines.append(f"{name}: {key} per output (largest first), {n_points} points")
                for output, g in df.groupby("output", sort=False):
                    k = int(g["varying"].iloc[0])
                    g = g.dropna(subset=[key]).sort_values(key, ascending=False)
                    top = ", ".join(f"{r.parameter}={getattr(r, key):.2f}" for r in g.head(3).itertuples())
                    note = f"  [varies at only {k} points: unreliable]" if 0 < k < RARE * n_points else ""
                    lines.append(f"  {output:<24} {top if k else '(constant over the design)'}{note}")
        return "\n".join(lines)
    if cfg.command == "discover":
        return (out / "box.md").read_text(encoding="utf-8").split("\n## ")[0].strip()
    table = pd.read_csv(out / "whatif.csv")
    width = int(table["change"].str.len().max())
    return "\n".join(f"{r.change:<{width}} P(any accepted)={r.p_any_accepted:.3f} [{r.p_any_low:.3f}, {r.p_any_high:.3f}]" for r in table.itertuples())


def unknown_setting(dotted: str) -> str:
    """The one line for an override of a key that analyze.yaml does not have."""
    section = OmegaConf.load(conf_dir() / "analysis" / "analyze.yaml")
    parent = OmegaConf.select(section, dotted.rpartition(".")[0]) if "." in dotted else section
    keys = sorted(str(k) for k in parent if k != "hydra") if isinstance(parent, DictConfig) else []
    return unknown_line(dotted, keys)


def _argv_command(argv: list[str]) -> list[str]:
    """`aidsim-analyze sensitivity k=v` -> `aidsim-analyze command=sensitivity k=v` (Hydra takes key=value only)."""
    if len(argv) > 1 and argv[1] in COMMANDS:
        return [argv[0], f"command={argv[1]}", *argv[2:]]
    if len(argv) > 1 and "=" not in argv[1] and not argv[1].startswith("-"):
        raise ConfigError(f"command={argv[1]!r}: allowed: {', '.join(COMMANDS)}")
    return argv


def _main() -> None:
    sys.argv = _argv_command(sys.argv)
    _analyze()


main = guarded(_main, "aidsim-analyze", unknown=unknown_setting, output_root="results/analysis")
