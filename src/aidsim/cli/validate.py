"""`aidsim-validate`: score the model against recorded episodes (cv=none in sample, cv=loeo held out)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import hydra
from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from aidsim.cli.guard import guarded, note_output
from aidsim.cli.run import output_dir
from aidsim.model.config import conf_dir
from aidsim.model.errors import ConfigError
from aidsim.runs import store
from aidsim.runs.workers import default_workers

if TYPE_CHECKING:  # the analysis (numpy, pandas) loads when the command runs: a bad key is answered without it
    from aidsim.analysis import calibration


def path_key(cfg: DictConfig, key: str) -> Path | None:
    """The path a top-level key names, None if unset; a number or a flag is one line, not a TypeError."""
    value = cfg.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key}={value!r}: allowed: a path (quote it if it looks like a number or a flag)")
    return Path(value)


def episodes_folder(cfg: DictConfig) -> Path:
    """The episode library: `episodes_dir`, or the shipped conf/episode."""
    return path_key(cfg, "episodes_dir") or conf_dir() / "episode"


def unknown_setting(config: str) -> Callable[[str], str]:
    """The line for an unknown key of aidsim-validate or aidsim-calibrate (`config`: the primary
    config's name): the config's top-level keys, or the fit settings' under `calibration`."""
    from aidsim.model.errors import unknown_key, unknown_line

    def line(dotted: str) -> str:
        if dotted.startswith("calibration."):
            from aidsim.analysis import calibration

            return "calibration." + unknown_key(calibration.FitSettings, dotted.removeprefix("calibration."))
        return unknown_line(dotted, _top_keys(config))

    return line


def _top_keys(config: str) -> list[str]:
    """The top-level keys of aidsim-validate's or aidsim-calibrate's config: its own and `calibration`."""
    return sorted({str(k) for k in OmegaConf.load(conf_dir() / f"{config}.yaml")} - {"defaults", "hydra"} | {"calibration"})


def check_top_keys(cfg: DictConfig, config: str) -> None:
    """Refuse a top-level key the config lacks: `+foo=1` adds one, which would be silently ignored."""
    extra = sorted(set(map(str, cfg)) - {*_top_keys(config), "hydra"})
    if extra:
        raise ConfigError(unknown_setting(config)(extra[0]))


def fit_settings(cfg: DictConfig) -> calibration.FitSettings:
    """The `calibration` section, validated (one-line errors)."""
    from pydantic import ValidationError

    from aidsim.analysis import calibration
    from aidsim.model.errors import bool_for_number, describe

    data = OmegaConf.to_container(cfg.calibration, resolve=True)
    wrong = bool_for_number(calibration.FitSettings, data, "calibration.")  # pydantic would read refine=true as 1
    if wrong:
        raise ConfigError(wrong)
    try:
        return calibration.FitSettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, calibration.FitSettings, prefix="calibration.")) from exc


class ValidateSettings(BaseModel):
    """aidsim-validate's own keys (conf/validate.yaml); the `calibration` section is `fit_settings`'."""

    model_config = ConfigDict(extra="forbid", strict=True)
    episodes_dir: str | None = None
    cv: Literal["none", "loeo"]
    replicates: int = Field(ge=1, le=100_000)
    seed: int = Field(ge=0, le=2**32 - 1)
    report: StrictBool
    report_path: str = Field(min_length=1)
    resample: int = Field(ge=100, le=100_000)

    @classmethod
    def from_config(cls, cfg: DictConfig) -> ValidateSettings:
        """The keys of `cfg` but `calibration` and `hydra`, validated (one-line errors)."""
        from pydantic import ValidationError

        from aidsim.model.errors import describe

        data = {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k not in ("calibration", "hydra")}  # type: ignore[union-attr]
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(describe(exc, cls)) from exc


def _interval(lo_hi: tuple[float, float]) -> str:
    return f"{lo_hi[0]:.3f} to {lo_hi[1]:.3f}"


@hydra.main(config_path=str(conf_dir()), config_name="validate", version_base="1.3")
def _validate(cfg: DictConfig) -> None:
    note_output()
    from aidsim.analysis import calibration, validation
    from aidsim.analysis.episodes import load_episodes

    check_top_keys(cfg, "validate")
    s = ValidateSettings.from_config(cfg)
    settings = fit_settings(cfg)  # checked whatever `cv`, so a bad calibration key is never silently ignored
    folder = episodes_folder(cfg)
    episodes = load_episodes(folder)
    calibration.check_anchors(settings, episodes, library=cfg.episodes_dir is None)
    start = time.perf_counter()
    in_sample = None
    if s.cv == "loeo":  # refits start from the documented rules, as aidsim-calibrate does
        params = validation.base_params(episodes, s.seed, extra=calibration.UNFITTED)
        workers = settings.workers or default_workers()
        full, fitted = calibration.loeo(episodes, params, settings, workers)
        df = validation.score_loeo(episodes, params, fitted, s.replicates)
        in_sample = validation.headline_model(validation.score_loeo(episodes, params, [full] * len(episodes), s.replicates))
    else:
        params = validation.base_params(episodes, s.seed)
        df = validation.score(episodes, params, s.replicates)
    allies = {d for d, a in params[0].actors.items() if a.ally}
    df = df.join(validation.baselines(df, allies, held_out=s.cv == "loeo"))
    seconds = time.perf_counter() - start
    out = output_dir()
    store.write_text(out / "validation.csv", df.to_csv(index=False))
    store.write_json(out / "provenance.json", store.provenance(s.seed, episodes_dir=str(folder), replicates=s.replicates, cv=s.cv, seconds=round(seconds, 1)))
    h = validation.headline(df)
    cols = ["episode", "donor", "observed", "predicted_mode", "p_observed"]
    print(df[cols].assign(p_observed=df["p_observed"].map(lambda p: f"{p:.2f}")).to_string(index=False))
    intervals = validation.resampled(df, s.resample, s.seed) if df["episode"].nunique() > 1 else None  # one episode has no spread to show
    which = "held-out (leave one episode out)" if s.cv == "loeo" else "in-sample"
    if in_sample:
        print(f"in-sample (weights fitted to all {len(episodes)} episodes): model accuracy {in_sample['accuracy']:.3f}, Brier {in_sample['brier']:.3f}")
    print(
        f"{which}: model accuracy {h['accuracy']:.3f}, Brier {h['brier']:.3f}; "
        f"most-common-answer baseline {h['common_accuracy']:.3f} / {h['common_brier']:.3f}; "
        f"strict-ladder baseline {h['ladder_accuracy']:.3f} / {h['ladder_brier']:.3f} ({len(df)} rows, {seconds:.0f} s)"
    )
    if intervals:
        print(
            f"95% intervals over {s.resample} resamples of the episodes: accuracy {_interval(intervals['accuracy'])}, "
            f"Brier {_interval(intervals['brier'])}, margin over the better baseline {_interval(intervals['margin'])}"
        )
    if s.report:
        from aidsim.report import validation as report

        others = df[df["donor"] != "south_korea"]
        without_seoul = validation.headline(others) if len(others) else None
        for path in report.write(df, h, episodes, s, intervals, in_sample, without_seoul):
            print(f"report: {path}")
    print(f"results: {out}")
    print(f"accuracy={h['accuracy']:.3f} brier={h['brier']:.3f} baseline={h['baseline']:.3f} episodes={len(episodes)}")


main = guarded(_validate, "aidsim-validate", unknown=unknown_setting("validate"), output_root="results/validation")
