"""The sweep engine: many parameter cells, each over many replicate worlds, fast and resumable.

A cell is a dict of dotted knobs on a base config ({"tension.inter_korean": 0.2, ...}). Replicate
r of every cell uses the same random stream (common random numbers), so differences between
cells come from the parameters, not from luck.

Speed comes from batching: cells are packed into chunks of about `sweep.chunk_worlds` worlds and
each chunk runs as ONE model whose differing knobs are per-world arrays (the rules broadcast;
see `STACKABLE`). A world's results depend only on (seed, replicate, parameters), so the tables
are the same whatever the chunking, the number of workers or the launcher. Each worker writes
its chunk's shards itself, so memory stays flat however many runs a study has (results.py).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from aidsim import designs, store, tables
from aidsim.config import conf_dir, to_params
from aidsim.errors import ConfigError, guarded
from aidsim.model import AidModel
from aidsim.params import _RUNTIME_KEYS, DONORS, Params
from aidsim.results import Store

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


# ---------------------------------------------------------------------------------------------
# Cells and their parameters


def _model_dict(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The model part of a composed config as plain data (tool sections dropped)."""
    data = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    return {k: v for k, v in data.items() if k not in _RUNTIME_KEYS}


def _set(data: Mapping[str, Any], path: Sequence[str], value: Any) -> dict[str, Any]:
    """A copy of nested `data` with `path` set (only the dicts along the path are copied)."""
    out = dict(data)
    head = path[0]
    out[head] = value if len(path) == 1 else _set(out.get(head) if isinstance(out.get(head), Mapping) else {}, path[1:], value)
    return out


def knob(params: Params, key: str) -> Any:
    """The value of a dotted knob in validated params (typed: floats are floats)."""
    value: Any = params
    for part in key.split("."):
        value = value[part] if isinstance(value, Mapping) else getattr(value, part)
    return value.value if hasattr(value, "value") else value  # enums (e.g. channel) as text


def _validated(base: Mapping[str, Any], cell: Mapping[str, Any]) -> Params:
    data = base
    for key, value in cell.items():
        data = _set(data, key.split("."), value)
    return to_params(data)


def cell_params(base: DictConfig, cell: Mapping[str, Any]) -> Params:
    """The validated Params of one cell: the base config with the cell's dotted keys set."""
    return _validated(_model_dict(base), cell)


@dataclass(frozen=True)
class Piece:
    """Replicates [lo, hi) of one cell, a slice of a chunk."""

    cell: int
    lo: int
    hi: int


def _structure(params: Params) -> str:
    """What must be equal for cells to share a batch: everything but the stackable knobs."""
    data = params.model_dump(mode="json")
    for key in STACKABLE:
        section, name = key.split(".")
        data[section].pop(name, None)
    return json.dumps(data, sort_keys=True)


def plan(params: Sequence[Params], chunk_worlds: int) -> list[list[Piece]]:
    """Pack cells into chunks of at most `chunk_worlds` worlds; cells that cannot share a batch
    (see `STACKABLE`) go to different chunks, and a large cell is split by replicate ranges."""
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(params):
        groups.setdefault(_structure(p), []).append(i)
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
    """A copy of a pydantic model with a nested field replaced (no validation: arrays allowed)."""
    if len(path) == 1:
        return model.model_copy(update={path[0]: value})
    return model.model_copy(update={path[0]: _with(getattr(model, path[0]), path[1:], value)})


def stack(params: Sequence[Params], sizes: Sequence[int]) -> Params:
    """One Params for a batch of cells: each stackable knob that differs becomes a per-world array
    (`sizes[i]` worlds of cell i, in order). The cells must share `_structure`."""
    out = params[0]
    for key in sorted(STACKABLE):
        values = [knob(p, key) for p in params]
        if any(v != values[0] for v in values):
            out = _with(out, key.split("."), np.repeat(np.asarray(values), sizes))
    return out


# ---------------------------------------------------------------------------------------------
# Running chunks


