"""`aidsim-analyze`: which knobs drive acceptance, where the outcome flips, and what single change helps.

Three commands over one study (conf/analysis/study/<name>.yaml: base overrides, parameter ranges,
what-if changes):

- `sensitivity`: Sobol (Saltelli sampling) and Morris indices for the five study outputs;
- `discover`: a PRIM box for a target such as "south_korea accepted";
- `whatif`: single changes to the study's base scenario, ranked by P(any accepted).

Every sample point runs `replicates` worlds through the sweep engine (`aidsim.runs.batch.evaluate`) with
the same seed, so points differ by their parameters, not by luck (common random numbers), and the
outputs are averages over those worlds. Results land in the study's folder with a manifest from
which `aidsim-analyze manifest=<path>` reruns the same analysis.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from aidsim.model.config import compose, conf_dir, load_yaml
from aidsim.model.errors import ConfigError, describe
from aidsim.model.params import DONORS
from aidsim.runs import designs, store
from aidsim.runs.tables import RESPONSES

OUTPUTS: dict[str, tuple[str, str]] = {
    "p_any_accepted": ("P(any aid accepted)", "probability"),
    "p_seoul_accepted": ("P(Seoul's aid accepted)", "probability"),
    "p_ally_accepted": ("P(an ally's aid accepted: Russia or China by default)", "probability"),
    "median_first_accept_day": ("median days to first acceptance (none = horizon + 1)", "days"),
    "domestic_share": ("mean domestic share of relief", "share of relief"),
}
"""Study outputs, per sample point: name -> (title, unit)."""


# --- studies ---------------------------------------------------------------------------------


class ParamRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    low: float
    high: float
    scale: Literal["linear", "log"] = "linear"
    unit: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> ParamRange:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"a log-scaled range needs low > 0, got {self.low}")
        return self


class Change(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    set: dict[str, Any] = Field(min_length=1)


class WhatIf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    replicates: int = Field(default=1000, ge=1)
    changes: list[Change] = Field(min_length=1)
    curves: dict[str, list[float]] = Field(default_factory=dict)


class Study(BaseModel):
    """A named analysis study: where every point starts, which knobs vary, what-ifs to try."""

    model_config = ConfigDict(extra="forbid")
    name: str
    title: str = ""
    base: list[str] = Field(default_factory=list)
    replicates: int = Field(default=200, ge=1)
    parameters: dict[str, ParamRange] = Field(min_length=1)
    whatif: WhatIf | None = None

    @field_validator("parameters")
    @classmethod
    def _dotted(cls, v: dict[str, ParamRange]) -> dict[str, ParamRange]:
        bad = [k for k in v if k in ("replicates", "seed")]
        if bad:
            raise ValueError(f"{bad[0]} is not a model parameter to vary")
        return v

    def ranges(self) -> dict[str, Any]:
        from aidsim.analysis.sensitivity import Range

        return {k: Range(r.low, r.high, r.scale, r.unit) for k, r in self.parameters.items()}


def study_dir() -> Path:
    return conf_dir() / "analysis" / "study"


def study_from_sweep(name: str) -> Study | None:
    """A study over the knobs of results/sweeps/<name>/ (their swept ranges), or None if there is no such sweep."""
    folder = sweep_folder(name)
    if not folder.is_dir():
        return None
    from aidsim.runs.store import cells

    knobs = cells(folder).drop(columns="cell").select_dtypes("number")
    ranges = {k: ParamRange(low=float(v.min()), high=float(v.max())) for k, v in knobs.items() if v.nunique() > 1}
    return Study(name=name, title=f"sweep {folder}", parameters=ranges) if ranges else None


def load_study(name: str, sweep_ok: bool = False) -> Study:
    """The study `name` from conf/analysis/study/ (or, if `sweep_ok`, from a sweep of that name);
    unknown names and bad fields are one-line errors."""
    path = study_dir() / f"{name}.yaml"
    swept = study_from_sweep(name) if sweep_ok and not path.is_file() else None
    if swept is not None:
        return swept
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in study_dir().glob("*.yaml")))
        raise ConfigError(f"study={name!r}: unknown study; available: {available}")
    return load_yaml(path, Study)


# --- outputs per sample point ---------------------------------------------------------------------


def allies(cfg: DictConfig) -> tuple[str, ...]:
    """The donors a model config marks as allies (`actors.<donor>.ally`): Russia and China by default."""
    return tuple(d for d in DONORS if cfg.actors[d].get("ally", False))


def parse_target(text: str, ally_ids: Sequence[str]) -> tuple[tuple[str, ...], str]:
    """'south_korea accepted' -> (('south_korea',), 'accepted'); 'any' = every donor, 'ally' = `ally_ids`."""
    parts = str(text).split()
    groups = {"any": DONORS, "ally": tuple(ally_ids)}
    if len(parts) != 2 or (parts[0] not in DONORS and parts[0] not in groups) or parts[1] not in RESPONSES:
        raise ConfigError(
            f"target={text!r}: allowed: '<who> <response>' with who in {', '.join(('any', 'ally', *DONORS))} and response in {', '.join(RESPONSES)}"
        )
    return groups.get(parts[0], (parts[0],)), parts[1]


def target_share(resp: pd.DataFrame, donors: Sequence[str], response: str) -> pd.Series:
    """Per cell: share of worlds in which any of `donors` met `response`."""
    hit = resp["donor"].isin(list(donors)).to_numpy() & (resp["response"] == response).to_numpy()
    per_world = pd.Series(hit).groupby([resp["cell"].to_numpy(), resp["replicate"].to_numpy()]).any()
    return per_world.groupby(level=0).mean()


def cell_outcomes(runs: pd.DataFrame, resp: pd.DataFrame, horizon: int, ally_ids: Sequence[str]) -> pd.DataFrame:
    """The study outputs per cell (index: cell), averaged over that cell's worlds."""
    first = runs["first_accept_day"].astype("Float64").fillna(horizon + 1).astype(float)
    g = runs.assign(first=first.to_numpy()).groupby("cell")
    return pd.DataFrame(
        {
            "p_any_accepted": g["any_accepted"].mean(),
            "p_seoul_accepted": target_share(resp, ("south_korea",), "accepted"),
            "p_ally_accepted": target_share(resp, ally_ids, "accepted"),
            "median_first_accept_day": g["first"].median(),
            "domestic_share": g["domestic_share"].mean(),
        }
    )


