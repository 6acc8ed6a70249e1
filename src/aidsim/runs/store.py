"""The results store of a sweep study, and loading it back.

Layout of `results/sweeps/<study>/` (docs/scaling.md):

    manifest.json            what produced it: resolved config, design, seeds, code identity, chunk
                             plan, status, every session, and each shard's row count and checksum
    config.yaml              the resolved config
    cells.parquet            one row per cell: `cell` and the swept knobs
    runs/chunk-NNNNNN.parquet       the `runs` schema with `cell` + knob columns in front
    responses/chunk-NNNNNN.parquet  the `responses` schema, likewise
    figures/                 aidsim-plot's output
    jobs/<name>/             (Hydra -m only) one such store per job
    .lock                    held (flock) by the session writing here; the kernel frees it on exit

A chunk is complete when the manifest records both its shards (row count + SHA-256) and the
files on disk match that record. Workers write the shards (atomically: temp file + rename) and
hand their checksums to the session, which records them; a chunk killed between the two, or a
shard truncated, emptied, flipped or copied over later, fails the check and is redone on the next
run (and refused by `load`). Shards are plain Parquet with one schema per table, so
`pandas.read_parquet(".../runs")`, `pyarrow.dataset` and DuckDB read a single store directly.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aidsim.model.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

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
RESULT_PACKAGES = ("numpy", "mesa", "pydantic")
"""Packages whose version can change a model's numbers: a resume across one of them is refused."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp)` for a temporary file beside `path`, then rename it onto `path`. The file
    gets the user's umask (mkstemp alone would leave it 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, _MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_parquet(
    path: Path, df: pd.DataFrame, plain: tuple[str, ...] = (), keys: tuple[str, ...] | None = None, nullable: tuple[str, ...] | None = None
) -> Path:
    """Write `df` as Parquet; the columns named in `plain` without dictionary encoding, and, if
    `keys` is given, statistics for those columns only (for every column otherwise). If `nullable`
    is given, every other column is written as required (never null): cheaper to encode, and a
    null in one is an error."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False, nthreads=1)  # the caller's process already has a core per worker
    if nullable is not None:
        table = table.cast(pa.schema([f.with_nullable(f.name in nullable) for f in table.schema], metadata=table.schema.metadata))
    dictionary: bool | list[str] = [c for c in df.columns if c not in plain] if plain else True
    statistics: bool | list[str] = True if keys is None else [c for c in df.columns if c in keys]
    return atomic_write(path, lambda p: pq.write_table(table, p, use_dictionary=dictionary, write_statistics=statistics))


def _git(*args: str) -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_commit() -> str:
    """The commit of the aidsim checkout, with '-dirty' if it has local changes; 'unknown' outside git."""
    rev = _git("rev-parse", "HEAD")
    if rev is None:
        return "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return rev.strip() + ("-dirty" if dirty and dirty.strip() else "")


def _versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    return dict(_installed(names))


@functools.cache  # reading package metadata takes tens of ms, and versions do not change under a running process
def _installed(names: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    versions: list[tuple[str, str | None]] = []
    for name in names:
        try:
            versions.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            versions.append((name, None))
    return tuple(versions)


def model_code_hash() -> str:
    """SHA-256 (16 hex) of the source that decides a world's numbers: `aidsim.model` and the
    engine's cells/batch/tables modules. Independent of git, docs and the other tools."""
    pkg = Path(__file__).resolve().parents[1]
    files = sorted((pkg / "model").glob("*.py")) + [pkg / "runs" / f"{m}.py" for m in ("cells", "batch", "tables")]
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(pkg).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def code_identity() -> dict[str, Any]:
    """Which code a session runs: model hash (what a resume must match), the git commit and a
    hash of the uncommitted changes, versions of the packages that shape results, the command."""
    diff = _git("diff", "HEAD")
    return {
        "model_hash": model_code_hash(),
        "git_commit": git_commit(),
        "dirty_hash": hashlib.sha256(diff.encode()).hexdigest()[:16] if diff else None,
        "packages": _versions(RESULT_PACKAGES),
        "argv": list(sys.argv),
    }


