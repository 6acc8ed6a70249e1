"""A study's cells as columns (runs.cells.Cells): the same values, errors, chunk plan and fingerprint
as validating one Params per cell, with set-up memory that grows by little per cell."""

from __future__ import annotations

import hashlib
import json
import random

import numpy as np
import pytest
from omegaconf import OmegaConf

from aidsim.model.config import compose
from aidsim.model.errors import ConfigError
from aidsim.runs import batch, cells, designs, study
from aidsim.runs.cells import knob, model_dict, structure, validated


@pytest.fixture(scope="module")
def base():
    return model_dict(compose(["replicates=7"], config_name="sweep"))


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 4 cells, so a handful of cells spans several."""
    monkeypatch.setattr(cells, "BLOCK", 4)


MIXED = [
    *designs.grid_cells(
        {
            "horizon_days": [30, 60],
            "actors.china.channel": ["direct", "un"],
            "tension.inter_korean": [0, 1, 0.5],
            "dprk.response_delay_days": [0, 3],
        }
    ),
    {"flood.severity": 3},
    {"relations.china": 0.05, "dprk.misfit_weight": 2},
    {},
    {"tension.inter_korean": 0.25, "replicates": 3},
]
LABELS = {"tension.inter_korean": 1, "job": "a=1"}


def test_columns_equal_one_validation_per_cell(base, small_blocks):
    design = batch.prepare(base, MIXED, LABELS)
    assert design.keys == list(dict.fromkeys([*(k for c in MIXED for k in c), *LABELS]))
    assert len(design) == len(MIXED)
    for i, cell in enumerate(MIXED):
        params = validated(base, cell)
        for k in design.keys:
            want = LABELS[k] if k in LABELS and k not in cell else knob(params, k)
            got = design.columns[k][i]
            got = got.item() if isinstance(got, np.generic) else got
            assert got == want and type(got) is type(want), (i, k, got, want)
        for k, values in design.knobs.items():
            assert values[i].item() == knob(params, k) and type(values[i].item()) is type(knob(params, k))
        assert structure(design.params[design.group[i]]) == structure(params)
    first = {}
    for i, cell in enumerate(MIXED):  # groups numbered in order of first appearance
        first.setdefault(structure(validated(base, cell)), len(first))
        assert design.group[i] == first[structure(validated(base, cell))]


@pytest.mark.parametrize(
    "bad",
    [
        [{"flood.severity": 1.0}] * 9 + [{"flood.severity": -1.0}, {"horizon_days": 0}],  # checked knob, a later block
        [{"flood.severity": 1.0}] * 9 + [{"horizon_days": 0}, {"flood.severity": -1.0}],  # whole cell first
        [{"flood.severity": 1.0}] * 5 + [{"flood.severity": -1.0}, {"flood.severity": 2.0, "horizon_days": 0}],  # same block
        [{"tension.inter_korean": 0.5}, {"tension.inter_korean": True}],  # true is not a number
        [{"tension.inter_korean": 2, "flood.severity": "x"}],
        [{"flood.severityy": 1.0}],
        [{"dprk.mobilisation_days": 2.5}],
    ],
)
def test_the_first_bad_cell_gets_its_own_line(base, small_blocks, bad):
    for cell in bad:  # what validating cell by cell says first
        try:
            validated(base, cell)
        except ConfigError as exc:
            want = str(exc)
            break
    with pytest.raises(ConfigError) as got:
        batch.prepare(base, bad)
    assert str(got.value) == want


def greedy(sizes: list[int], replicates: list[int], chunk_worlds: int) -> list[tuple[int, int, int, int, int]]:
    """The chunk plan as it was first written: a piece at a time, a chunk closed when the next
    piece would overfill it (one row per piece: group, cell, lo, hi, chunk)."""
    rows, chunk = [], -1
    for g, (m, r) in enumerate(zip(sizes, replicates, strict=True)):
        size = chunk_worlds + 1  # a new group starts a new chunk
        for j in range(m):
            for lo in range(0, r, chunk_worlds):
                hi = min(lo + chunk_worlds, r)
                if size + hi - lo > chunk_worlds:
                    chunk, size = chunk + 1, 0
                rows.append((g, j, lo, hi, chunk))
                size += hi - lo
    return rows


@pytest.mark.parametrize("seed", range(20))
def test_plan_is_the_greedy_packing(seed):
    rng = random.Random(seed)
    sizes = [rng.randint(1, 30) for _ in range(rng.randint(1, 4))]
    replicates = [rng.choice([1, 2, 5, 7, 10, 24, 25, 26, 60]) for _ in sizes]
    chunk_worlds = rng.choice([1, 5, 10, 25, 50])
    plan = cells.plan(sizes, replicates, chunk_worlds)
    pieces = [(int(g), j, int(lo), int(hi), c) for c, (g, a, b, lo, hi) in enumerate(plan) for j in range(a, b)]
    assert pieces == greedy(sizes, replicates, chunk_worlds)
    assert cells.plan_worlds(plan).sum() == sum(m * r for m, r in zip(sizes, replicates, strict=True))


def test_fingerprint_is_the_hash_of_the_whole_design(small_blocks):
    cfg = compose(["experiment=politics_lhs", "sweep.sample.n=50"], config_name="sweep")
    design = designs.study_design(OmegaConf.to_container(cfg.sweep, resolve=True))
    base, labels = model_dict(cfg), {"job": 1}
    whole = json.dumps({"model": base, "cells": list(design), "labels": labels}, sort_keys=True, default=str)
    assert study.fingerprint(base, design, labels) == hashlib.sha256(whole.encode()).hexdigest()[:16]


def test_design_is_read_lazily_and_again():
    spec = {"grid": {"seed": [1, 2, 3]}, "sample": {"method": "sobol", "n": 8, "ranges": {"flood.severity": [1, 50]}, "log": ["flood.severity"]}}
    design = designs.study_design(spec)
    assert len(design) == 24 and list(design) == list(design) == designs.study_cells(spec)
    assert list(design)[:8] == [{"seed": 1, **c} for c in designs.sample("sobol", 8, {"flood.severity": [1, 50]}, log=["flood.severity"]).cells()]


def test_set_up_memory_per_cell_is_small(base):
    """What a study keeps of its cells: a few numbers each (one validated Params per cell, as
    before, took ~26 KB)."""
    import tracemalloc

    n = 20_000
    spec = {"sample": {"method": "lhs", "n": n, "seed": 1, "ranges": {"tension.inter_korean": [0, 1], "flood.severity": [0.3, 100.0]}}}
    design = designs.study_design(spec)
    tracemalloc.start()
    kept = batch.prepare(base, design)
    held, _ = tracemalloc.get_traced_memory()
    kept.plan(25_000)
    tracemalloc.stop()
    assert len(kept) == n and len(kept.params) == 1
    assert held / n < 300, f"{held / n:.0f} bytes per cell"


def test_a_grid_can_vary_one_element_of_a_list(tmp_path):
    from aidsim.model.config import compose
    from aidsim.model.errors import ConfigError
    from aidsim.runs import batch

    cfg = compose(["replicates=50"], config_name="sweep")
    runs, _ = batch.evaluate(cfg, [{"dprk.rung_thresholds.0": 0.5}, {"dprk.rung_thresholds.0": 2.5}])
    assert sorted(runs["dprk.rung_thresholds.0"].unique()) == [0.5, 2.5]
    from aidsim.runs.cells import cell_params

    params = cell_params(cfg, {"dprk.rung_thresholds.0": 0.5})
    base = cell_params(cfg, {})
    assert params.dprk.rung_thresholds == [0.5, *base.dprk.rung_thresholds[1:]]  # the element set, the others kept
    with pytest.raises(ConfigError, match="rung_thresholds.5: rung_thresholds has 3 elements"):
        batch.evaluate(cfg, [{"dprk.rung_thresholds.5": 0.5}])