def _plain(v: Any) -> Any:
    """Numpy scalars become Python ones (OmegaConf stores only primitives)."""
    return v.item() if isinstance(v, np.generic) else v


class Evaluator:
    """Runs sample points through the sweep engine in chunks and reduces each chunk to per-point values."""

    def __init__(self, base: DictConfig, chunk: int, progress: bool, label: str):
        self.base, self.chunk, self.progress, self.label = base, max(1, int(chunk)), progress, label
        self.horizon, self.allies = int(base.horizon_days), allies(base)

    def _run(self, points: pd.DataFrame, reduce: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
        from aidsim.runs import resources
        from aidsim.runs.batch import evaluate, progress_bar

        cells = [{k: _plain(v) for k, v in row.items()} for row in points.to_dict("records")]
        worlds = int(self.base.replicates)
        resources.check_batch(min(self.chunk, len(cells)) * worlds, f"replicates={worlds:,} x chunk={self.chunk} points", "use fewer replicates or chunk")
        bar = progress_bar(len(cells) * worlds, self.label, self.progress)
        parts = []
        try:
            for lo in range(0, len(cells), self.chunk):
                runs, resp = evaluate(self.base, cells[lo : lo + self.chunk])
                part = reduce(runs, resp)
                part.index = part.index + lo  # evaluate numbers cells from 0 in each call
                parts.append(part)
                if bar is not None:
                    bar.update(len(cells[lo : lo + self.chunk]) * worlds)
        finally:
            if bar is not None:
                bar.close()
        return pd.concat(parts).sort_index().reset_index(drop=True)

    def outcomes(self, points: pd.DataFrame) -> pd.DataFrame:
        """The five study outputs per point (row order kept)."""
        return self._run(points, lambda runs, resp: cell_outcomes(runs, resp, self.horizon, self.allies))

    def share(self, points: pd.DataFrame, donors: Sequence[str], response: str) -> pd.Series:
        """P(any of `donors` met `response`) per point."""
        return self._run(points, lambda runs, resp: target_share(resp, donors, response).to_frame("p"))["p"]


def base_config(study: Study, replicates: int, seed: int) -> DictConfig:
    """The study's base model config with the analysis' replicates and seed; every key the study varies must exist in it."""
    base = compose([*study.base, f"replicates={replicates}", f"seed={seed}"])
    keys = [*study.parameters, *(k for c in (study.whatif.changes if study.whatif else []) for k in c.set)]
    missing = [k for k in keys if OmegaConf.select(base, k) is None]
    if missing:
        raise ConfigError(f"study {study.name}: {missing[0]} is not a model parameter (see docs/model.md for the knobs)")
    return base


def latin_hypercube(ranges: dict[str, Any], n: int, seed: int) -> pd.DataFrame:
    """`n` Latin hypercube points over the ranges (log-scaled ranges spread evenly in log space)."""
    bounds = {name: [r.low, r.high] for name, r in ranges.items()}
    log = [name for name, r in ranges.items() if r.scale == "log"]
    return pd.DataFrame(designs.sample("lhs", n, bounds, seed, log=log).cells(), columns=list(ranges))


# --- the command's own settings (conf/analysis/analyze.yaml) ---------------------------------------


class SensitivitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    methods: list[Literal["sobol", "morris"]] = Field(min_length=1)
    sobol_n: int = Field(ge=2, le=2**20)
    morris_trajectories: int = Field(ge=2, le=10_000)
    morris_levels: int = Field(ge=2, le=100)
    resamples: int = Field(ge=10, le=100_000)
    report: str | None = None


class DiscoverSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: float = Field(gt=0, le=1)
    samples: int = Field(ge=10, le=10_000_000)
    min_coverage: float = Field(ge=0, le=1)
    peel_alpha: float = Field(gt=0, lt=0.5)
    mass_min: float = Field(gt=0, lt=1)
    reuse_sweep: bool
    report: str | None = None


class WhatIfSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    report: str | None


class Settings(BaseModel):
    """aidsim-analyze's own keys: types and ranges, checked before anything runs."""

    model_config = ConfigDict(extra="forbid")
    command: Literal["sensitivity", "discover", "whatif"]
    study: str
    replicates: int | None = Field(ge=1)
    seed: int = Field(ge=0)
    out: str | None
    target: str
    manifest: str | None
    chunk: int = Field(ge=1)
    progress: bool
    sensitivity: SensitivitySettings
    discover: DiscoverSettings
    whatif: WhatIfSettings


def check_settings(cfg: DictConfig) -> None:
    """Validate the analysis settings; a problem is one ConfigError line (key, value, what is allowed)."""
    data = _settings(cfg)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, Settings)) from exc
    n = settings.sensitivity.sobol_n
    if n & (n - 1):  # Saltelli's sequence keeps its balance properties only at powers of 2
        raise ConfigError(f"sensitivity.sobol_n={n}: allowed: a power of 2 (e.g. 64, 128, 256)")
    if cfg.command == "discover":
        parse_target(cfg.target, allies(compose([])))


