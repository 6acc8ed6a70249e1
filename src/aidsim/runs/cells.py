"""Cells and stacking: a cell is a dict of dotted knobs on a base config; cells that differ only in
stackable knobs share one batch, their differing knobs becoming per-world arrays.

A study's cells are kept as columns (`Cells`: a few numbers per cell, one validated Params per
batch structure), and its chunks are made one at a time from them, so set-up memory and time grow
by little per cell (experiments/benchmark_cells.py measures both)."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

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
whole-batch arrays, and whether a value is allowed depends on that value alone (so many cells are
checked a column at a time, see `_column_check`). Others (day counts that steer control flow, donor
profiles, events, horizon, seed) split cells into separate batches. tests/test_sweep.py checks each
against a lone run."""


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
    if len(path) == 2 and isinstance(inner, list) and path[1].isdigit():  # one element of a list (a rung threshold)
        if int(path[1]) >= len(inner):
            raise ConfigError(f"{head}.{path[1]}: {head} has {len(inner)} elements: allowed: {head}.0 to {head}.{len(inner) - 1}")
        out[head] = [value if i == int(path[1]) else v for i, v in enumerate(inner)]
    else:
        out[head] = value if len(path) == 1 else _set(inner if isinstance(inner, Mapping) else {}, path[1:], value)
    return out


def knob(params: Params, key: str) -> Any:
    """The value of a dotted knob in validated params (typed: floats are floats)."""
    value: Any = params
    for part in key.split("."):
        try:
            value = value[part] if isinstance(value, Mapping) else value[int(part)] if isinstance(value, (list, tuple)) else getattr(value, part)
        except (KeyError, AttributeError, TypeError, ValueError, IndexError):
            raise ConfigError(f"{key}: not a setting of the model; a sweep varies the model's keys (docs/model.md), not the tools'") from None
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


def stack_knobs(params: Params, knobs: Mapping[str, np.ndarray], repeat: int) -> Params:
    """`params` for a batch of cells with `repeat` worlds each: every knob whose values (one per
    cell) differ becomes a per-world array, one that does not is set as a plain value."""
    for key in sorted(knobs):
        values = knobs[key]
        value = np.repeat(values, repeat) if (values != values[0]).any() else values[0].item()
        params = _with(params, key.split("."), value)
    return params


@dataclass(frozen=True)
class Chunk:
    """Everything a worker needs to run one chunk: replicates [lo, hi) of each of its cells, all of
    one structure (see `structure`), and their columns, one value per cell."""

    index: int
    params: Params  # the cells' shared structure; `knobs` set on it per cell
    cells: np.ndarray  # cell ids
    lo: int
    hi: int
    columns: Mapping[str, np.ndarray]  # shown in the tables (knob values and labels)
    knobs: Mapping[str, np.ndarray]  # stackable knobs the cells set (typed)

    @property
    def worlds(self) -> int:
        """Worlds in this chunk."""
        return len(self.cells) * (self.hi - self.lo)

    def stacked(self) -> Params:
        """The Params of the chunk's batch, its differing knobs as per-world arrays."""
        return stack_knobs(self.params, self.knobs, self.hi - self.lo)


