"""Cells and stacking: a cell is a dict of dotted knobs on a base config; cells that differ only in
stackable knobs share one batch, their differing knobs becoming per-world arrays."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from aidsim.model.config import to_params
from aidsim.model.errors import ConfigError, bool_for_number
from aidsim.model.params import _RUNTIME_KEYS, DONORS, Params

RUNTIME_KEYS = frozenset(_RUNTIME_KEYS)
"""Top-level config sections that steer the tools, not the model (the one list, in model.params)."""

STACKABLE = frozenset(
    {
        "flood.severity", "flood.severity_spread", "flood.visibility",
        "tension.inter_korean", "tension.us_dprk",
        *(f"relations.{d}" for d in DONORS),
        "dprk.capacity", "dprk.capacity_spread", "dprk.mobilisation_days", "dprk.planning_days",
        "dprk.hostility_weight", "dprk.relation_weight", "dprk.image_sensitivity", "dprk.image_weight",
        "dprk.monitoring_weight", "dprk.decision_noise", "dprk.response_delay_days", "dprk.request_max_hostility",
    }
)  # fmt: skip
"""Knobs that may differ between the worlds of one batch: the rules only ever combine them with
whole-batch arrays. Others (day counts that steer control flow, donor profiles, events, horizon,
seed) split cells into separate batches. tests/test_sweep.py checks each against a lone run."""


def model_dict(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The model part of a composed config as plain data (tool sections dropped)."""
    data: Any = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    return {str(k): v for k, v in data.items() if k not in RUNTIME_KEYS}


def _set(data: Mapping[str, Any], path: Sequence[str], value: Any) -> dict[str, Any]:
    """A copy of nested `data` with `path` set (only the dicts along the path are copied).

    Plain dicts, not `OmegaConf.update`: a study validates every cell, and copying the whole
    config into OmegaConf per cell costs ~100x more (minutes for 100k cells)."""
    out = dict(data)
    head = path[0]
    inner = out.get(head)
    out[head] = value if len(path) == 1 else _set(inner if isinstance(inner, Mapping) else {}, path[1:], value)
    return out


def knob(params: Params, key: str) -> Any:
    """The value of a dotted knob in validated params (typed: floats are floats)."""
    value: Any = params
    for part in key.split("."):
        value = value[part] if isinstance(value, Mapping) else getattr(value, part)
    return value.value if hasattr(value, "value") else value  # enums (e.g. channel) as text


def validated(base: Mapping[str, Any], cell: Mapping[str, Any]) -> Params:
    data = base
    for key, value in cell.items():
        data = _set(data, key.split("."), value)
    wrong = bool_for_number(Params, data)
    if wrong:
        raise ConfigError(wrong)
    return to_params(data)


def cell_params(base: DictConfig, cell: Mapping[str, Any]) -> Params:
    """The validated Params of one cell: the base config with the cell's dotted keys set."""
    return validated(model_dict(base), cell)


@dataclass(frozen=True)
class Piece:
    """Replicates [lo, hi) of one cell, a slice of a chunk."""

    cell: int
    lo: int
    hi: int


def structure(params: Params, keys: Collection[str] = STACKABLE) -> str:
    """What must be equal for runs to share a batch: everything but `keys` (dotted, any depth)."""
    data = params.model_dump(mode="json")
    for key in keys:
        *path, name = key.split(".")
        node = data
        for part in path:
            node = node[part]
        node.pop(name, None)
    return json.dumps(data, sort_keys=True)


def plan(params: Sequence[Params], chunk_worlds: int) -> list[list[Piece]]:
    """Pack cells into chunks of at most `chunk_worlds` worlds; cells that cannot share a batch
    (see `STACKABLE`) go to different chunks, and a large cell is split by replicate ranges."""
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(params):
        groups.setdefault(structure(p), []).append(i)
    chunks: list[list[Piece]] = []
    for members in groups.values():
        current: list[Piece] = []
        size = 0
        for i in members:
            for lo in range(0, params[i].replicates, chunk_worlds):
                hi = min(lo + chunk_worlds, params[i].replicates)
                if current and size + hi - lo > chunk_worlds:
                    chunks.append(current)
                    current, size = [], 0
                current.append(Piece(i, lo, hi))
                size += hi - lo
        if current:
            chunks.append(current)
    return chunks


def _with(model: Any, path: Sequence[str], value: Any) -> Any:
    """A copy of a pydantic model (or dict) with a nested value replaced (no validation: arrays allowed)."""
    head, rest = path[0], path[1:]
    if isinstance(model, dict):
        return {**model, head: _with(model[head], rest, value) if rest else value}
    return model.model_copy(update={head: _with(getattr(model, head), rest, value) if rest else value})


def stack(params: Sequence[Params], sizes: Sequence[int], keys: Collection[str] = STACKABLE) -> Params:
    """One Params for a batch of runs: each of `keys` that differs becomes a per-world array
    (`sizes[i]` worlds of run i, in order). The runs must share `structure(p, keys)`."""
    out = params[0]
    for key in sorted(keys):
        values = [knob(p, key) for p in params]
        if any(v != values[0] for v in values):
            out = _with(out, key.split("."), np.repeat(np.asarray(values), sizes))
    return out