# --- results folder and manifest ------------------------------------------------------------------


def sweep_folder(study: str) -> Path:
    return Path("results") / "sweeps" / study


def results_folder(cfg: DictConfig) -> Path:
    """Where a command writes: `out`, else the study's sweep folder's analysis/, else results/analysis/<study>."""
    if cfg.out:
        root = Path(cfg.out)
    elif sweep_folder(cfg.study).is_dir():
        root = sweep_folder(cfg.study) / "analysis"
    else:
        root = Path("results") / "analysis" / cfg.study
    return root / cfg.command


def write_manifest(out: Path, cfg: DictConfig, study: Study, seconds: float, files: list[str], **extra: Any) -> None:
    """What produced this folder, with enough to rerun it (`aidsim-analyze manifest=<this file>`)."""
    settings = _settings(cfg)
    settings.pop("manifest", None)
    store.write_json(
        out / "manifest.json",
        {
            "analysis": settings,
            "study": study.model_dump(mode="json"),
            "files": sorted(files),
            "seconds": round(seconds, 2),
            "provenance": store.provenance(int(cfg.seed)),
            **extra,
        },
    )


class Manifest(BaseModel):
    """The parts of an aidsim-analyze manifest.json that rerun it (the rest is provenance)."""

    model_config = ConfigDict(extra="allow")
    analysis: dict[str, Any]
    study: Study


def from_manifest(path: str, out: str | None) -> tuple[DictConfig, Study]:
    """The settings and study recorded in a manifest (a new `out` may be given)."""
    manifest = load_yaml(Path(path), Manifest)  # JSON is YAML: the one loader reads it
    cfg = OmegaConf.create(manifest.analysis)
    study = manifest.study
    cfg.manifest = None
    if out:
        cfg.out = out
    return cfg, study