@dataclass(frozen=True)
class Chunk:
    """Everything a worker needs to run one chunk: its pieces, their cells' params and columns."""

    index: int
    pieces: tuple[Piece, ...]
    params: tuple[Params, ...]  # one per piece
    columns: tuple[dict[str, Any], ...]  # one per piece: the cell's knob values

    @property
    def worlds(self) -> int:
        return sum(p.hi - p.lo for p in self.pieces)


def simulate(chunk: Chunk) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, responses) of one chunk, with `cell` and the knob columns in front."""
    sizes = [p.hi - p.lo for p in chunk.pieces]
    ids = np.concatenate([np.arange(p.lo, p.hi) for p in chunk.pieces])
    model = AidModel(stack(chunk.params, sizes), replicates=ids, record=False).run()
    lead = {"cell": np.repeat(np.array([p.cell for p in chunk.pieces], dtype=np.int64), sizes)}
    for key in chunk.columns[0]:
        lead[key] = np.repeat(np.asarray([c[key] for c in chunk.columns]), sizes)
    runs, resp = tables.runs(model), tables.responses(model)
    n = len(DONORS)
    runs = pd.concat([pd.DataFrame(lead), runs], axis=1)
    resp = pd.concat([pd.DataFrame({k: np.repeat(v, n) for k, v in lead.items()}), resp], axis=1)
    return runs, resp


def _run_and_store(task: tuple[str, Chunk]) -> tuple[int, int, float]:
    """Worker: run a chunk and write its shards; return (chunk, worlds, seconds)."""
    root, chunk = task
    start = time.perf_counter()
    runs, resp = simulate(chunk)
    Store(root).write_chunk(chunk.index, runs, resp)
    return chunk.index, chunk.worlds, time.perf_counter() - start


def _ignore_sigint() -> None:
    # Ctrl-C goes to the parent, which stops the pool; workers must not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_workers() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def execute(tasks: Sequence[Any], fn: Any, workers: int) -> Iterable[Any]:
    """Yield fn(task) for each task (in completion order), on `workers` processes."""
    workers = max(1, min(workers, len(tasks)))
    if workers == 1:
        for t in tasks:
            yield fn(t)
        return
    # fork: workers start in milliseconds with the model already imported (spawn re-imports it in
    # each worker, ~1 s); NumPy's and Arrow's thread pools are re-created after fork.
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    pool = ctx.Pool(workers, initializer=_ignore_sigint)
    try:
        yield from pool.imap_unordered(fn, tasks)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _progress(total: int, desc: str, enabled: bool) -> Any:
    """A progress bar with ETA on stderr, only when asked and stderr is a terminal."""
    if not (enabled and sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the `sweep` extra is not installed: run without a bar
        return None
    return tqdm(total=total, desc=desc, unit="runs", unit_scale=True, file=sys.stderr, smoothing=0.1)


def _chunks(params: Sequence[Params], columns: Sequence[dict[str, Any]], chunk_worlds: int) -> list[Chunk]:
    return [
        Chunk(i, tuple(pieces), tuple(params[p.cell] for p in pieces), tuple(columns[p.cell] for p in pieces))
        for i, pieces in enumerate(plan(params, chunk_worlds))
    ]


def prepare(base: Mapping[str, Any], cells: Sequence[Mapping[str, Any]], labels: Mapping[str, Any] | None = None):
    """Validate every cell; return (params per cell, knob columns per cell, knob names).

    Columns hold typed values for the union of the cells' knobs (a knob a cell does not set shows
    the base value), then `labels` (constant columns, e.g. a Hydra job's overrides)."""
    params = [_validated(base, c) for c in cells]
    keys = list(dict.fromkeys([*(k for c in cells for k in c), *(labels or {})]))
    cols = [{k: labels[k] if labels and k in labels and k not in c else knob(p, k) for k in keys} for c, p in zip(cells, params, strict=True)]
    return params, cols, keys


def run_cell(params: Params, cell: Mapping[str, Any], cell_id: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, responses) for one cell, with `cell` and the cell's knobs as leading columns."""
    columns = {k: knob(params, k) for k in cell}
    return simulate(Chunk(0, (Piece(cell_id, 0, params.replicates),), (params,), (columns,)))


def evaluate(
    base: DictConfig, cells: Iterable[Mapping[str, Any]], workers: int = 1, chunk_worlds: int = 50_000
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, responses) over all cells in memory, each with `base.replicates` worlds and seed
    `base.seed`, sorted by cell then replicate. For studies too large for memory use `run_study`."""
    cells = list(cells) or [{}]
    params, cols, _ = prepare(_model_dict(base), cells)
    parts = list(execute(_chunks(params, cols, chunk_worlds), simulate, workers))
    runs = pd.concat([p[0] for p in parts], ignore_index=True)
    resp = pd.concat([p[1] for p in parts], ignore_index=True)
    if len(parts) > 1:
        runs = runs.sort_values(["cell", "replicate"], kind="stable", ignore_index=True)
        resp = resp.sort_values(["cell", "replicate"], kind="stable", ignore_index=True)
    return runs, resp


# ---------------------------------------------------------------------------------------------
# A study: design -> chunks -> store, resumable


def fingerprint(base: Mapping[str, Any], cells: Sequence[Mapping[str, Any]], labels: Mapping[str, Any]) -> str:
    """Identifies what a study computes (model config, cells, labels), not how (workers, chunks)."""
    blob = json.dumps({"model": base, "cells": list(cells), "labels": dict(labels)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _whole(spec: Mapping[str, Any], key: str) -> int:
    """A positive whole-number setting of the sweep section, or a one-line error."""
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"sweep.{key}={value!r}: allowed: a whole number >= 1" + (" or null (all cores)" if key == "workers" else ""))
    return value


def _integer_knobs(base: Mapping[str, Any], keys: Iterable[str]) -> set[str]:
    out = set()
    for key in keys:
        value: Any = base
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, int) and not isinstance(value, bool):
            out.add(key)
    return out


def run_study(cfg: DictConfig, root: Path, labels: Mapping[str, Any] | None = None, drop: Iterable[str] = ()) -> dict[str, Any]:
    """Run (or resume) the study of `cfg.sweep` into the store at `root`; return the session's
    summary. `labels` are constant columns and `drop` grid knobs already fixed (a Hydra -m job)."""
    spec = OmegaConf.to_container(cfg.sweep, resolve=True)
    labels = dict(labels or {})
    spec["grid"] = {k: v for k, v in (spec.get("grid") or {}).items() if k not in set(drop)}
    base = _model_dict(cfg)
    sampled = (spec.get("sample") or {}).get("ranges") or {}
    cells = designs.study_cells(spec, integer=_integer_knobs(base, sampled)) or [{}]
    chunk_worlds = _whole(spec, "chunk_worlds")
    workers = _whole(spec, "workers") if spec.get("workers") is not None else default_workers()
    params, cols, keys = prepare(base, cells, labels)
    fp = fingerprint(base, cells, labels)

    st = Store(root)
    old = st.manifest()
    if spec.get("force"):
        st.clear()
        old = None
    elif old and old.get("fingerprint") != fp:
        raise ConfigError(
            f"sweep.dir={str(root)!r}: holds a study with another config or design; "
            "pass --force (sweep.force=true) to redo it, or set sweep.study to a new name"
        )
    if old:
        chunk_worlds = old["chunk_worlds"]  # resume with the original chunk plan
        st.tidy()
    chunks = _chunks(params, cols, chunk_worlds)
    done = st.done()
    todo = [c for c in chunks if c.index not in done]

    manifest = old or {
        "study": spec["study"],
        "fingerprint": fp,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "design": {"grid": spec["grid"], "sample": spec.get("sample"), "labels": labels, "cells": len(cells)},
        "knobs": keys,
        "replicates": sorted({p.replicates for p in params}),
        "seed": params[0].seed,
        "seeds": "replicate r of every cell uses the stream of (seed, r): common random numbers",
        "runs": sum(p.replicates for p in params),
        "chunk_worlds": chunk_worlds,
        "chunks": len(chunks),
        "provenance": store.provenance(params[0].seed),
        "sessions": [],
    }
    if not old:
        st.root.mkdir(parents=True, exist_ok=True)
        store.write_parquet(root / "cells.parquet", pd.DataFrame({"cell": np.arange(len(cells)), **{k: [c[k] for c in cols] for k in keys}}))
        store.write_text(root / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    workers = max(1, min(workers, len(todo)))
    session = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "workers": workers, "chunks_resumed": len(done)}
    manifest["status"] = "running"
    manifest["sessions"].append(session)
    st.write_manifest(manifest)

    worlds = sum(c.worlds for c in todo)
    bar = _progress(worlds, spec["study"], spec.get("progress", True))
    start = time.perf_counter()
    for _, n, _ in execute([(str(root), c) for c in todo], _run_and_store, workers):
        if bar is not None:
            bar.update(n)
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    complete = len(st.done()) == len(chunks)
    session.update(
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        chunks_run=len(todo),
        runs=worlds,
        seconds=round(seconds, 3),
        runs_per_s=round(worlds / seconds) if seconds > 0 else None,
    )
    manifest["status"] = "complete" if complete else "running"
    st.write_manifest(manifest)
    return {"study": spec["study"], "root": str(root), "cells": len(cells), "chunks": len(chunks), **session}


# ---------------------------------------------------------------------------------------------
# The console script


def _job_labels(cfg: DictConfig) -> dict[str, Any]:
    """A Hydra -m job's own overrides of the model (its cell), as constant columns."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    hc = HydraConfig.get()
    choices, params = hc.runtime.choices, to_params(cfg)
    labels: dict[str, Any] = {}
    for o in OverridesParser.create().parse_overrides(list(hc.overrides.task)):
        key = o.key_or_group
        if key.split(".")[0] in _RUNTIME_KEYS or key in ("launcher", "hydra") or o.is_delete():
            continue
        labels[key] = choices[key] if key in choices else knob(params, key)  # a preset's name, or the typed knob
    return labels


def _figures(root: Path | str) -> list[Path]:
    from aidsim import plots

    return plots.study_figures(root)


@hydra.main(config_path=str(conf_dir()), config_name="sweep", version_base="1.3")
def _sweep(cfg: DictConfig) -> None:
    hc = HydraConfig.get()
    if hc.mode == RunMode.MULTIRUN:  # one job = its overrides' cell (x the study's grid, if any)
        labels = _job_labels(cfg)
        root = Path(hc.runtime.output_dir)
        result = run_study(cfg, root, labels=labels, drop=labels)
    else:
        root = Path(cfg.sweep.dir)
        result = run_study(cfg, root)
    rate = f"{result['runs_per_s']:,} runs/s" if result["runs_per_s"] else "nothing left to run"
    print(
        f"{result['study']}: {result['cells']} cells, {result['runs']:,} runs in {result['seconds']:.1f} s "
        f"({rate}, {result['workers']} workers; {result['chunks_resumed']} of {result['chunks']} chunks were already done)"
    )
    print(f"results: {root}")
    if cfg.sweep.plots and hc.mode != RunMode.MULTIRUN:
        print(f"figures: {root / 'figures'} ({len(_figures(root))} files)")


class FiguresAtEnd(Callback):
    """Hydra callback: after a -m sweep's last job, draw the whole study's figures."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if config.sweep.plots:
            files = _figures(config.sweep.dir)
            print(f"figures: {Path(config.sweep.dir) / 'figures'} ({len(files)} files)")


_FLAGS = {"--force": "sweep.force=true", "--no-progress": "sweep.progress=false"}


def main() -> None:
    """`aidsim-sweep`: a Hydra app; `--force` and `--no-progress` are shorthands for
    `sweep.force=true` and `sweep.progress=false`."""
    sys.argv = [_FLAGS.get(a, a) for a in sys.argv]
    try:
        guarded(_sweep, "aidsim-sweep")()
    except KeyboardInterrupt:
        print("aidsim-sweep: interrupted; finished chunks are kept: run the same command to resume", file=sys.stderr)
        sys.exit(130)