def code_change(old: dict[str, Any] | None, new: dict[str, Any]) -> str | None:
    """What differs between two code identities in a way that can change results, or None."""
    if not old:
        return "the study records no code identity (written by an older aidsim)"
    if old.get("model_hash") != new["model_hash"]:
        return f"the model code changed (model hash {old.get('model_hash')} at {old.get('git_commit')}, now {new['model_hash']})"
    for name, version in new["packages"].items():
        if (old.get("packages") or {}).get(name) != version:
            return f"{name} changed ({(old.get('packages') or {}).get(name)} -> {version})"
    return None


def provenance(seed: int | None = None, **extra: Any) -> dict[str, Any]:
    """What produced a results folder: seed, versions, commit, machine, command, time."""
    return {
        "seed": seed,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "command": sys.argv,
        "packages": _versions(),
        **extra,
    }


TABLES = ("responses", "runs")
MANIFEST = "manifest.json"
LOCK = ".lock"
_SHARD = re.compile(r"chunk-(\d{6,})\.parquet")
_OWNED_FILES = (MANIFEST, "cells.parquet", "config.yaml")
FIGURE_NAME = re.compile(r"(p_accepted|most_likely_response|first_acceptance|p_accepted_lines|p_accepted_by_\w+)\.(png|svg|pdf)")
"""The files `report.figures.study_figures` draws into a store's `figures/` (tests/test_plots_sweep.py
keeps the two in step): what --force may delete there, and nothing else."""
_REQUIRED = {"study": str, "fingerprint": str, "chunk_worlds": int, "chunks": int, "sessions": list, "shards": dict, "design": dict}


def file_record(path: Path, rows: int) -> dict[str, Any]:
    """What the manifest keeps of a shard: rows, bytes, SHA-256."""
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return {"rows": int(rows), "bytes": path.stat().st_size, "sha256": digest}


class StoreBusy(ConfigError):
    """Another session holds the store's lock."""