def _settings(cfg: DictConfig) -> dict[str, Any]:
    """The analysis settings as plain data, without Hydra's own section."""
    data = OmegaConf.to_container(cfg, resolve=True)
    if not isinstance(data, dict):
        raise ConfigError(f"analysis settings: expected a mapping, found {type(data).__name__}")
    data.pop("hydra", None)
    return {str(k): v for k, v in data.items()}


def _copy(src: Path, dst: Path) -> None:
    dst.write_bytes(src.read_bytes())


def publish(out: Path, report: str, render: Callable[[dict[str, str]], str], figures: Sequence[str]) -> None:
    """Copy a command's report and figures out of its results folder (e.g. into docs/).

    The figures go beside the report, named `<report stem>_<figure>` so that several reports can
    share a folder; `render(names)` writes the report with those names for its image links.
    """
    dest = Path(report)
    names = {f: f"{dest.stem}_{f}" for f in figures}
    for f, name in names.items():
        store.atomic_write(dest.parent / name, functools.partial(_copy, out / f))
    store.write_text(dest, render(names))


def _write_csv(out: Path, name: str, df: pd.DataFrame, files: list[str]) -> None:
    store.write_text(out / name, df.to_csv(index=False, float_format="%.6g"))
    files.append(name)


def _save(fig: Any, out: Path, name: str, files: list[str]) -> None:
    from aidsim.report.style import save

    save(fig, out / name)
    files.append(name)


# --- commands ---------------------------------------------------------------------------------


def sensitivity(cfg: DictConfig, study: Study, out: Path) -> list[str]:
    """Sobol and/or Morris indices of the five outputs over the study's ranges, and `summary.md`
    (written from those tables); returns files written."""
    from aidsim.analysis import sensitivity as sa
    from aidsim.report.markdown import sensitivity_markdown

    start = time.perf_counter()
    s = cfg.sensitivity
    methods = list(s.methods)
    reps = int(cfg.replicates or study.replicates)
    ranges, seed = study.ranges(), int(cfg.seed)
    files: list[str] = []
    base = base_config(study, reps, seed)
    titles = {k: v[0] for k, v in OUTPUTS.items()}
    units = {k: v[1] for k, v in OUTPUTS.items()}
    results: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    if "sobol" in methods:
        ev = Evaluator(base, cfg.chunk, cfg.progress, "sobol")
        idx, design = sa.sobol(ranges, ev.outcomes, int(s.sobol_n), seed, int(s.resamples))
        results["sobol"] = idx, design
        _write_csv(out, "sobol.csv", idx, files)
        _write_csv(out, "design_sobol.csv", design, files)
        cap = f"{study.name}: Sobol S1/ST, N={s.sobol_n} ({len(design)} points x {reps} worlds), 95% bootstrap intervals"
        _save(sa.sobol_figure(idx, ranges, titles, cap, len(design)), out, "sobol.png", files)
    if "morris" in methods:
        ev = Evaluator(base, cfg.chunk, cfg.progress, "morris")
        idx, design = sa.morris(ranges, ev.outcomes, int(s.morris_trajectories), int(s.morris_levels), seed, int(s.resamples))
        results["morris"] = idx, design
        _write_csv(out, "morris.csv", idx, files)
        _write_csv(out, "design_morris.csv", design, files)
        cap = f"{study.name}: Morris, {s.morris_trajectories} trajectories x {len(ranges) + 1} points x {reps} worlds"
        _save(sa.morris_figure(idx, ranges, titles, units, cap, len(design)), out, "morris.png", files)
    # The outputs at the study's base point (every varied knob at its base value), for comparison with the design.
    at_base = Evaluator(base, 1, False, "base").outcomes(pd.DataFrame([{k: _plain(OmegaConf.select(base, k)) for k in study.parameters}])).iloc[0]
    seconds = time.perf_counter() - start
    settings = {"sobol_n": int(s.sobol_n), "trajectories": int(s.morris_trajectories), "levels": int(s.morris_levels)}

    def render(names: dict[str, str]) -> str:
        return sensitivity_markdown(study, results, at_base, reps, seed, settings, seconds, names, OUTPUTS, sa.RARE)

    store.write_text(out / "summary.md", render({f: f for f in files if f.endswith(".png")}))
    files.append("summary.md")
    if s.get("report"):
        publish(out, str(s.report), render, [f for f in files if f.endswith(".png")])
    return files