def plan(members: Sequence[int], replicates: Sequence[int], chunk_worlds: int) -> np.ndarray:
    """Pack cells into chunks of at most `chunk_worlds` worlds, a large cell split by replicate
    ranges. Groups of cells that can share a batch (`members[g]` cells of `replicates[g]` worlds
    each) never share a chunk. One row per chunk: group, its cells [a, b) (positions within the
    group), replicates [lo, hi) of each; greedy packing in cell order, so a design always gets
    the same chunks."""
    rows = []
    for g, (m, r) in enumerate(zip(members, replicates, strict=True)):
        if r <= chunk_worlds:  # whole cells, as many as fit
            a = np.arange(0, m, chunk_worlds // r)
            rows.append(np.column_stack([np.full_like(a, g), a, np.minimum(a + chunk_worlds // r, m), np.zeros_like(a), np.full_like(a, r)]))
        else:  # each cell alone, in full-size pieces and a remainder
            lo = np.arange(0, r, chunk_worlds)
            a = np.repeat(np.arange(m), len(lo))
            lo = np.tile(lo, m)
            rows.append(np.column_stack([np.full_like(a, g), a, a + 1, lo, np.minimum(lo + chunk_worlds, r)]))
    return np.concatenate(rows).astype(np.int64)


def plan_worlds(plan: np.ndarray) -> np.ndarray:
    """Worlds per chunk of a `plan`."""
    return (plan[:, 2] - plan[:, 1]) * (plan[:, 4] - plan[:, 3])


BLOCK = 4096
"""Cells checked and stored per step: only a block of cells is ever held as Python objects."""


@functools.cache
def _column_check(key: str) -> TypeAdapter[list[Any]] | None:
    """A validator for many values of a stackable knob at once, exactly its schema field's, if the
    knob's validity depends on its own value only (a number field no validator of its section
    reads); None otherwise, and cells are then validated whole for that knob."""
    *path, name = key.split(".")
    model: Any = Params
    for part in path:
        info = model.model_fields.get(part)
        model = getattr(info, "annotation", None)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
    info = model.model_fields.get(name)
    decorators = model.__pydantic_decorators__
    reads = {f for v in decorators.field_validators.values() for f in v.info.fields}
    if info is None or info.annotation not in (int, float) or decorators.model_validators or {name, "*"} & reads:
        return None
    field: Any = Annotated[(info.annotation, *info.metadata)]  # the field's type with its bounds
    return TypeAdapter(list[field], config=ConfigDict(strict=bool(model.model_config.get("strict"))))


class _Column:
    """Values of one column, stored a block at a time as a typed array (or an object array when the
    values are not all floats, all whole numbers or all booleans)."""

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []

    def extend(self, values: list[Any]) -> None:
        """Store one block of values."""
        kinds = {type(v) for v in values}
        typed = len(kinds) == 1 and kinds <= {float, int, bool}
        self.blocks.append(np.asarray(values) if typed else np.fromiter(values, dtype=object, count=len(values)))

    def array(self) -> np.ndarray:
        """All values; an object array if the blocks' types differ (so a slice is read as its own values)."""
        if len({b.dtype for b in self.blocks}) == 1:
            return np.concatenate(self.blocks)
        return np.concatenate([b.astype(object) for b in self.blocks])


def inferable(values: np.ndarray) -> np.ndarray | list[Any]:
    """Values as numpy and pandas should read them: a typed array as it is, an object array as a
    list (so each reader infers the type from the values, as it would from the cells themselves)."""
    return values.tolist() if values.dtype == object else values


_COLUMN = object()  # in an entry's `shown`: the cell's own (checked) value


@dataclass
class _Entry:
    """What the cells with one signature share: the first such cell's group, and its values."""

    group: int
    defaults: dict[str, Any]  # checked knobs these cells do not set: the value they have
    shown: dict[str, Any]  # per column: a value, or _COLUMN
    knobs: dict[str, Any]  # stackable knobs validated whole: the value


@dataclass
class Cells:
    """The validated cells of a study as columns, a few numbers per cell: which batch structure
    each belongs to (`group`, with one validated Params per group), its knob values as typed
    arrays, and what the tables show."""

    keys: list[str]  # the tables' knob columns, in order
    columns: dict[str, np.ndarray]  # per key, one value per cell (see `inferable`)
    knobs: dict[str, np.ndarray]  # per stackable knob the cells set, its typed value per cell
    group: np.ndarray  # per cell: the index of its structure in `params`
    params: list[Params]  # per group: the validated Params of its first cell

    def __len__(self) -> int:
        return len(self.group)

    @functools.cached_property
    def members(self) -> list[np.ndarray]:
        """Per group, its cell ids in order."""
        order = np.argsort(self.group, kind="stable")
        return np.split(order, np.cumsum(np.bincount(self.group, minlength=len(self.params)))[:-1])

    @property
    def runs(self) -> int:
        """Worlds over all cells."""
        return sum(len(m) * p.replicates for m, p in zip(self.members, self.params, strict=True))

    def plan(self, chunk_worlds: int) -> np.ndarray:
        """The chunks of this design (see `plan`)."""
        return plan([len(m) for m in self.members], [p.replicates for p in self.params], chunk_worlds)

    def chunk(self, plan: np.ndarray, index: int) -> Chunk:
        """Chunk `index` of `plan`, made now: a study never holds all its chunks."""
        g, a, b, lo, hi = (int(x) for x in plan[index])
        ids = self.members[g][a:b]
        columns = {k: np.asarray(inferable(v[ids])) for k, v in self.columns.items()}
        return Chunk(index, self.params[g], ids, lo, hi, columns, {k: v[ids] for k, v in self.knobs.items()})


def validate_cells(base: Mapping[str, Any], cells: Iterable[Mapping[str, Any]], labels: Mapping[str, Any] | None = None) -> Cells:
    """Validate every cell, as `validated` would (the same one-line error for the first bad cell),
    without keeping a Params per cell. Cells that differ only in checked stackable knobs (see
    `_column_check`) share one full validation; those knobs are checked a block at a time.
    `cells` is read more than once (a list, a `designs.Design`).

    Columns hold typed values for the union of the cells' knobs (a knob a cell does not set shows
    the base value), then `labels` (constant columns, e.g. a Hydra job's overrides)."""
    labels = dict(labels or {})
    set_keys = list(dict.fromkeys(k for c in cells for k in c))
    keys = list(dict.fromkeys([*set_keys, *labels]))
    checks = {k: a for k in set_keys if k in STACKABLE and (a := _column_check(k)) is not None}
    knob_keys = [k for k in set_keys if k in STACKABLE]
    entries: dict[Any, int] = {}
    table: list[_Entry] = []
    groups: dict[str, int] = {}
    params: list[Params] = []
    columns = {k: _Column() for k in keys}
    knobs = {k: _Column() for k in knob_keys}
    group = _Column()
    raw: dict[str, list[Any]] = {k: [] for k in checks}
    ids: list[int] = []
    start = 0

    def flush() -> None:
        """Check the block's knob values; store the block."""
        checked, bad = {}, len(ids)
        for k, adapter in checks.items():
            bad = min([bad, *(j for j, v in enumerate(raw[k]) if isinstance(v, bool))])  # pydantic would read true as 1.0
            try:
                checked[k] = adapter.validate_python(raw[k])
            except ValidationError as exc:
                bad = min(bad, *(int(e["loc"][0]) for e in exc.errors()))
        if bad < len(ids):
            cell = next(itertools.islice(cells, start + bad, None))
            validated(base, cell)  # raises the cell's own one-line error
            raise AssertionError(f"cell {start + bad} ({cell}) failed its column check but passes whole")
        for k in keys:
            shown = [table[e].shown[k] for e in ids]
            columns[k].extend([v if s is _COLUMN else s for v, s in zip(checked[k], shown, strict=True)] if k in checks else shown)
        for k in knob_keys:
            knobs[k].extend(checked[k] if k in checks else [table[e].knobs[k] for e in ids])
        group.extend([table[e].group for e in ids])
        for values in raw.values():
            values.clear()
        ids.clear()

    for i, cell in enumerate(cells):
        sig: Any = tuple(k if k in checks else (k, type(v), v) for k, v in cell.items())
        try:
            e = entries.get(sig)
        except TypeError:  # an unhashable value (a list): validated on its own
            e, sig = None, None
        if e is None:
            try:
                p = validated(base, cell)
            except ConfigError:
                flush()  # an earlier cell of this block fails first
                raise
            g = groups.setdefault(structure(p), len(groups))
            if g == len(params):
                params.append(p)
            table.append(
                _Entry(
                    group=g,
                    defaults={k: knob(p, k) for k in checks if k not in cell},
                    shown={k: labels[k] if k in labels and k not in cell else _COLUMN if k in checks else knob(p, k) for k in keys},
                    knobs={k: knob(p, k) for k in knob_keys if k not in checks},
                )
            )
            e = len(table) - 1
            if sig is not None:
                entries[sig] = e
        for k, values in raw.items():
            values.append(cell[k] if k in cell else table[e].defaults[k])
        ids.append(e)
        if len(ids) == BLOCK:
            flush()
            start = i + 1
    if ids:
        flush()
    return Cells(keys, {k: c.array() for k, c in columns.items()}, {k: c.array() for k, c in knobs.items()}, group.array(), params)
