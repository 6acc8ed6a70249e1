"""Benchmark: how long the console scripts take to start, and what they import on the way.

    python experiments/benchmark_startup.py              # 5 repeats of each command
    python experiments/benchmark_startup.py --repeats 3

For each command: the median wall time and the median CPU time (user + system, of the command and
every process it waited for) over the repeats. On a shared machine the wall time grows with the
load while the CPU time barely does, so both are printed with the load average; on an idle machine a
command's wall time is close to its CPU time.

Then `python -X importtime`: which heavy packages (Mesa, matplotlib, pandas, pyarrow, scipy, SALib,
optuna) each command imports and their cumulative import time. `--help` and a bad key must import
none of them. The targets (issue 11, section 3): `aidsim --help` under 1 s, the default run under 3 s.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
HEAVY = ("mesa", "matplotlib", "pandas", "pyarrow", "scipy", "SALib", "optuna", "hydra", "pydantic", "numpy")


def commands(tmp: Path) -> list[tuple[str, list[str]]]:
    run_dir = tmp / "run"
    return [
        ("aidsim --help", ["aidsim", "--help"]),
        ("aidsim-sweep --help", ["aidsim-sweep", "--help"]),
        ("aidsim-plot --help", ["aidsim-plot", "--help"]),
        ("aidsim flood.severityy=1 (bad key)", ["aidsim", "flood.severityy=1", f"hydra.run.dir={run_dir}"]),
        ("aidsim replicates=true (bad value)", ["aidsim", "replicates=true", f"hydra.run.dir={run_dir}"]),
        ("aidsim (default run, 1,000 worlds)", ["aidsim", f"hydra.run.dir={run_dir}", "output.overwrite=true"]),
        ("aidsim output.figures=false", ["aidsim", f"hydra.run.dir={run_dir}", "output.overwrite=true", "output.figures=false"]),
    ]


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """(wall s, CPU s, exit code) of one run."""
    cpu0, t0 = children_cpu(), time.perf_counter()
    proc = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t0, children_cpu() - cpu0, proc.returncode


def heavy_imports(argv: list[str], cwd: Path) -> dict[str, float]:
    """Top-level heavy packages imported by a command, with their cumulative import time in s
    (from `python -X importtime`; the largest figure when a package shows up in two processes)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", str(BIN / argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True)
    found: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if m and m.group(2) in HEAVY:
            found[m.group(2)] = max(found.get(m.group(2), 0.0), int(m.group(1)) / 1e6)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    load0 = os.getloadavg()[0]
    print(f"{cores} cores, load average {load0:.1f} at the start ({'a shared, busy machine' if load0 > 0.5 * cores else 'otherwise idle'})")
    results = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name, argv in commands(tmp):
            timed(argv, tmp)  # warm the file cache and .pyc files
            runs = [timed(argv, tmp) for _ in range(args.repeats)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            codes = sorted({r[2] for r in runs})
            heavy = heavy_imports(argv, tmp)
            results[name] = (wall, cpu)
            imported = ", ".join(f"{k} {v:.2f}" for k, v in sorted(heavy.items(), key=lambda kv: -kv[1])) or "none"
            print(f"{name:<38} wall {wall:5.2f} s  CPU {cpu:5.2f} s  exit {codes}  heavy imports (cumulative s): {imported}")
    load1 = os.getloadavg()[0]
    print(f"load average {load1:.1f} at the end; medians of {args.repeats} runs each")
    help_wall, help_cpu = results["aidsim --help"]
    run_wall, run_cpu = results["aidsim (default run, 1,000 worlds)"]
    print(
        f"aidsim_help_s={help_wall:.2f} aidsim_help_cpu_s={help_cpu:.2f} aidsim_run_s={run_wall:.2f} aidsim_run_cpu_s={run_cpu:.2f} "
        f"load_average={max(load0, load1):.1f} cores={cores}"
    )


if __name__ == "__main__":
    main()