def _sweep_points(cfg: DictConfig, donors: Sequence[str], response: str) -> pd.DataFrame | None:
    """Points and P(target) from an existing sweep of this study, or None when there is none to reuse."""
    folder = sweep_folder(cfg.study)
    if not (cfg.discover.reuse_sweep and folder.is_dir()):
        return None
    from aidsim import load

    df = load(folder)
    need = {"cell", "replicate", "donor", "response"}
    if not need <= set(df.columns):
        raise ConfigError(f"{folder}: sweep results lack columns {sorted(need - set(df.columns))}; set discover.reuse_sweep=false")
    cols = list(df.columns)
    knobs = cols[cols.index("cell") + 1 : cols.index("replicate")]
    points = df.groupby("cell")[knobs].first()
    points["p"] = target_share(df, donors, response)
    return points.reset_index(drop=True)


def discover(cfg: DictConfig, study: Study, out: Path) -> list[str]:
    """A PRIM box for P(target) >= threshold over the study's ranges (or its sweep); returns files written."""
    from aidsim.analysis import discovery

    d = cfg.discover
    donors, response = parse_target(cfg.target, allies(compose(study.base)))
    reps, seed = int(cfg.replicates or study.replicates), int(cfg.seed)
    files: list[str] = []
    points = _sweep_points(cfg, donors, response)
    source = f"sweep {sweep_folder(cfg.study)}"
    if points is None:
        x = latin_hypercube(study.ranges(), int(d.samples), seed)
        ev = Evaluator(base_config(study, reps, seed), cfg.chunk, cfg.progress, "discover")
        points = x.assign(p=ev.share(x, donors, response).to_numpy())
        source = f"{len(x)} Latin hypercube points x {reps} worlds"
    y = points["p"].to_numpy() >= float(d.threshold)
    x = points.drop(columns="p")
    x = x.loc[:, x.nunique() > 1]  # a knob held fixed has nothing to restrict
    _write_csv(out, "points.csv", points.assign(of_interest=y), files)
    try:
        box = discovery.prim_box(x, y, float(d.min_coverage), float(d.peel_alpha), float(d.mass_min))
    except ValueError as exc:
        raise ConfigError(f"target={cfg.target!r} with discover.threshold={d.threshold}: {exc}; change the threshold or the study's ranges") from exc
    _write_csv(out, "trajectory.csv", box.trajectory, files)
    _write_csv(out, "box.csv", box.limits, files)
    cap = f"{study.name}: PRIM for P({cfg.target}) >= {d.threshold}; {source}; {box.cases} of {box.points} points of interest"
    _save(discovery.tradeoff_figure(box, cap), out, "tradeoff.png", files)
    from aidsim.report.markdown import discovery_markdown

    def render(names: dict[str, str]) -> str:
        return discovery_markdown(box, str(cfg.target), float(d.threshold), source, study=study.name, figure=names.get("tradeoff.png"))

    store.write_text(out / "box.md", render({"tradeoff.png": "tradeoff.png"}))
    files.append("box.md")
    if d.get("report"):
        publish(out, str(d.report), render, ["tradeoff.png"])
    return files


def whatif_table(base: DictConfig, changes: Sequence[tuple[str, dict[str, Any]]]) -> pd.DataFrame:
    """Per change (the first row is the baseline): acceptance shares with Wilson intervals and who is accepted first."""
    from aidsim.report.figures import wilson
    from aidsim.runs.batch import evaluate

    n, horizon, rows, baseline = int(base.replicates), int(base.horizon_days), [], None
    for i, (label, cell) in enumerate(changes):
        runs, resp = evaluate(base, [cell])
        out = cell_outcomes(runs, resp, horizon, allies(base)).iloc[0]
        # Common random numbers: world r sees the same draws in every row, so compare world by world.
        accepted = runs.sort_values("replicate")["any_accepted"].to_numpy(bool)
        baseline = accepted if baseline is None else baseline
        k = int(runs["any_accepted"].sum())
        lo, hi = wilson(k, n)
        top = runs["first_accept_donor"].value_counts(normalize=True)
        seoul = resp.loc[(resp["donor"] == "south_korea").to_numpy() & (resp["response"] != "not_offered").to_numpy(), "response"]
        seoul_answers = seoul.astype(str).value_counts(normalize=True)
        rows.append(
            {
                "change": label,
                "set": ", ".join(f"{key}={v}" for key, v in cell.items()),
                # each key's value in the base and with the change, read from the config (none for the baseline row)
                "setting": "" if i == 0 else "; ".join(f"{key} {_plain(OmegaConf.select(base, key))} -> {v}" for key, v in cell.items()),
                "worlds": n,
                **out.to_dict(),
                "p_any_low": float(lo),
                "p_any_high": float(hi),
                "first_donor": top.index[0] if k else "",
                "first_donor_share": float(top.iloc[0]) if k else 0.0,
                "p_past_allies": float((runs["deepest_rung"] >= 2).mean()),  # turned to international bodies or lower
                "p_seoul_offered": len(seoul) / n,
                "seoul_answer": seoul_answers.index[0] if len(seoul) else "",  # the most common answer to Seoul's offer
                "seoul_answer_share": float(seoul_answers.iloc[0]) if len(seoul) else 0.0,
                "gained": int((accepted & ~baseline).sum()),  # worlds that accept with the change but not without
                "lost": int((baseline & ~accepted).sum()),
            }
        )
    df = pd.DataFrame(rows)
    df["delta_any"] = df["p_any_accepted"] - df["p_any_accepted"].iloc[0]
    return df


