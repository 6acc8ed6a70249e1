"""The results store of a sweep study, and loading it back.

Layout of `results/sweeps/<study>/` (docs/scaling.md):

    manifest.json            what produced it: resolved config, design, seeds, versions, git
                             commit, chunk plan, status and timings of every session
    config.yaml              the resolved config
    cells.parquet            one row per cell: `cell` and the swept knobs
    runs/chunk-NNNNNN.parquet       the `runs` schema with `cell` + knob columns in front
    responses/chunk-NNNNNN.parquet  the `responses` schema, likewise
    figures/                 aidsim-plot's output
    jobs/<name>/             (Hydra -m only) one such store per job

Every file is written atomically. A chunk is complete when its `runs` shard exists: the
`responses` shard is written first, so a kill between the two leaves an orphan that the next
session removes before redoing the chunk. Shards are plain Parquet with one schema per table, so
`pandas.read_parquet(".../runs")`, `pyarrow.dataset` and DuckDB's
`read_parquet('.../runs/*.parquet')` read a single store directly; `load` also joins Hydra -m jobs.

Writing is atomic (temp + rename): an interrupted run leaves the old file, the new one, or
nothing, never a half-written file. Every results folder carries provenance (`provenance`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from aidsim.model.errors import ConfigError

PACKAGES = (
    "aidsim",
    "mesa",
    "hydra-core",
    "omegaconf",
    "numpy",
    "pandas",
    "pyarrow",
    "pydantic",
    "matplotlib",
    "scipy",
    "SALib",
    "ema-workbench",  # optional (the `analysis` extra): None where not installed
)


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` for a temporary file beside `path`, then rename it onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_parquet(path: Path, df: pd.DataFrame) -> Path:
    return atomic_write(path, lambda p: df.to_parquet(p, index=False))


def git_commit() -> str:
    """The commit of the aidsim checkout, with '-dirty' if it has local changes; 'unknown' outside git."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True, timeout=10)
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(seed: int | None = None, **extra: Any) -> dict[str, Any]:
    """What produced a results folder: seed, versions, commit, machine, command, time."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "seed": seed,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "command": sys.argv,
        "packages": versions,
        **extra,
    }


TABLES = ("responses", "runs")
MANIFEST = "manifest.json"


class Store:
    """One study folder (or one Hydra job's folder inside it)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def manifest(self) -> dict[str, Any] | None:
        """The manifest, or None if this folder has none yet."""
        if not self.manifest_path.is_file():
            return None
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json(self.manifest_path, manifest)

    def shard(self, table: str, chunk: int) -> Path:
        return self.root / table / f"chunk-{chunk:06d}.parquet"

    def shards(self, table: str) -> list[Path]:
        """Complete shards of `table`, in chunk order (orphans of an interrupted chunk excluded)."""
        done = self.done()
        return [self.shard(table, c) for c in sorted(done)]

    def done(self) -> set[int]:
        """Chunks whose results are fully on disk."""
        folder = self.root / "runs"
        if not folder.is_dir():
            return set()
        return {int(p.stem.removeprefix("chunk-")) for p in folder.glob("chunk-*.parquet")}

    def write_chunk(self, chunk: int, runs: pd.DataFrame, responses: pd.DataFrame) -> None:
        """Write one chunk's shards; `runs` last, because its presence marks the chunk complete."""
        write_parquet(self.shard("responses", chunk), responses)
        write_parquet(self.shard("runs", chunk), runs)

    def tidy(self) -> None:
        """Remove what an interrupted session left: temporary files and orphan `responses` shards."""
        done = self.done()
        for table in TABLES:
            folder = self.root / table
            if not folder.is_dir():
                continue
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
            for shard in folder.glob("chunk-*.parquet"):
                if int(shard.stem.removeprefix("chunk-")) not in done:
                    shard.unlink(missing_ok=True)

    def clear(self) -> None:
        """Forget all results here (for --force): shards, cells, figures, manifest."""
        for name in (*TABLES, "figures"):
            shutil.rmtree(self.root / name, ignore_errors=True)
        for name in (MANIFEST, "cells.parquet"):
            (self.root / name).unlink(missing_ok=True)

    def cells(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / "cells.parquet")


def stores(path: Path | str) -> list[Store]:
    """The stores of a study folder: the folder itself, or its Hydra -m jobs (sorted by name)."""
    root = Path(path)
    if (root / MANIFEST).is_file():
        return [Store(root)]
    jobs = sorted(p.parent for p in root.glob(f"jobs/*/{MANIFEST}"))
    if not jobs:
        raise ConfigError(f"{root}: not a sweep results folder (no {MANIFEST}); run aidsim-sweep first")
    return [Store(j) for j in jobs]


def _check_complete(parts: list[Store]) -> None:
    for s in parts:
        m = s.manifest() or {}
        total, done = m.get("chunks", 0), len(s.done())
        if done < total:
            warnings.warn(f"{s.root}: study incomplete ({done} of {total} chunks); rerun the sweep to finish it", stacklevel=3)


def iter_tables(path: Path | str, table: str = "responses", columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """Shard by shard (memory stays flat), with `cell` ids unique across Hydra -m jobs."""
    if table not in TABLES:
        raise ConfigError(f"table={table!r}: allowed: {', '.join(TABLES)}")
    parts = stores(path)
    _check_complete(parts)
    offset = 0
    for s in parts:
        for shard in s.shards(table):
            df = pd.read_parquet(shard, columns=None if columns is None else ["cell", *[c for c in columns if c != "cell"]])
            if offset:
                df["cell"] += offset
            yield df
        offset += len(s.cells())


def cells(path: Path | str) -> pd.DataFrame:
    """One row per cell of a study: `cell` and the knob values (NaN where a job did not set a knob)."""
    parts, offset, out = stores(path), 0, []
    for s in parts:
        c = s.cells()
        out.append(c.assign(cell=c["cell"] + offset))
        offset += len(c)
    return pd.concat(out, ignore_index=True)


def load(path: Path | str, table: str = "responses", columns: list[str] | None = None) -> pd.DataFrame:
    """A whole study as one DataFrame: `table="responses"` (one row per cell, replicate and donor)
    or `"runs"` (one row per cell and replicate), with `cell` and the knob columns in front.
    `columns` reads only those (plus `cell`)."""
    frames = list(iter_tables(path, table, columns))
    if not frames:
        raise ConfigError(f"{path}: no finished chunks yet; run or resume the sweep")
    return pd.concat(frames, ignore_index=True)
