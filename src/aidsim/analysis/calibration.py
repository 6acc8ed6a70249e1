"""Calibration by the episode library: fit the DPRK's decision weights to every recorded answer.

The likelihood of a parameter vector is the product, over recorded (episode, donor) rows, of the
model's share of worlds that end in the recorded answer (smoothed toward uniform, so one
impossible row costs a finite amount), each row weighted by its confidence. It is maximised with
optuna's TPE sampler in a few independent searches (seeded: the same seed gives the same fit).
Episodes share batches of worlds, their contexts stacked as per-world knobs (`batch_shares`); a
run's cost is nearly flat in the number of worlds, so the whole library costs about one episode.

`loeo` refits without each episode in turn and scores the held-out one: the honest score.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aidsim.analysis.episodes import ANSWERS, Episode
from aidsim.model.errors import ConfigError

if TYPE_CHECKING:
    from aidsim.model.params import Params

MIN_EPISODES = 3
UNFITTED = ("fitted=none",)
"""Overrides every fit starts from: the documented rules, never an earlier fit."""


class FitSettings(BaseModel):
    """The `calibration` config section (conf/calibration/default.yaml)."""

    model_config = ConfigDict(extra="forbid")
    worlds: int = Field(ge=16, le=100_000)
    trials: int = Field(ge=1, le=10_000)  # per search
    restarts: int = Field(1, ge=1, le=100)  # independent TPE searches, seeded seed, seed + 1, ...
    refine: int = Field(0, ge=0, le=10_000)  # CMA-ES trials from the searches' best (0: none)
    recheck: int = Field(0, ge=0, le=1_000)  # best trials re-estimated on more worlds before one is chosen
    recheck_worlds: int = Field(1_000, ge=16, le=100_000)
    seed: int = Field(ge=0, le=2**32 - 1)
    smoothing: float = Field(gt=0, lt=1)
    workers: int | None = Field(None, ge=1, le=256)
    anchors: dict[str, Annotated[float, Field(gt=0, le=1_000)]] = Field(default_factory=dict)  # episode -> weight multiplier of its rows
    parameters: dict[str, tuple[float, float]] = Field(min_length=1)

    @model_validator(mode="after")
    def _ranges(self) -> FitSettings:
        from aidsim.model.params import DONORS, Ladder, OfferRule

        for key, (lo, hi) in self.parameters.items():
            parts = key.split(".")
            dprk_key = len(parts) == 2 and parts[0] == "dprk" and parts[1] in Ladder.model_fields
            rung_key = len(parts) == 3 and parts[:2] == ["dprk", "rung_thresholds"] and parts[2] in ("0", "1", "2")
            offer_key = len(parts) == 4 and parts[0] == "actors" and parts[1] in DONORS and parts[2] == "offer" and parts[3] in OfferRule.model_fields
            if not (dprk_key or rung_key or offer_key):
                raise ValueError(
                    f"calibration.parameters.{key}: unknown; allowed: dprk.<decision weight>, dprk.rung_thresholds.<0-2> "
                    "or actors.<donor>.offer.<offer rule field>"
                )
            if not lo < hi:
                raise ValueError(f"calibration.parameters.{key}=[{lo}, {hi}]: allowed: [low, high] with low < high")
        return self


def check_anchors(settings: FitSettings, episodes: Sequence[Episode], library: bool) -> None:
    """Every anchored episode is among `episodes`: in the shipped library (`library`) a name that
    is not is an error (a misspelling would be silently unweighted); in a folder of one's own, the
    shipped anchors may name episodes it lacks, and each such anchor is said to be ignored."""
    import warnings

    names = sorted(e.name for e in episodes)
    for name in settings.anchors:
        if name in names:
            continue
        if library:
            raise ConfigError(f"calibration.anchors.{name}: unknown episode; available: {', '.join(names)}")
        warnings.warn(f"calibration.anchors.{name}: no such episode in this folder; the anchor is ignored", stacklevel=2)


PER_EPISODE = (
    "flood.severity",
    "tension.inter_korean",
    "tension.us_dprk",
    *(f"relations.{d}" for d in ("russia", "china", "south_korea", "united_states", "un_agencies", "red_cross", "ngos")),
    *(f"access.resident.{b}" for b in ("un_agencies", "red_cross", "ngos")),
    "access.border_closed",
    "access.self_reliance",
    "actors.south_korea.meets_counter_request",
    "actors.south_korea.haggles_counter_request",
    "actors.south_korea.offer.politics",
)
"""What an episode's context sets: the keys that become per-world arrays when episodes share a batch."""


