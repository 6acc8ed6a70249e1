"""Benchmark: aidsim-sweep's engine against mesa.batch_run on the same grid of the same model.

    python experiments/benchmark_sweep.py                # ~1,000,000 aidsim runs, 242 batch_run runs
    python experiments/benchmark_sweep.py --aidsim-replicates 1000 --batch-replicates 5   # quicker

The grid is the tension_x_severity study (11 x 11 cells, default 60-day 2024 model).
(a) aidsim: `study.run_study`, everything aidsim-sweep does except drawing: stacked batches on all
    cores, Parquet shards written to results/benchmark/, manifest. Peak RSS is the largest of this
    process and its workers, measured before (b) starts.
(b) mesa.batch_run, one world per run: a Mesa model wrapping AidModel(replicates=[i]) with the
    cell's knobs as scalar parameters and a DataCollector reporting each donor's response, as a
    batch_run user would write it. Params are validated once per cell (cached), which favours
    batch_run. Tried with 1 and 2 processes; the faster counts.
It also measures the arithmetic limit: the vectorised model alone (no tables, no I/O) on one
100,000-world batch, in CPU time, times the number of cores; the engine's CPU time is reported too,
since on a shared machine wall-clock rates depend on the load. Rates in the last line are runs per
wall-clock second, measured in the same run. The last line is machine-readable.
"""

from __future__ import annotations

import argparse
import functools
import resource
import shutil
import time
from pathlib import Path

import mesa
import numpy as np

from aidsim.model.config import compose
from aidsim.model.model import AidModel
from aidsim.model.params import DONORS
from aidsim.runs import batch, designs, study
from aidsim.runs.cells import cell_params, model_dict, stack

OUT = Path("results/benchmark")


def grid() -> list[dict]:
    cfg = compose(["experiment=tension_x_severity"], config_name="sweep")
    return designs.grid_cells(dict(cfg.sweep.grid))


def peak_rss_mb() -> float:
    """Largest resident set of this process or any finished child (workers), in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_aidsim(replicates: int, workers: int | None) -> tuple[int, float]:
    root = OUT / "tension_x_severity"
    shutil.rmtree(root, ignore_errors=True)
    overrides = ["experiment=tension_x_severity", f"replicates={replicates}", f"sweep.dir={root}", "sweep.progress=false", "sweep.plots=false"]
    if workers:
        overrides.append(f"sweep.workers={workers}")
    cfg = compose(overrides, config_name="sweep")
    start = time.perf_counter()
    out = study.run_study(cfg, root)
    return out["runs"], time.perf_counter() - start


def arithmetic_limit(cores: int, worlds: int = 100_000) -> float:
    """Runs/s of the model's array arithmetic alone on one big batch of the grid, times cores."""
    cfg = compose(["experiment=tension_x_severity"], config_name="sweep")
    grid_cells = grid()
    params, cols, _ = batch.prepare(model_dict(cfg), grid_cells)
    per = max(1, worlds // len(grid_cells))
    stacked = stack(params, [per] * len(grid_cells))
    ids = np.tile(np.arange(per), len(grid_cells))
    start = time.process_time()
    AidModel(stacked, replicates=ids, record=False).run()
    return cores * len(ids) / (time.process_time() - start)


@functools.cache
def _base():
    return compose([])


@functools.cache
def _cell_params(severity: float, tension: float):
    # Composed once, validated once per cell: what a careful batch_run user would do.
    return cell_params(_base(), {"flood.severity": severity, "tension.inter_korean": tension})


class OneWorld(mesa.Model):
    """What a batch_run user writes: one replicate world per Mesa model, knobs as arguments."""

    def __init__(self, severity: float = 1.0, tension: float = 0.9, replicate: int = 0, rng=None):
        super().__init__(rng=rng)
        self.world = AidModel(_cell_params(severity, tension), replicates=[replicate], record=False)
        reporters = {"any_accepted": _any_accepted}
        reporters |= {d: functools.partial(_response, donor=d) for d in DONORS}
        self.datacollector = mesa.DataCollector(model_reporters=reporters)

    def step(self) -> None:
        self.world.step()
        self.running = not self.world.done
        if not self.running:
            self.datacollector.collect(self)


def _any_accepted(model: OneWorld) -> bool:
    return any(d.accept_day[0] >= 0 for d in model.world.donors)


def _response(model: OneWorld, donor: str) -> str:
    from aidsim.model.ladder import Response

    return Response(int(model.world.donor(donor).status[0])).label


def run_batch(replicates: int, processes: int) -> tuple[int, float]:
    cells = grid()
    params = {
        "severity": sorted({c["flood.severity"] for c in cells}),
        "tension": sorted({c["tension.inter_korean"] for c in cells}),
        "replicate": range(replicates),
    }
    start = time.perf_counter()
    rows = mesa.batch_run(OneWorld, params, number_processes=processes, rng=[None], max_steps=1000, display_progress=False)
    return len(rows), time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aidsim-replicates", type=int, default=8265, help="worlds per cell for aidsim (8265 x 121 cells ~ 1,000,000 runs)")
    ap.add_argument("--batch-replicates", type=int, default=2, help="worlds per cell for batch_run")
    ap.add_argument("--workers", type=int, default=None, help="aidsim workers (default: all cores)")
    args = ap.parse_args()

    cores = args.workers or batch.default_workers()
    limit = arithmetic_limit(cores)
    cpu0 = cpu_seconds()
    runs_a, secs_a = run_aidsim(args.aidsim_replicates, args.workers)
    cpu_a = cpu_seconds() - cpu0
    rss = peak_rss_mb()
    rate_a = runs_a / secs_a
    print(f"aidsim engine: {runs_a:,} runs in {secs_a:.1f} s = {rate_a:,.0f} runs/s on {cores} cores; peak RSS {rss:.0f} MB")
    print(f"  CPU time {cpu_a:.1f} s = {runs_a / cpu_a:,.0f} runs per CPU-second ({cores * runs_a / cpu_a:,.0f} runs/s if {cores} cores were free)")
    print(
        f"arithmetic limit (model arrays only, no tables or I/O, 100,000-world batch, CPU time x {cores} cores): "
        f"{limit:,.0f} runs/s; the engine reaches {cores * runs_a / cpu_a / limit:.0%} of it per CPU-second"
    )
    rate_b = 0.0
    for processes in (1, 2):
        runs_b, secs_b = run_batch(args.batch_replicates, processes)
        print(f"mesa.batch_run (number_processes={processes}): {runs_b:,} runs in {secs_b:.1f} s = {runs_b / secs_b:,.0f} runs/s")
        rate_b = max(rate_b, runs_b / secs_b)
    print(f"aidsim_runs_per_s={rate_a:.0f} batch_run_runs_per_s={rate_b:.0f} speedup={rate_a / rate_b:.1f} peak_rss_mb={rss:.0f}")


if __name__ == "__main__":
    main()