class Store:
    """One study folder (or one Hydra job's folder inside it)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._lock_fd: int | None = None

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def manifest(self) -> dict[str, Any] | None:
        """The manifest, or None if this folder has none yet; a damaged one is a one-line error."""
        if not self.manifest_path.is_file():
            return None
        hint = "; pass --force (sweep.force=true) to redo the study"
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).splitlines()[0]
            raise ConfigError(f"{self.manifest_path}: damaged, not readable JSON ({why}){hint}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{self.manifest_path}: damaged, expected a JSON object{hint}")
        for key, kind in _REQUIRED.items():
            value = data.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ConfigError(f"{self.manifest_path}: damaged, {key}={value!r} is not a valid {kind.__name__}{hint}")
        for key in ("code", "provenance"):
            if key in data and not isinstance(data[key], dict):
                raise ConfigError(f"{self.manifest_path}: damaged, {key}={data[key]!r} is not a valid dict{hint}")
        if data["chunks"] < 1 or data["chunk_worlds"] < 1:
            raise ConfigError(f"{self.manifest_path}: damaged, chunks={data['chunks']} chunk_worlds={data['chunk_worlds']}{hint}")
        return data

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json(self.manifest_path, manifest)

    # -- the lock ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, what: str = "sweep.dir") -> Iterator[None]:
        """Hold the store for this session: a second session gets a one-line refusal. The lock is
        an flock on `.lock`, so the kernel frees it when the holder dies, even by kill -9."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = self._take(os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, _MODE), what)
        os.ftruncate(fd, 0)
        stamp = f"pid {os.getpid()} on {socket.gethostname()}, since {datetime.now(UTC).isoformat(timespec='seconds')}"
        os.pwrite(fd, stamp.encode(), 0)
        self._lock_fd = fd
        try:
            yield
        finally:
            self._lock_fd = None
            os.ftruncate(fd, 0)
            os.close(fd)  # closing releases the flock; the empty file stays (removing it would race)

    def _take(self, fd: int, what: str) -> int:
        """Take the flock on the open `.lock` file `fd`, or close it and refuse in one line."""
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreBusy(f"{what}={str(self.root)!r}: in use by another aidsim-sweep ({holder}); wait for it to finish or stop it") from None
        return fd

    def check_free(self, what: str = "sweep.dir") -> None:
        """Refuse now, in `lock`'s one line, if another session holds the store; make nothing.
        For a command to ask before Hydra writes its records into the store's folder."""
        try:
            fd = os.open(self.root / LOCK, os.O_RDWR)
        except OSError:
            return  # no lock file: no session has ever held it
        os.close(self._take(fd, what))  # closing releases it at once

    # -- shards -----------------------------------------------------------------------------
    def shard(self, table: str, chunk: int) -> Path:
        return self.root / table / f"chunk-{chunk:06d}.parquet"

    def write_chunk(
        self,
        chunk: int,
        runs: pd.DataFrame,
        responses: pd.DataFrame,
        plain: tuple[str, ...] = (),
        keys: tuple[str, ...] | None = None,
        nullable: tuple[str, ...] | None = None,
    ) -> dict[str, Any]:
        """Write one chunk's shards (`runs` last; see `write_parquet` for `plain`, `keys` and
        `nullable`); return their records for the manifest."""
        write_parquet(self.shard("responses", chunk), responses, plain, keys, nullable)
        write_parquet(self.shard("runs", chunk), runs, plain, keys, nullable)
        return {"responses": file_record(self.shard("responses", chunk), len(responses)), "runs": file_record(self.shard("runs", chunk), len(runs))}

    def check_chunk(self, manifest: dict[str, Any], chunk: int) -> str | None:
        """None if both shards of `chunk` match the manifest's record, else what is wrong."""
        record = manifest["shards"].get(str(chunk))
        if not isinstance(record, dict):
            return "not recorded"
        for table in TABLES:
            path, want = self.shard(table, chunk), record.get(table)
            if not isinstance(want, dict):
                return f"{table} not recorded"
            if not path.is_file():
                return f"{path.name} missing"
            if path.stat().st_size != want.get("bytes"):
                return f"{table}/{path.name} has {path.stat().st_size} bytes, the manifest says {want.get('bytes')}"
            if file_record(path, want.get("rows", 0))["sha256"] != want.get("sha256"):
                return f"{table}/{path.name} fails its checksum"
        return None

    def done(self, manifest: dict[str, Any] | None = None) -> set[int]:
        """Chunks whose shards are on disk and match the manifest's record (row count, checksum)."""
        manifest = manifest if manifest is not None else self.manifest()
        if not manifest:
            return set()
        return {c for c in range(manifest["chunks"]) if self.check_chunk(manifest, c) is None}

    def shards(self, table: str, manifest: dict[str, Any] | None = None) -> list[Path]:
        """Verified shards of `table`, in chunk order."""
        return [self.shard(table, c) for c in sorted(self.done(manifest))]

    def tidy(self, manifest: dict[str, Any], done: set[int]) -> None:
        """Before resuming: remove temporary files, and shards of chunks that are not verified
        (orphans of a kill, damaged files), and forget their records."""
        for table in TABLES:
            folder = self.root / table
            if not folder.is_dir():
                continue
            for tmp in folder.glob(".chunk-*.tmp"):
                tmp.unlink(missing_ok=True)
            for shard in folder.glob("chunk-*.parquet"):
                m = _SHARD.fullmatch(shard.name)
                if m and int(m.group(1)) not in done:
                    shard.unlink(missing_ok=True)
        manifest["shards"] = {k: v for k, v in manifest["shards"].items() if k.isdigit() and int(k) in done}

    def owned(self, manifest: dict[str, Any] | None = None) -> list[Path]:
        """The files this store wrote: what --force may delete, nothing else. With a readable
        `manifest`, shards only of the chunks it plans; without one, by the store's layout."""
        chunks = manifest["chunks"] if manifest else None
        out = [self.root / n for n in _OWNED_FILES]
        for table in TABLES:
            folder = self.root / table
            if folder.is_dir():
                for p in folder.iterdir():
                    m = _SHARD.fullmatch(p.name)
                    if (m and (chunks is None or int(m.group(1)) < chunks)) or (p.name.startswith(".chunk-") and p.name.endswith(".tmp")):
                        out.append(p)
        figures = self.root / "figures"
        if figures.is_dir():
            out += [p for p in figures.iterdir() if p.is_file() and FIGURE_NAME.fullmatch(p.name)]
        return [p for p in out if p.is_file()]

    def clear(self, manifest: dict[str, Any] | None = None) -> None:
        """Forget all results here (for --force): only the files `owned` names are deleted, then the
        store's folders if that left them empty."""
        for path in self.owned(manifest):
            path.unlink(missing_ok=True)
        for name in (*TABLES, "figures"):
            with contextlib.suppress(OSError):
                (self.root / name).rmdir()

    def foreign(self) -> list[str]:
        """Entries of a folder without a manifest that aidsim did not write (a non-store folder)."""
        if not self.root.is_dir():
            return []
        # the store's own files come with its manifest: without one, a config.yaml here is the user's
        allowed = {LOCK, ".hydra", ".submitit", *TABLES, "figures"}
        return sorted(p.name for p in self.root.iterdir() if p.name not in allowed and not p.name.endswith(".log"))

    def cells(self) -> pd.DataFrame:
        import pandas as pd

        try:
            return pd.read_parquet(self.root / "cells.parquet")
        except Exception as exc:  # Arrow raises several kinds for a damaged file
            raise ConfigError(f"{self.root / 'cells.parquet'}: missing or damaged ({type(exc).__name__}); rerun the sweep to make it again") from exc