def batch_shares(params: Sequence[Params], worlds: int, first: int = 0) -> list[dict[str, np.ndarray]]:
    """Per episode, per donor, the share of worlds ending in each answer (in `ANSWERS` order), over
    the replicate worlds `first` to `first + worlds - 1`.

    Episodes that differ only in their context share one batch of `worlds` worlds each, their
    context keys becoming per-world arrays (as in the sweep engine's stacking); the batch runs to
    the longest horizon and each episode's answers are read on its own horizon day. Each donor also
    gets `"<donor>:countered"`: the share of worlds ending in each answer after a counter-request.
    """
    from aidsim.model.ladder import RESPONSE_CODE as code
    from aidsim.model.model import AidModel
    from aidsim.runs.cells import stack, structure

    own = (*PER_EPISODE, "horizon_days", "scenario")  # what may differ inside one batch
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(params):
        groups.setdefault(structure(p, own), []).append(i)
    out: list[dict[str, np.ndarray]] = [{} for _ in params]
    for members in groups.values():
        horizons = [params[i].horizon_days for i in members]
        stacked = stack([params[i] for i in members], [worlds] * len(members), PER_EPISODE)
        stacked = stacked.model_copy(update={"horizon_days": max(horizons), "replicates": worlds * len(members)})
        model = AidModel(stacked, replicates=np.tile(np.arange(first, first + worlds), len(members)), record=False)
        for day in sorted(set(horizons)):
            model.run_for(day - model.day)
            for slot, i in enumerate(members):
                if params[i].horizon_days == day:
                    world = slice(slot * worlds, (slot + 1) * worlds)
                    for d in model.donors:
                        status = code[d.status[world]]
                        out[i][d.donor_id] = np.bincount(status, minlength=len(ANSWERS)) / worlds
                        out[i][f"{d.donor_id}:countered"] = np.bincount(status[d.countered[world]], minlength=len(ANSWERS)) / worlds
    return out


def config_values(params: Params, values: Mapping[str, float]) -> dict[str, Any]:
    """Fitted values as the config keys they set. A list element (`dprk.rung_thresholds.0`: the
    allies' rung) sets the whole list, its other elements as `params` has them; the fitted preset
    and every trial set the same keys this way."""
    out: dict[str, Any] = {}
    for key, v in values.items():
        head, _, last = key.rpartition(".")
        if last.isdigit():
            current = out.get(head)
            if current is None:
                current = list(_get(params, head))
            current[int(last)] = v
            out[head] = current
        else:
            out[key] = v
    return out


def _get(params: Params, dotted: str) -> Any:
    """The value at a dotted key of `params` (`dprk.image_weight`, `dprk.rung_thresholds.0`)."""
    node: Any = params
    for part in dotted.split("."):
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node[part]
        else:
            node = getattr(node, part)
    return node


def with_values(params: Params, values: Mapping[str, float]) -> Params:
    """`params` with fitted values set: `dprk.<field>` (or an element of `dprk.rung_thresholds`)
    and `actors.<donor>.offer.<field>` (validated)."""
    values = config_values(params, values)
    dprk = {k.partition(".")[2]: v for k, v in values.items() if k.startswith("dprk.")}
    update: dict[str, Any] = {"dprk": params.dprk.model_validate(params.dprk.model_dump() | dprk)} if dprk else {}
    offers: dict[str, dict[str, float]] = {}
    for key, v in values.items():
        if key.startswith("actors."):
            _, donor, _, field = key.split(".")
            offers.setdefault(donor, {})[field] = v
    if offers:
        actors = dict(params.actors)
        for donor, fields in offers.items():
            profile = actors[donor]
            actors[donor] = profile.model_copy(update={"offer": profile.offer.model_validate(profile.offer.model_dump() | fields)})
        update["actors"] = actors
    return params.model_copy(update=update)


