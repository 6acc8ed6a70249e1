"""Experimental designs: which parameter cells a sweep study runs.

A study declares a full-factorial `grid` (each knob with its listed values; the first knob is the
outer loop) and/or a sampled design over declared ranges: a Latin hypercube or a scrambled Sobol
sequence (scipy.stats.qmc). With both, every grid cell is crossed with every sampled point. A
cell is a dict of dotted knobs, e.g. {"tension.inter_korean": 0.2, "flood.severity": 3.06}; a
study reads its cells from a `Design`, which makes them one at a time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aidsim.model.errors import ConfigError, unknown_line

METHODS = ("lhs", "sobol")


def _checked_grid(grid: Mapping[str, Sequence[Any]]) -> Mapping[str, Sequence[Any]]:
    """`grid` if every knob lists one or more plain values, else a one-line ConfigError."""
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not len(values):
            raise ConfigError(f"sweep.grid.{key}={values!r}: allowed: a non-empty list of values")
        bad = [v for v in values if not isinstance(v, (bool, int, float, str))]
        if bad:
            raise ConfigError(f"sweep.grid.{key}={bad[0]!r}: allowed: numbers, true/false or text (one knob value each)")
    return grid


def grid_cells(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the listed values, first knob outermost."""
    return list(Design(_checked_grid(grid)))


def sample(
    method: str,
    n: int,
    ranges: Mapping[str, Sequence[float]],
    seed: int = 0,
    log: Collection[str] = (),
    integer: Collection[str] = (),
) -> Sample:
    """`n` points of a Latin hypercube ("lhs") or a scrambled Sobol sequence ("sobol", n a power
    of 2) over `ranges` {knob: [low, high]}; knobs in `log` are spread evenly in log space, knobs in
    `integer` are rounded (e.g. day counts). Kept as one array; `Sample.cells()` makes the cells.
    A bad setting is a one-line ConfigError."""
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
    return Sample(tuple(ranges), qmc.scale(engine.random(n), lows, highs), frozenset(log), frozenset(integer))


@dataclass(frozen=True)
class Sample:
    """A sampled design as one array of points (8 bytes per knob and point); cells are made from
    it one at a time."""

    keys: tuple[str, ...]
    points: np.ndarray  # (points, knobs), log knobs in log space
    log: frozenset[str]
    integer: frozenset[str]

    def cells(self) -> list[dict[str, Any]]:
        """Every point's cell."""
        return [self.cell(row) for row in self.points]

    def cell(self, row: np.ndarray) -> dict[str, Any]:
        """The cell of one point: log knobs back from log space, integer knobs rounded."""
        cell = {}
        for key, x in zip(self.keys, row.tolist(), strict=True):
            value = math.exp(x) if key in self.log else float(x)
            cell[key] = int(round(value)) if key in self.integer else value
        return cell


@dataclass(frozen=True)
class Design:
    """The cells of a study, made one at a time each time it is read (a study of many cells never
    holds them all): every grid combination crossed with every sampled point."""

    grid: Mapping[str, Sequence[Any]]
    sample: Sample | None = None

    def __len__(self) -> int:
        return math.prod(len(v) for v in self.grid.values()) * (1 if self.sample is None else len(self.sample.points))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        keys = list(self.grid)
        for combo in itertools.product(*(self.grid[k] for k in keys)):
            g = dict(zip(keys, combo, strict=True))
            if self.sample is None:
                yield g
            else:
                for row in self.sample.points:
                    yield {**g, **self.sample.cell(row)}


def study_design(spec: Mapping[str, Any], integer: Collection[str] = ()) -> Design:
    """The cells of a study's `sweep` section: grid x sample (either may be absent; neither = one
    cell, the base config itself), checked now and made when read."""
    grid = _checked_grid(spec.get("grid") or {})
    settings = spec.get("sample")
    if not settings:
        return Design(grid)
    allowed = ["log", "method", "n", "ranges", "seed"]
    extra = sorted(set(settings) - set(allowed))
    if extra:
        raise ConfigError(unknown_line(f"sweep.sample.{extra[0]}", allowed))
    seed = settings.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ConfigError(f"sweep.sample.seed={seed!r}: allowed: a whole number from 0 to 2**32-1")
    points = sample(
        settings.get("method", "lhs"),
        settings.get("n", 0),
        settings.get("ranges") or {},
        seed=seed,
        log=settings.get("log") or (),
        integer=integer,
    )
    return Design(grid, points)


def study_cells(spec: Mapping[str, Any], integer: Collection[str] = ()) -> list[dict[str, Any]]:
    """`study_design` as a list."""
    return list(study_design(spec, integer))


def log_spaced(values: Sequence[float]) -> bool:
    """Whether positive values are (about) evenly spaced in log rather than linear space (one part
    of the log-axis rule, `report.style.wants_log`)."""
    v = np.asarray(sorted(values), dtype=float)
    if len(v) < 3 or v[0] <= 0:
        return False
    lin, logs = np.diff(v), np.diff(np.log(v))
    return bool(np.ptp(logs) < 0.1 * logs.mean() and np.ptp(lin) > 0.5 * lin.mean())
