"""Console scripts. Each is a Hydra app over the same config tree, so any override works:
`aidsim scenario=floods_2007 flood.severity=40 replicates=5000`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from aidsim.cli.guard import guarded
from aidsim.model.config import conf_dir, to_params
from aidsim.model.model import AidModel
from aidsim.model.params import Params
from aidsim.report import figures, narrative
from aidsim.runs import store, tables

_CONF = str(conf_dir())
log = logging.getLogger("aidsim")


def output_dir() -> Path:
    return Path(HydraConfig.get().runtime.output_dir)


def write_run(out: Path, params: Params, model: AidModel, cfg: DictConfig, seconds: float) -> tuple:
    """Write a scenario run's results folder; return (responses, runs) tables."""
    resp, runs = tables.responses(model), tables.runs(model)
    store.write_parquet(out / "responses.parquet", resp)
    store.write_parquet(out / "runs.parquet", runs)
    store.write_text(out / "summary.csv", tables.summary(resp).to_csv())
    store.write_text(out / "dispatch.md", narrative.dispatch_markdown(model, cfg.output.dispatch_replicate))
    store.write_text(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    store.write_json(out / "provenance.json", store.provenance(params.seed, replicates=model.worlds, seconds=round(seconds, 3)))
    if cfg.output.figures:
        figures.save(figures.timeline_figure(model), out / "timeline.png")
    return resp, runs


def format_summary(resp, runs) -> str:
    """The console report: per donor, offers, timing, responses, acceptance; then run-level lines."""
    s = tables.summary(resp)
    pct = lambda x: f"{100 * x:5.1f}%"  # noqa: E731
    head = f"{'donor':<14}{'offered':>8}{'med.day':>8}" + "".join(f"{r:>12}" for r in tables.RESPONSES)
    lines = [head, "-" * len(head)]
    for donor, row in s.iterrows():
        day = "-" if row["median_offer_day"] != row["median_offer_day"] else f"{row['median_offer_day']:.0f}"
        lines.append(f"{donor:<14}{pct(row['offered']):>8}{day:>8}" + "".join(f"{pct(row[r]):>12}" for r in tables.RESPONSES))
    lines.append(
        f"any aid accepted in {pct(runs['any_accepted'].mean()).strip()} of {len(runs)} worlds; "
        f"median domestic share of relief {runs['domestic_share'].median():.2f}"
    )
    return "\n".join(lines)


@hydra.main(config_path=_CONF, config_name="config", version_base="1.3")
def _run(cfg: DictConfig) -> None:
    params = to_params(cfg)
    start = time.perf_counter()
    model = AidModel(params).run()
    seconds = time.perf_counter() - start
    out = output_dir()
    resp, runs = write_run(out, params, model, cfg, seconds)
    print(f"{params.scenario.title or params.scenario.name}: {model.worlds} worlds x {params.horizon_days} days, seed {params.seed} ({seconds:.2f} s)")
    print(format_summary(resp, runs))
    print(f"results: {out}")


main = guarded(_run, "aidsim")
