"""Scoring the model against recorded episodes (conf/episode/*.yaml or any folder of them).

For each episode: run its scenario, take each donor's distribution of final responses, and compare
with what was recorded. Accuracy is the share of donors whose modal prediction matches; the Brier
score is the multi-class one (sum over the five responses of squared error), averaged over donors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from omegaconf import DictConfig
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aidsim.model.config import compose, to_params
from aidsim.model.errors import ConfigError, describe
from aidsim.model.model import AidModel
from aidsim.model.params import DONORS
from aidsim.runs import store, tables

ResponseLabel = Literal["accepted", "deferred", "ignored", "rejected", "not_offered"]


class Episode(BaseModel):
    """A recorded episode: the scenario that describes its context and what each donor met."""

    model_config = ConfigDict(extra="forbid")
    name: str
    title: str
    scenario: str
    overrides: list[str] = Field(default_factory=list)
    observed: dict[Literal[DONORS], ResponseLabel]  # type: ignore[valid-type]
    sources: list[str] = Field(min_length=1)
    notes: str = ""


def load_episodes(folder: Path) -> list[Episode]:
    """Read every *.yaml episode in `folder`; a malformed file is a one-line ConfigError."""
    folder = Path(folder)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ConfigError(f"episodes_dir={str(folder)!r}: no episode files (*.yaml) found there")
    out = []
    for f in files:
        try:
            data = yaml.safe_load(f.read_text(encoding="utf-8"))
            out.append(Episode.model_validate(data))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{f}: not valid YAML ({str(exc).splitlines()[0]})") from exc
        except ValidationError as exc:
            raise ConfigError(f"{f}: {describe(exc, Episode)}") from exc
    return out


def score_episode(ep: Episode, replicates: int, seed: int) -> pd.DataFrame:
    """Predicted response shares per donor for one episode, beside the observation."""
    params = to_params(compose([f"scenario={ep.scenario}", *ep.overrides, f"replicates={replicates}", f"seed={seed}"]))
    model = AidModel(params, record=False).run()
    resp = tables.responses(model)
    shares = tables.summary(resp)[list(tables.RESPONSES)]
    g = resp.groupby("donor", observed=False)
    asked = g["requested"].mean()
    accept_day = resp[resp["response"] == "accepted"].groupby("donor", observed=False)["response_day"].median().astype("Float64").astype(float)
    rows = []
    for donor, observed in ep.observed.items():
        p = shares.loc[donor]
        brier = sum((p[r] - (r == observed)) ** 2 for r in tables.RESPONSES)
        rows.append(
            {
                "episode": ep.name,
                "donor": donor,
                "observed": observed,
                "predicted_mode": p.idxmax(),
                "p_observed": float(p[observed]),
                "brier": float(brier),
                **{f"p_{r}": float(p[r]) for r in tables.RESPONSES},
                "p_requested": float(asked.loc[donor]),  # worlds in which the DPRK itself asked this donor
                "median_accept_day": float(accept_day.get(donor, float("nan"))),
            }
        )
    return pd.DataFrame(rows)


def validate(episodes: list[Episode], replicates: int, seed: int) -> pd.DataFrame:
    """Score every episode; one row per (episode, donor with a recorded response)."""
    return pd.concat([score_episode(ep, replicates, seed) for ep in episodes], ignore_index=True)


def headline(df: pd.DataFrame) -> tuple[float, float]:
    """(accuracy, mean multi-class Brier score) over all scored donors."""
    return float((df["predicted_mode"] == df["observed"]).mean()), float(df["brier"].mean())


def write_report(df: pd.DataFrame, episodes: list[Episode], cfg: DictConfig) -> Path:
    """docs/validation.md (path: `report_path`) and its calibration figure beside it; returns the report's path."""
    from aidsim.report import figures, markdown

    path = Path(cfg.report_path)
    figure = path.with_name(path.stem + "_calibration.png")
    commit = store.git_commit()
    caption = f"{len(episodes)} episodes, {int(cfg.replicates)} worlds each, seed {int(cfg.seed)}"
    figures.save(markdown.calibration_figure(df, caption), figure)
    store.write_text(path, markdown.validation_markdown(df, episodes, int(cfg.replicates), int(cfg.seed), commit, figure.name))
    return path
