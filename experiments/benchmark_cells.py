"""Benchmark: peak memory and set-up time of a sweep against its number of cells (issue 11, section 5).

    python experiments/benchmark_cells.py                       # 1,000, 10,000 and 100,000 cells
    python experiments/benchmark_cells.py --cells 1000 20000    # other sizes (the first is the baseline)

Each size runs `study.run_study` in a fresh process (peak RSS is a per-process high-water mark) on a
Latin hypercube over the politics_lhs knobs with `--replicates` worlds per cell (default 2, so the
cells, not the worlds, dominate), one worker in-process so the peak covers everything the engine
holds. Set-up is the study's wall time minus the time its session spent running chunks: the design,
validating the cells, planning the chunks, the fingerprint and cells.parquet. Memory per cell is
the growth of the peak RSS from the smallest to the largest size, divided by the added cells; the
model's own batch is the same at every size and cancels out.
Memory does not depend on the machine's load; times do, so compare times measured in one run.
The last line is machine-readable.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(cells: int, replicates: int, chunk_worlds: int, root: Path) -> dict[str, float]:
    """Run one study of `cells` cells in this process; its set-up time, run time and peak RSS."""
    from aidsim.model.config import compose
    from aidsim.runs import study

    overrides = [
        "experiment=politics_lhs",
        f"sweep.sample.n={cells}",
        f"replicates={replicates}",
        f"sweep.dir={root}",
        f"sweep.chunk_worlds={chunk_worlds}",
        "sweep.workers=1",
        "sweep.progress=false",
        "sweep.plots=false",
    ]
    cfg = compose(overrides, config_name="sweep")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    out = study.run_study(cfg, root)
    total = time.perf_counter() - start
    return {
        "cells": out["cells"],
        "runs": out["runs"],
        "setup_s": total - out["seconds"],
        "run_s": out["seconds"],
        "rss_before_mb": before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(cells: int, replicates: int, chunk_worlds: int) -> dict[str, float]:
    """`child` in a fresh interpreter, on a temporary store."""
    tmp = Path(tempfile.mkdtemp(prefix="aidsim-cells-"))
    try:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            str(cells),
            "--replicates",
            str(replicates),
            "--chunk-worlds",
            str(chunk_worlds),
            "--root",
            str(tmp / "study"),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"{cells:,} cells failed:\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", type=int, nargs="+", default=[1_000, 10_000, 100_000], help="study sizes in cells (smallest first)")
    ap.add_argument("--replicates", type=int, default=2, help="worlds per cell")
    ap.add_argument("--chunk-worlds", type=int, help="worlds per chunk (default: the smallest study's worlds, so every size runs batches of one size)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.replicates, args.chunk_worlds, args.root)))
        return

    sizes = sorted(args.cells)
    chunk_worlds = args.chunk_worlds or sizes[0] * args.replicates
    rows = []
    for n in sizes:
        r = measure(n, args.replicates, chunk_worlds)
        rows.append(r)
        print(
            f"{n:>9,} cells x {args.replicates} worlds, chunks of {chunk_worlds:,}: set-up {r['setup_s']:6.2f} s ({1e6 * r['setup_s'] / n:5.0f} us/cell), "
            f"runs {r['run_s']:6.2f} s, peak RSS {r['peak_rss_mb']:7.0f} MB (after imports {r['rss_before_mb']:.0f} MB)",
            flush=True,
        )
    small, big = rows[0], rows[-1]
    per_cell = (big["peak_rss_mb"] - small["peak_rss_mb"]) * 1024 * 1024 / max(1, big["cells"] - small["cells"])
    print(f"memory per cell (peak RSS growth from {small['cells']:,} to {big['cells']:,} cells): {per_cell / 1024:.2f} KB")
    print(f"cells={big['cells']} bytes_per_cell={per_cell:.0f} setup_s={big['setup_s']:.2f} peak_rss_mb={big['peak_rss_mb']:.0f}")


if __name__ == "__main__":
    main()
