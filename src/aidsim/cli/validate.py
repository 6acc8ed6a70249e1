"""`aidsim-validate`: score the model against recorded episodes."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from aidsim.analysis.validation import headline, load_episodes, validate, write_report
from aidsim.cli.guard import guarded
from aidsim.cli.run import output_dir
from aidsim.model.config import conf_dir
from aidsim.runs import store


@hydra.main(config_path=str(conf_dir()), config_name="validate", version_base="1.3")
def _validate(cfg: DictConfig) -> None:
    folder = Path(cfg.episodes_dir) if cfg.episodes_dir else conf_dir() / "episode"
    episodes = load_episodes(folder)
    df = validate(episodes, replicates=int(cfg.replicates), seed=int(cfg.seed))
    out = output_dir()
    cols = ["episode", "donor", "observed", "predicted_mode", "p_observed"]
    store.write_text(out / "validation.csv", df.to_csv(index=False))
    store.write_json(out / "provenance.json", store.provenance(int(cfg.seed), episodes_dir=str(folder), replicates=int(cfg.replicates)))
    with_pct = df[cols].assign(p_observed=df["p_observed"].map(lambda p: f"{p:.2f}"))
    print(with_pct.to_string(index=False))
    accuracy, brier = headline(df)
    if cfg.report:
        print(f"report: {write_report(df, episodes, cfg)}")
    print(f"results: {out}")
    print(f"accuracy={accuracy:.3f} brier={brier:.3f}")


main = guarded(_validate, "aidsim-validate")
