"""A study: design -> chunks -> store, resumable (the engine behind `aidsim-sweep`)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from aidsim.model.errors import ConfigError
from aidsim.runs import designs, store
from aidsim.runs.batch import default_workers, execute, make_chunks, prepare, progress_bar, run_and_store
from aidsim.runs.cells import model_dict
from aidsim.runs.store import Store


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
    base = model_dict(cfg)
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
    chunks = make_chunks(params, cols, chunk_worlds)
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
    bar = progress_bar(worlds, spec["study"], spec.get("progress", True))
    start = time.perf_counter()
    for _, n, _ in execute([(str(root), c) for c in todo], run_and_store, workers):
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
