"""Experimental designs: which parameter cells a sweep study runs.

A study declares a full-factorial `grid` (each knob with its listed values; the first knob is the
outer loop) and/or a sampled design over declared ranges: a Latin hypercube or a scrambled Sobol
sequence (scipy.stats.qmc). With both, every grid cell is crossed with every sampled point. A
cell is a dict of dotted knobs, e.g. {"tension.inter_korean": 0.2, "flood.severity": 3.06}.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from aidsim.model.errors import ConfigError

METHODS = ("lhs", "sobol")


def grid_cells(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the listed values, first knob outermost."""
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not len(values):
            raise ConfigError(f"sweep.grid.{key}={values!r}: allowed: a non-empty list of values")
        bad = [v for v in values if not isinstance(v, (bool, int, float, str))]
        if bad:
            raise ConfigError(f"sweep.grid.{key}={bad[0]!r}: allowed: numbers, true/false or text (one knob value each)")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def sample_cells(
    method: str,
    n: int,
    ranges: Mapping[str, Sequence[float]],
    seed: int = 0,
    log: Collection[str] = (),
    integer: Collection[str] = (),
) -> list[dict[str, Any]]:
    """`n` points of a Latin hypercube ("lhs") or a scrambled Sobol sequence ("sobol", n a power
    of 2) over `ranges` {knob: [low, high]}; knobs in `log` are spread evenly in log space, knobs in
    `integer` are rounded (e.g. day counts)."""
    from scipy.stats import qmc

    if method not in METHODS:
        raise ConfigError(f"sweep.sample.method={method!r}: allowed: {', '.join(METHODS)}")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"sweep.sample.n={n!r}: allowed: a whole number >= 1")
    if method == "sobol" and n & (n - 1):
        raise ConfigError(f"sweep.sample.n={n}: a Sobol design needs a power of 2 (e.g. {2 ** math.ceil(math.log2(n))})")
    if not ranges:
        raise ConfigError("sweep.sample.ranges: missing; give each sampled knob as knob: [low, high]")
    unknown = sorted(set(log) - set(ranges))
    if unknown:
        raise ConfigError(f"sweep.sample.log={unknown}: allowed: knobs listed in sweep.sample.ranges")
    lows, highs = [], []
    for key, bounds in ranges.items():
        ok = isinstance(bounds, Sequence) and len(bounds) == 2 and all(isinstance(b, (int, float)) for b in bounds)
        if not ok or not bounds[0] < bounds[1] or (key in log and bounds[0] <= 0):
            need = "[low, high] with 0 < low < high (log scale)" if key in log else "[low, high] with low < high"
            raise ConfigError(f"sweep.sample.ranges.{key}={bounds!r}: allowed: {need}")
        lo, hi = (math.log(b) for b in bounds) if key in log else bounds
        lows.append(lo)
        highs.append(hi)
    engine = (qmc.LatinHypercube if method == "lhs" else qmc.Sobol)(d=len(ranges), seed=seed)
    points = qmc.scale(engine.random(n), lows, highs)
    cells = []
    for row in points:
        cell = {}
        for key, x in zip(ranges, row, strict=True):
            value = math.exp(x) if key in log else float(x)
            cell[key] = int(round(value)) if key in integer else value
        cells.append(cell)
    return cells


def study_cells(spec: Mapping[str, Any], integer: Collection[str] = ()) -> list[dict[str, Any]]:
    """The cells of a study's `sweep` section: grid x sample (either may be absent; neither = one
    cell, the base config itself)."""
    grid = grid_cells(spec.get("grid") or {})
    sample = spec.get("sample")
    if not sample:
        return grid
    extra = sorted(set(sample) - {"method", "n", "seed", "ranges", "log"})
    if extra:
        raise ConfigError(f"sweep.sample.{extra[0]}: unknown key; allowed keys here: log, method, n, ranges, seed")
    points = sample_cells(
        sample.get("method", "lhs"),
        sample.get("n", 0),
        sample.get("ranges") or {},
        seed=sample.get("seed", 0),
        log=sample.get("log") or (),
        integer=integer,
    )
    return [{**g, **s} for g in grid for s in points]


def log_spaced(values: Sequence[float]) -> bool:
    """Whether positive values are (about) evenly spaced in log rather than linear space."""
    v = np.asarray(sorted(values), dtype=float)
    if len(v) < 3 or v[0] <= 0:
        return False
    lin, logs = np.diff(v), np.diff(np.log(v))
    return bool(np.ptp(logs) < 0.1 * logs.mean() and np.ptp(lin) > 0.5 * lin.mean())
