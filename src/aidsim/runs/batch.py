"""The sweep engine: many parameter cells, each over many replicate worlds, fast and resumable.

A cell is a dict of dotted knobs on a base config ({"tension.inter_korean": 0.2, ...}). Replicate
r of every cell uses the same random stream (common random numbers), so differences between
cells come from the parameters, not from luck.

Speed comes from batching: cells are packed into chunks of about `sweep.chunk_worlds` worlds and
each chunk runs as ONE model whose differing knobs are per-world arrays (the rules broadcast;
see `STACKABLE`). A world's results depend only on (seed, replicate, parameters), so the tables
are the same whatever the chunking, the number of workers or the launcher. Each worker writes
its chunk's shards itself, so memory stays flat however many runs a study has (store.py), and the
parent keeps the cells as columns and makes each chunk when it is handed out, so it grows by
little per cell (cells.py).
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, overload

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from aidsim.model.model import AidModel
from aidsim.model.params import Params
from aidsim.runs import tables
from aidsim.runs.cells import Cells, Chunk, knob, model_dict, validate_cells
from aidsim.runs.store import Store
from aidsim.runs.workers import execute


def simulate(chunk: Chunk) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, responses) of one chunk, with `cell` and the knob columns in front."""
    n = chunk.hi - chunk.lo
    ids = np.tile(np.arange(chunk.lo, chunk.hi), len(chunk.cells))
    model = AidModel(chunk.stacked(), replicates=ids, record=False).run()
    lead = {"cell": np.repeat(chunk.cells.astype(np.int64), n)}
    for key, values in chunk.columns.items():
        lead[key] = np.repeat(values, n)
    return tables.runs(model, lead), tables.responses(model, lead)


def run_and_store(task: tuple[str, Chunk]) -> tuple[int, int, dict[str, float], dict[str, Any]]:
    """Worker: run a chunk and write its shards; return (chunk, worlds, usage, shard records).

    `usage`: the chunk's wall seconds, this worker's CPU seconds in it and the worker's peak
    resident memory so far (MB). A forkserver worker is not a child of the command, whose own
    resource usage therefore cannot count it."""
    import resource

    root, chunk = task
    start, cpu = time.perf_counter(), time.process_time()
    runs, resp = simulate(chunk)
    record = Store(root).write_chunk(
        chunk.index, runs, resp, plain=tables.DISTINCT, keys=("cell", *chunk.columns, *tables.KEYS), nullable=(*chunk.columns, *tables.NULLABLE)
    )
    usage = {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux reports KB
    }
    return chunk.index, chunk.worlds, usage, record


def progress_bar(total: int, desc: str, enabled: bool) -> Any:
    """A progress bar with ETA on stderr, only when asked and stderr is a terminal."""
    if not (enabled and sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the `sweep` extra is not installed: run without a bar
        return None
    try:  # a terminal that reports no width (`script`, `docker exec`, some CI runners) would get an empty bar
        width = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        width = 0
    return tqdm(total=total, desc=desc, unit="runs", unit_scale=True, file=sys.stderr, smoothing=0.1, ncols=None if width > 0 else 80)


class Lazy(Sequence[Any]):
    """`n` items made by `make(i)` when read: a study's chunks (each holding its cells' columns
    and Params) are never all in memory at once."""

    def __init__(self, n: int, make: Callable[[int], Any]):
        self.n, self.make = n, make

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Any]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.n))]
        if not -self.n <= i < self.n:
            raise IndexError(i)
        return self.make(i % self.n)


def prepare(base: Mapping[str, Any], cells: Iterable[Mapping[str, Any]], labels: Mapping[str, Any] | None = None) -> Cells:
    """Validate every cell into columns (`cells.validate_cells`)."""
    return validate_cells(base, cells, labels)


def run_cell(params: Params, cell: Mapping[str, Any], cell_id: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, responses) for one cell, with `cell` and the cell's knobs as leading columns."""
    columns = {k: np.asarray([knob(params, k)]) for k in cell}
    return simulate(Chunk(0, params, np.array([cell_id]), 0, params.replicates, columns, {}))


@functools.cache
def default_chunk_worlds() -> int:
    """`sweep.chunk_worlds` of conf/sweep.yaml: the batch size a study uses unless told otherwise."""
    from aidsim.model.config import compose

    return int(compose([], config_name="sweep").sweep.chunk_worlds)


def evaluate(base: DictConfig, cells: Iterable[Mapping[str, Any]], workers: int = 1, chunk_worlds: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, responses) over all cells in memory, each with `base.replicates` worlds and seed
    `base.seed`, sorted by cell then replicate; `chunk_worlds` defaults to the sweeps' own
    (`default_chunk_worlds`). For studies too large for memory use `run_study`."""
    design = prepare(model_dict(base), list(cells) or [{}])
    plan = design.plan(chunk_worlds or default_chunk_worlds())
    parts = list(execute(Lazy(len(plan), functools.partial(design.chunk, plan)), simulate, workers))
    runs = pd.concat([p[0] for p in parts], ignore_index=True)
    resp = pd.concat([p[1] for p in parts], ignore_index=True)
    if len(parts) > 1:
        runs = runs.sort_values(["cell", "replicate"], kind="stable", ignore_index=True)
        resp = resp.sort_values(["cell", "replicate"], kind="stable", ignore_index=True)
    return runs, resp
