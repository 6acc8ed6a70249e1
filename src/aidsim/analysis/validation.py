"""Scoring the model against recorded episodes, in sample or leave-one-episode-out, beside baselines.

For each episode the model runs the context the episode records (analysis.episodes) and yields,
per donor, the share of worlds ending in each answer. Accuracy is the share of recorded rows whose
modal prediction is the recorded answer; the Brier score is the multi-class one (sum over the five
answers of the squared error), averaged over rows. Two trivial baselines are scored on the same
rows: "the most common answer" (of the rows it may learn from: all rows in sample, the other
episodes' rows when one is held out) and "a strict ladder" (allies' help taken, everyone else
ignored).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from aidsim.analysis.calibration import batch_shares, rows, with_values
from aidsim.analysis.episodes import ANSWERS, Episode

if TYPE_CHECKING:
    from aidsim.model.params import Params


def base_params(episodes: Sequence[Episode], seed: int, extra: Sequence[str] = ()) -> list[Params]:
    """Each episode's run: the default config with the episode's context (and `extra` overrides)."""
    from aidsim.model.config import load

    return [load([*ep.overrides_for_run(), f"seed={seed}", *extra]) for ep in episodes]


def score(episodes: Sequence[Episode], params: Sequence[Params], worlds: int) -> pd.DataFrame:
    """One row per recorded (episode, donor): the record beside the model's shares."""
    return pd.DataFrame(rows(episodes, batch_shares(params, worlds)))


def score_loeo(episodes: Sequence[Episode], params: Sequence[Params], fitted: Sequence[dict[str, float]], worlds: int) -> pd.DataFrame:
    """Each episode scored with the values fitted without it."""
    return pd.DataFrame(rows(episodes, batch_shares([with_values(p, v) for p, v in zip(params, fitted, strict=True)], worlds)))


def _brier(p: np.ndarray, observed: str) -> float:
    return float(sum((p[i] - (a == observed)) ** 2 for i, a in enumerate(ANSWERS)))


def baselines(df: pd.DataFrame, allies: set[str], held_out: bool) -> pd.DataFrame:
    """Per row, the two baselines' predictions and Brier scores, learning only from rows they may see."""
    out = []
    for r in df.itertuples():
        train = df[df["episode"] != r.episode] if held_out else df
        freq = Counter(train["observed"])
        p_common = np.array([freq[a] for a in ANSWERS], dtype=float) / len(train)
        ladder = "accepted" if r.donor in allies else "ignored"
        p_ladder = np.array([a == ladder for a in ANSWERS], dtype=float)
        out.append(
            {
                "common_mode": ANSWERS[int(np.argmax(p_common))],
                "common_brier": _brier(p_common, r.observed),
                "ladder_mode": ladder,
                "ladder_brier": _brier(p_ladder, r.observed),
            }
        )
    return pd.DataFrame(out, index=df.index)


def headline_model(df: pd.DataFrame) -> dict[str, float]:
    """The model's accuracy (modal answer = recorded) and mean Brier over the rows of `df`."""
    return {"accuracy": float((df["predicted_mode"] == df["observed"]).mean()), "brier": float(df["brier"].mean())}


def headline(df: pd.DataFrame) -> dict[str, float]:
    """Accuracy and Brier of the model and of both baselines over the same rows, and the better baseline."""
    obs = df["observed"]
    out = {
        **headline_model(df),
        "common_accuracy": float((df["common_mode"] == obs).mean()),
        "common_brier": float(df["common_brier"].mean()),
        "ladder_accuracy": float((df["ladder_mode"] == obs).mean()),
        "ladder_brier": float(df["ladder_brier"].mean()),
    }
    out["baseline"] = max(out["common_accuracy"], out["ladder_accuracy"])
    return out


def resampled(df: pd.DataFrame, draws: int, seed: int, level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Intervals (central `level`) of the model's accuracy and Brier and of its accuracy margin over
    the better baseline, over `draws` resamples of the episodes with replacement. An episode's rows
    stay together: they share one context and, held out, one fit, so they are not independent
    evidence, and resampling rows singly would give too narrow an interval."""
    obs = df["observed"]
    per = (
        pd.DataFrame(
            {
                "episode": df["episode"],
                "rows": 1,
                "hits": df["predicted_mode"] == obs,
                "brier": df["brier"],
                "common": df["common_mode"] == obs,
                "ladder": df["ladder_mode"] == obs,
            }
        )
        .groupby("episode", sort=False)
        .sum()
    )
    sums = per.to_numpy(dtype=float)  # episodes x (rows, hits, brier, common, ladder)
    e = len(sums)
    counts = np.random.default_rng(seed).multinomial(e, np.full(e, 1 / e), size=draws)  # times each episode is drawn
    total = counts @ sums  # draws x columns
    n = total[:, 0]
    accuracy, brier = total[:, 1] / n, total[:, 2] / n
    margin = accuracy - np.maximum(total[:, 3], total[:, 4]) / n
    tails = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    return {k: (float(lo), float(hi)) for k, v in (("accuracy", accuracy), ("brier", brier), ("margin", margin)) for lo, hi in [np.percentile(v, tails)]}
