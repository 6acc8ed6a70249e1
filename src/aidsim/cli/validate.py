"""`aidsim-validate`: score the model against recorded episodes (cv=none in sample, cv=loeo held out)."""

from __future__ import annotations

import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from aidsim.analysis import calibration, validation
from aidsim.analysis.episodes import load_episodes
from aidsim.cli.guard import guarded
from aidsim.cli.run import output_dir
from aidsim.model.config import conf_dir
from aidsim.model.errors import ConfigError
from aidsim.runs import store
from aidsim.runs.workers import default_workers


def episodes_folder(cfg: DictConfig) -> Path:
    """The episode library: `episodes_dir`, or the shipped conf/episode."""
    return Path(cfg.episodes_dir) if cfg.episodes_dir else conf_dir() / "episode"


def fit_settings(cfg: DictConfig) -> calibration.FitSettings:
    """The `calibration` section, validated (one-line errors)."""
    from pydantic import ValidationError

    from aidsim.model.errors import describe

    try:
        return calibration.FitSettings.model_validate(OmegaConf.to_container(cfg.calibration, resolve=True))
    except ValidationError as exc:
        raise ConfigError(describe(exc, calibration.FitSettings, prefix="calibration.")) from exc


@hydra.main(config_path=str(conf_dir()), config_name="validate", version_base="1.3")
def _validate(cfg: DictConfig) -> None:
    if cfg.cv not in ("none", "loeo"):
        raise ConfigError(f"cv={cfg.cv!r}: allowed: none, loeo")
    folder = episodes_folder(cfg)
    episodes = load_episodes(folder)
    start = time.perf_counter()
    in_sample = None
    if cfg.cv == "loeo":  # refits start from the documented rules, as aidsim-calibrate does
        params = validation.base_params(episodes, int(cfg.seed), extra=calibration.UNFITTED)
        settings = fit_settings(cfg)
        workers = settings.workers or default_workers()
        full, fitted = calibration.loeo(episodes, params, settings, workers)
        df = validation.score_loeo(episodes, params, fitted, int(cfg.replicates))
        in_sample = validation.headline_model(validation.score_loeo(episodes, params, [full] * len(episodes), int(cfg.replicates)))
    else:
        params = validation.base_params(episodes, int(cfg.seed))
        df = validation.score(episodes, params, int(cfg.replicates))
    allies = {d for d, a in params[0].actors.items() if a.ally}
    df = df.join(validation.baselines(df, allies, held_out=cfg.cv == "loeo"))
    seconds = time.perf_counter() - start
    out = output_dir()
    store.write_text(out / "validation.csv", df.to_csv(index=False))
    store.write_json(
        out / "provenance.json", store.provenance(int(cfg.seed), episodes_dir=str(folder), replicates=int(cfg.replicates), cv=cfg.cv, seconds=round(seconds, 1))
    )
    h = validation.headline(df)
    cols = ["episode", "donor", "observed", "predicted_mode", "p_observed"]
    print(df[cols].assign(p_observed=df["p_observed"].map(lambda p: f"{p:.2f}")).to_string(index=False))
    which = "held-out (leave one episode out)" if cfg.cv == "loeo" else "in-sample"
    if in_sample:
        print(f"in-sample (weights fitted to all {len(episodes)} episodes): model accuracy {in_sample['accuracy']:.3f}, Brier {in_sample['brier']:.3f}")
    print(
        f"{which}: model accuracy {h['accuracy']:.3f}, Brier {h['brier']:.3f}; "
        f"most-common-answer baseline {h['common_accuracy']:.3f} / {h['common_brier']:.3f}; "
        f"strict-ladder baseline {h['ladder_accuracy']:.3f} / {h['ladder_brier']:.3f} ({len(df)} rows, {seconds:.0f} s)"
    )
    if cfg.report:
        from aidsim.report import validation as report

        others = df[df["donor"] != "south_korea"]
        without_seoul = validation.headline(others) if len(others) else None
        for path in report.write(df, h, episodes, cfg, in_sample, without_seoul):
            print(f"report: {path}")
    print(f"results: {out}")
    print(f"accuracy={h['accuracy']:.3f} brier={h['brier']:.3f} baseline={h['baseline']:.3f} episodes={len(episodes)}")


main = guarded(_validate, "aidsim-validate")