def rows(episodes: Sequence[Episode], predicted: Sequence[Mapping[str, np.ndarray]], anchors: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """One scored row per recorded (episode, donor): the record beside the model's shares.

    `weight` is the row's confidence weight, times its episode's anchor multiplier if it has one."""
    out = []
    for ep, pred in zip(episodes, predicted, strict=True):
        for donor, answer in ep.answers.items():
            p = pred[donor]
            out.append(
                {
                    "episode": ep.name,
                    "donor": donor,
                    "observed": answer,
                    "predicted_mode": ANSWERS[int(np.argmax(p))],
                    "p_observed": float(p[ANSWERS.index(answer)]),
                    "p_joint": _p_joint(ep, donor, pred, answer),
                    "weight": ep.weight(donor) * (anchors or {}).get(ep.name, 1.0),
                    "brier": float(sum((p[i] - (a == answer)) ** 2 for i, a in enumerate(ANSWERS))),
                    **{f"p_{a}": float(p[i]) for i, a in enumerate(ANSWERS)},
                }
            )
    return out


def _p_joint(ep: Episode, donor: str, pred: Mapping[str, np.ndarray], answer: str) -> float:
    """The model's share of worlds ending in the recorded answer by the recorded path: after a
    counter-request if the record has one, without one if it has none (Seoul 2024: silence, no
    counter-request). The short form records answers only, so only the answer counts there."""
    i = ANSWERS.index(answer)
    if not ep.responses:
        return float(pred[donor][i])
    countered = float(pred[f"{donor}:countered"][i])
    return countered if ep.responses[donor].counter_request is not None else float(pred[donor][i]) - countered


def neg_log_likelihood(scored: Sequence[Mapping[str, Any]], smoothing: float) -> float:
    """Confidence-weighted negative log-likelihood of the recorded answers, each by its recorded
    path (`p_joint`: with or without a counter-request)."""
    k = len(ANSWERS)
    return -sum(r["weight"] * math.log((1 - smoothing) * max(r["p_joint"], 0.0) + smoothing / k) for r in scored)


@dataclass
class Fit:
    """A finished fit: the chosen values, their spread among near-best trials, the chosen values'
    negative log-likelihood (on the recheck's worlds when there is one) and each search's trace."""

    values: dict[str, float]
    spread: dict[str, tuple[float, float]]
    best_nll: float
    traces: list[list[float]]  # per search, best-so-far negative log-likelihood after each trial (on the search's worlds)
    refine_trace: list[float]  # the same for the CMA-ES refinement (empty without one)


def fit(episodes: Sequence[Episode], base: Sequence[Params], settings: FitSettings, start: Mapping[str, float] | None = None) -> Fit:
    """Fit the settings' parameters to `episodes` (each with its base Params): `restarts` seeded
    TPE searches, a CMA-ES refinement from their best (`refine` trials), and the leaders of all
    rechecked on fresh worlds together.

    One search can settle in a poor basin and stay there (docs/model.md, "Calibration"); several
    shorter ones at the same cost rarely all do. TPE finds the basin but closes in on its floor
    slowly in a dozen dimensions; CMA-ES, which adapts its steps to the basin's shape, does that
    part. Every trial is scored on the same worlds, so all leaders compare directly. The spread
    is read from the searches' trials only: the refinement's cluster around one point would make
    every value look pinned down."""
    if len(episodes) < MIN_EPISODES:
        raise ConfigError(f"episodes: {len(episodes)} given; calibration needs at least {MIN_EPISODES}")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def nll(values: dict[str, float]) -> float:
        predicted = batch_shares([with_values(p, values) for p in base], settings.worlds)
        return neg_log_likelihood(rows(episodes, predicted, settings.anchors), settings.smoothing)

    def objective(trial: Any) -> float:
        return nll({k: trial.suggest_float(k, lo, hi) for k, (lo, hi) in settings.parameters.items()})

    done, traces = [], []
    for search in range(settings.restarts):
        sampler = optuna.samplers.TPESampler(seed=settings.seed + search, multivariate=True, n_startup_trials=min(40, settings.trials))
        study = optuna.create_study(direction="minimize", sampler=sampler)
        if start:  # the documented values as every search's first trial: each starts where the docs stand
            study.enqueue_trial({k: float(np.clip(v, *settings.parameters[k])) for k, v in start.items() if k in settings.parameters})
        study.optimize(objective, n_trials=settings.trials)
        done += [t for t in study.trials if t.value is not None]
        traces.append([float(x) for x in np.minimum.accumulate([t.value if t.value is not None else np.inf for t in study.trials])])
    done.sort(key=lambda t: cast(float, t.value))
    near = done[: max(3, len(done) // 10, settings.recheck)]  # the rechecked trials, the fit among them, included
    spread = {k: (min(t.params[k] for t in near), max(t.params[k] for t in near)) for k in settings.parameters}
    leaders = [(cast(float, t.value), dict(t.params)) for t in done]
    refined = refine(nll, leaders[0][1], settings)
    leaders = sorted(leaders + refined, key=lambda r: r[0])
    best_nll, best = leaders[0]
    if settings.recheck:
        best, best_nll = recheck(episodes, base, settings, [values for _, values in leaders[: settings.recheck]])
    spread = {k: (min(lo, best[k]), max(hi, best[k])) for k, (lo, hi) in spread.items()}  # the fit may lie outside the searches' range
    refine_trace = [float(x) for x in np.minimum.accumulate([v for v, _ in refined])] if refined else []
    return Fit(values=best, spread=spread, best_nll=best_nll, traces=traces, refine_trace=refine_trace)


def refine(nll: Callable[[dict[str, float]], float], start: Mapping[str, float], settings: FitSettings) -> list[tuple[float, dict[str, float]]]:
    """CMA-ES (the `cmaes` library) from `start` for about `settings.refine` trials, in coordinates
    scaled to [0, 1] per parameter (a step of 0.1 is a tenth of each range), seeded by `seed`:
    every trial's (nll, values), in order. Whole generations only, so the count is rounded up."""
    if not settings.refine:
        return []
    from cmaes import CMA

    keys = list(settings.parameters)
    lo = np.array([settings.parameters[k][0] for k in keys])
    span = np.array([settings.parameters[k][1] for k in keys]) - lo
    mean = np.clip((np.array([start[k] for k in keys]) - lo) / span, 0.0, 1.0)
    cma = CMA(mean=mean, sigma=0.1, bounds=np.tile([0.0, 1.0], (len(keys), 1)), seed=settings.seed)
    out: list[tuple[float, dict[str, float]]] = []
    while len(out) < settings.refine:
        told = []
        for _ in range(cma.population_size):
            x = cma.ask()
            values = {k: float(v) for k, v in zip(keys, lo + x * span, strict=True)}
            out.append((nll(values), values))
            told.append((x, out[-1][0]))
        cma.tell(told)
    return out


def recheck(
    episodes: Sequence[Episode], base: Sequence[Params], settings: FitSettings, candidates: Sequence[dict[str, float]]
) -> tuple[dict[str, float], float]:
    """The candidate with the lowest negative log-likelihood re-estimated on `recheck_worlds` other
    worlds (the replicates after the search's), and that value. Every trial of the search is scored
    on the same few worlds, so the best of hundreds is partly the one those worlds happened to favour
    (the winner's curse of noisy optimisation); re-estimating the leaders on many fresh worlds
    before choosing removes most of that luck."""
    scored = []
    for values in candidates:
        predicted = batch_shares([with_values(p, values) for p in base], settings.recheck_worlds, first=settings.worlds)
        scored.append((neg_log_likelihood(rows(episodes, predicted, settings.anchors), settings.smoothing), values))
    nll, values = min(scored, key=lambda s: s[0])
    return values, nll


def documented_values(params: Params, settings: FitSettings) -> dict[str, float]:
    """The current values of the fitted parameters (the search's first trial)."""
    return {k: float(_get(params, k)) for k in settings.parameters}


ALL = -1
"""The fold that holds nothing out: the in-sample fit."""


def _fold(task: tuple[int, Sequence[Episode], Sequence[Params], FitSettings]) -> tuple[int, dict[str, float]]:
    held, episodes, base, settings = task
    train = [e for i, e in enumerate(episodes) if i != held]
    train_base = [p for i, p in enumerate(base) if i != held]
    result = fit(train, train_base, settings, start=documented_values(base[max(held, 0)], settings))
    return held, result.values


def loeo(episodes: Sequence[Episode], base: Sequence[Params], settings: FitSettings, workers: int) -> tuple[dict[str, float], list[dict[str, float]]]:
    """Leave-one-episode-out, in one pool: the values fitted to every episode (the in-sample fit,
    for comparison) and, in episode order, the values fitted without each one."""
    from aidsim.runs.workers import execute

    tasks = [(i, episodes, base, settings) for i in (ALL, *range(len(episodes)))]
    out: dict[int, dict[str, float]] = dict(execute(tasks, _fold, workers))
    return out[ALL], [out[i] for i in range(len(episodes))]