def stores(path: Path | str) -> list[Store]:
    """The stores of a study folder: the folder itself, or its Hydra -m jobs (sorted by name)."""
    root = Path(path)
    if (root / MANIFEST).is_file():
        return [Store(root)]
    jobs = sorted(p.parent for p in root.glob(f"jobs/*/{MANIFEST}"))
    if not jobs:
        raise ConfigError(f"{root}: not a sweep results folder (no {MANIFEST}); run aidsim-sweep first")
    return [Store(j) for j in jobs]


_warned: set[str] = set()


def _rows(record: Any) -> int:
    """The `runs` rows a chunk's manifest record gives (0 if it gives none)."""
    rows = (record.get("runs") or {}).get("rows") if isinstance(record, dict) else None
    return rows if isinstance(rows, int) and not isinstance(rows, bool) else 0


def _verified(parts: list[Store]) -> list[tuple[Store, dict[str, Any], list[int]]]:
    out = []
    for s in parts:
        m = s.manifest() or {}
        done = sorted(s.done(m))
        if done and len(done) == m.get("chunks") and isinstance(m.get("runs"), int):
            held = sum(_rows(m["shards"][str(c)]) for c in done)
            if held != m["runs"]:  # a hand-edited chunk count: its chunks hold only part of the design
                raise ConfigError(f"{s.manifest_path}: damaged, its chunks hold {held:,} runs of the design's {m['runs']:,}; rerun the sweep with --force")
        bad = [(c, s.check_chunk(m, c)) for c in range(m.get("chunks", 0)) if c not in done and str(c) in m.get("shards", {})]
        if len(done) < m.get("chunks", 0):
            damaged = f"; {len(bad)} damaged and left out (chunk {bad[0][0]}: {bad[0][1]})" if bad else ""
            said = f"{s.root}: study incomplete ({len(done)} of {m['chunks']} chunks{damaged}); rerun the sweep to finish it"
            if said not in _warned:  # a reader that loads both tables is told once
                _warned.add(said)
                warnings.warn(said, stacklevel=4)
        out.append((s, m, done))
    return out


def iter_tables(path: Path | str, table: str = "responses", columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """Shard by shard (memory stays flat), verified against the manifest, with `cell` ids unique
    across Hydra -m jobs."""
    import pandas as pd

    if table not in TABLES:
        raise ConfigError(f"table={table!r}: allowed: {', '.join(TABLES)}")
    offset = 0
    for s, _m, done in _verified(stores(path)):
        for c in done:
            df = pd.read_parquet(s.shard(table, c), columns=None if columns is None else ["cell", *[c for c in columns if c != "cell"]])
            if offset:
                df["cell"] += offset
            yield df
        offset += len(s.cells())


def cells(path: Path | str) -> pd.DataFrame:
    """One row per cell of a study: `cell` and the knob values (NaN where a job did not set a knob)."""
    import pandas as pd

    parts, offset, out = stores(path), 0, []
    for s in parts:
        c = s.cells()
        out.append(c.assign(cell=c["cell"] + offset))
        offset += len(c)
    return pd.concat(out, ignore_index=True)


def load(path: Path | str, table: str = "responses", columns: list[str] | None = None) -> pd.DataFrame:
    """A whole study as one DataFrame: `table="responses"` (one row per cell, replicate and donor)
    or `"runs"` (one row per cell and replicate), with `cell` and the knob columns in front.
    `columns` reads only those (plus `cell`). Every shard is checked against the manifest."""
    import pandas as pd

    frames = list(iter_tables(path, table, columns))
    if not frames:
        raise ConfigError(f"{path}: no finished chunks yet; run or resume the sweep")
    return pd.concat(frames, ignore_index=True)
