"""A study: design -> chunks -> store, resumable (the engine behind `aidsim-sweep`).

A session takes the store's lock, checks that what is on disk belongs to this study and this
model code, redoes any chunk whose shards do not match their recorded checksums, and records each
finished chunk's shards in the manifest as the workers hand them back.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from aidsim.model.errors import ConfigError
from aidsim.runs import designs, resources, store
from aidsim.runs.batch import Lazy, prepare, progress_bar, run_and_store
from aidsim.runs.cells import BLOCK, Cells, inferable, model_dict, plan_worlds
from aidsim.runs.settings import SweepSettings
from aidsim.runs.store import Store
from aidsim.runs.workers import default_workers, execute

if TYPE_CHECKING:
    import numpy as np

MANIFEST_EVERY_S = 1.0
"""How often a running session saves the manifest (and at the end): a kill -9 loses the records
of at most this long, and those chunks are redone."""


def fingerprint(base: Mapping[str, Any], cells: Iterable[Mapping[str, Any]], labels: Mapping[str, Any]) -> str:
    """Identifies what a study computes (model config, cells, labels), not how (workers, chunks).

    The hash of `json.dumps({"model": base, "cells": [...], "labels": labels}, sort_keys=True)`,
    fed a block of cells at a time so they are never all in memory, and equal to it (older
    stores' fingerprints still match)."""
    dumps = functools.partial(json.dumps, sort_keys=True, default=str)
    h = hashlib.sha256(b'{"cells": [')
    it, sep = iter(cells), ""
    while block := list(itertools.islice(it, BLOCK)):
        h.update((sep + dumps(block)[1:-1]).encode())  # the list's items, as in the whole list
        sep = ", "
    h.update(f'], "labels": {dumps(dict(labels))}, "model": {dumps(base)}}}'.encode())
    return h.hexdigest()[:16]


def integer_knobs(cfg: DictConfig | Mapping[str, Any], keys: Iterable[str]) -> set[str]:
    """The dotted keys whose value in the config is a whole number (sampled values get rounded)."""
    conf = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(dict(cfg))
    out = set()
    for key in keys:
        value = OmegaConf.select(conf, key, default=None)
        if isinstance(value, int) and not isinstance(value, bool):
            out.add(key)
    return out


def _cell_count(spec: SweepSettings) -> int:
    grid = spec.grid or {}
    n = math.prod(len(v) if isinstance(v, list) else 1 for v in grid.values())
    sample = spec.sample or {}
    size = sample.get("n", 1) if isinstance(sample.get("n", 1), int) else 1
    return n * max(1, size)


def _check_folder(st: Store, old: dict[str, Any] | None) -> None:
    if old is None and st.foreign():
        raise ConfigError(f"sweep.dir={str(st.root)!r}: exists and is not a sweep store (holds {', '.join(st.foreign()[:3])}); choose an empty or new folder")


def run_study(cfg: DictConfig, root: Path, labels: Mapping[str, Any] | None = None, drop: Iterable[str] = ()) -> dict[str, Any]:
    """Run (or resume) the study of `cfg.sweep` into the store at `root`; return the session's
    summary. `labels` are constant columns and `drop` grid knobs already fixed (a Hydra -m job)."""
    settings = SweepSettings.from_config(cfg.sweep)
    labels = dict(labels or {})
    settings.grid = {k: v for k, v in (settings.grid or {}).items() if k not in set(drop)}
    resources.check_cells(_cell_count(settings), "sweep.grid x sweep.sample.n")
    spec = settings.model_dump()
    base = model_dict(cfg)
    sampled = (spec.get("sample") or {}).get("ranges") or {}
    cells = designs.study_design(spec, integer=integer_knobs(cfg, sampled if isinstance(sampled, Mapping) else {}))
    chunk_worlds = settings.chunk_worlds
    workers = settings.workers or default_workers()
    design = prepare(base, cells, labels)
    fp = fingerprint(base, cells, labels)
    code = store.code_identity()

    root = Path(root)
    existed = root.exists()
    st = Store(root)
    try:
        with st.lock():
            return _session(cfg, st, settings, spec, design, labels, fp, code, chunk_worlds, workers)
    except ConfigError:
        if not existed:  # a refused run leaves no folder behind
            _remove_if_empty(root)
        raise


def _check_memory(plan: np.ndarray, chunk_worlds: int, workers: int) -> None:
    """Refuse (one line) chunks that would not fit in memory, each worker holding one at a time."""
    n = max(1, min(workers, len(plan)))
    resources.check_batch(
        n * (int(plan_worlds(plan).max()) if len(plan) else 0),
        f"sweep.chunk_worlds={chunk_worlds:,} x sweep.workers={n}",
        "set sweep.chunk_worlds lower (chunks of that many worlds are held in memory by each worker), or sweep.workers",
    )


def _remove_if_empty(root: Path) -> None:
    try:
        (root / store.LOCK).unlink(missing_ok=True)
        root.rmdir()
    except OSError:
        pass


def _session(
    cfg: DictConfig,
    st: Store,
    settings: SweepSettings,
    spec: dict[str, Any],
    design: Cells,
    labels: dict[str, Any],
    fp: str,
    code: dict[str, Any],
    chunk_worlds: int,
    workers: int,
) -> dict[str, Any]:
    root = st.root
    if settings.force:
        try:
            old = st.manifest()
        except ConfigError:
            old = {}  # damaged: --force may still clear the store's own files
        if old is None:
            _check_folder(st, None)
        _check_memory(design.plan(chunk_worlds), chunk_worlds, workers)  # before anything is deleted
        st.clear(old or None)
        old = None
    else:
        old = st.manifest()
        _check_folder(st, old)
    if old is not None:
        if old.get("fingerprint") != fp:
            raise ConfigError(
                f"sweep.dir={str(root)!r}: holds a study with another config or design; "
                "pass --force (sweep.force=true) to redo it, or set sweep.study to a new name"
            )
        changed = store.code_change(old.get("code"), code)
        if changed:
            raise ConfigError(
                f"sweep.dir={str(root)!r}: {changed} since this study was started; finishing it would mix model versions: pass --force to redo it"
            )
        chunk_worlds = old["chunk_worlds"]  # resume with the original chunk plan
    plan = design.plan(chunk_worlds)
    if not settings.force:
        _check_memory(plan, chunk_worlds, workers)
    chunks = Lazy(len(plan), functools.partial(design.chunk, plan))
    if old is not None and old["chunks"] != len(chunks):
        raise ConfigError(f"{st.manifest_path}: damaged, it plans {old['chunks']} chunks but the design makes {len(chunks)}; pass --force to redo the study")
    done = st.done(old) if old is not None else set()
    if old is not None:
        st.tidy(old, done)
    todo = [i for i in range(len(chunks)) if i not in done]

    manifest = old or {
        "study": spec["study"],
        "fingerprint": fp,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "design": {"grid": spec["grid"], "sample": spec.get("sample"), "labels": labels, "cells": len(design)},
        "knobs": design.keys,
        "replicates": sorted({p.replicates for p in design.params}),
        "seed": design.params[0].seed,
        "seeds": "replicate r of every cell uses the stream of (seed, r): common random numbers",
        "runs": design.runs,
        "chunk_worlds": chunk_worlds,
        "chunks": len(chunks),
        "code": code,
        "provenance": store.provenance(design.params[0].seed),
        "sessions": [],
        "shards": {},
    }
    workers = max(1, min(workers, len(todo)))
    session: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "workers": workers, "chunks_resumed": len(done), "code": code}
    manifest["status"] = "running"
    manifest["sessions"].append(session)
    st.write_manifest(manifest)  # first: a folder holding the store's files has a manifest that says so
    # the cells and config, in every session: the design fixes them, and one lost or damaged is made again
    import numpy as np
    import pandas as pd

    columns = {k: inferable(v) for k, v in design.columns.items()}
    store.write_parquet(root / "cells.parquet", pd.DataFrame({"cell": np.arange(len(design)), **columns}))
    store.write_text(root / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))

    worlds = int(plan_worlds(plan)[todo].sum())
    bar = progress_bar(worlds, spec["study"], settings.progress)
    start = last = time.perf_counter()
    ran, cpu, rss = 0, 0.0, 0.0
    tasks = Lazy(len(todo), lambda j: (str(root), chunks[todo[j]]))
    try:
        for index, n, usage, record in execute(tasks, run_and_store, workers):
            manifest["shards"][str(index)] = record
            ran += n
            cpu, rss = cpu + usage["cpu_seconds"], max(rss, usage["peak_rss_mb"])
            if bar is not None:
                bar.update(n)
            if time.perf_counter() - last > MANIFEST_EVERY_S:
                st.write_manifest(manifest)
                last = time.perf_counter()
    except BaseException:
        session.update(finished=datetime.now(UTC).isoformat(timespec="seconds"), interrupted=True, runs=ran)
        manifest["status"] = "interrupted"
        st.write_manifest(manifest)
        raise
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    complete = len(manifest["shards"]) == len(chunks)
    session.update(
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        chunks_run=len(todo),
        runs=worlds,
        seconds=round(seconds, 3),
        runs_per_s=round(worlds / seconds) if seconds > 0 else None,
        cpu_seconds=round(cpu, 3),  # the workers' CPU time in their chunks: runs per CPU-second, whatever else shares the machine
        worker_peak_rss_mb=round(rss),
    )
    manifest["status"] = "complete" if complete else "running"
    st.write_manifest(manifest)
    return {"study": spec["study"], "root": str(root), "cells": len(design), "chunks": len(chunks), **{k: v for k, v in session.items() if k != "code"}}