def whatif_curves(base: DictConfig, curves: dict[str, list[float]]) -> pd.DataFrame:
    """P(any accepted) with Wilson intervals along each one-knob curve."""
    from aidsim.report.figures import wilson
    from aidsim.runs.batch import evaluate

    n, parts = int(base.replicates), []
    for knob, values in curves.items():
        runs, _ = evaluate(base, [{knob: float(v)} for v in values])
        k = runs.groupby("cell")["any_accepted"].sum().to_numpy()
        lo, hi = wilson(k, n)
        parts.append(pd.DataFrame({"knob": knob, "value": values, "p_any_accepted": k / n, "low": lo, "high": hi}))
    return pd.concat(parts, ignore_index=True)


def whatif(cfg: DictConfig, study: Study, out: Path) -> list[str]:
    """Single changes to the study's base, ranked by P(any accepted); returns files written."""
    from aidsim.report import markdown

    if study.whatif is None:
        raise ConfigError(f"study={study.name!r}: has no whatif section (changes to try)")
    w, seed = study.whatif, int(cfg.seed)
    files: list[str] = []
    reps = int(cfg.replicates or w.replicates)
    base = base_config(study, reps, seed)
    first_keys = list(w.changes[0].set)
    baseline = {k: _plain(OmegaConf.select(base, k)) for k in first_keys}  # the base's own values: the same run as no change
    table = whatif_table(base, [("baseline (as configured)", baseline), *[(c.label, c.set) for c in w.changes]])
    curves = whatif_curves(base, w.curves) if w.curves else None
    _write_csv(out, "whatif.csv", table, files)
    marks = {k: _plain(OmegaConf.select(base, k)) for k in w.curves}
    _save(markdown.whatif_bars(table, f"{study.name}: {reps} worlds per bar, seed {seed}, 95% Wilson intervals"), out, "whatif_bars.png", files)
    if curves is not None:
        _write_csv(out, "whatif_curves.csv", curves, files)
        _save(
            markdown.whatif_curve_figure(curves, marks, study.parameters, f"{study.name}: one knob at a time, {reps} worlds per point"),
            out,
            "whatif_curves.png",
            files,
        )
    md = markdown.whatif_markdown(study, table, curves, marks, reps, seed, figures=("whatif_bars.png", "whatif_curves.png" if curves is not None else None))
    store.write_text(out / "whatif.md", md)
    files.append("whatif.md")
    if cfg.whatif.report:
        dest = Path(cfg.whatif.report)
        for name in files:
            if name.endswith(".png"):
                store.atomic_write(dest.parent / name, functools.partial(_copy, out / name))
        store.write_text(dest, md)
    return files


RUNNERS = {"sensitivity": sensitivity, "discover": discover, "whatif": whatif}


def run(cfg: DictConfig, study: Study) -> Path:
    """Run `cfg.command` for `study`; write its results folder and manifest; return the folder."""
    check_settings(cfg)
    out = results_folder(cfg)
    if cfg.command == "discover":
        out = out / str(cfg.target).replace(" ", "_")
    start = time.perf_counter()
    files = RUNNERS[cfg.command](cfg, study, out)
    base = OmegaConf.to_container(compose(study.base), resolve=True)  # the model every point started from, as resolved now
    write_manifest(out, cfg, study, time.perf_counter() - start, files, model_base=base)
    return out
