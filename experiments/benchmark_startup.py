"""Benchmark: how long the console scripts take to start, and what they import on the way.

    python experiments/benchmark_startup.py              # 5 repeats of each command
    python experiments/benchmark_startup.py --repeats 3

For each command: the median wall time and the median CPU time (user + system, of the command and
every process it waited for) over the repeats. On a shared machine the wall time grows with the
load and the CPU time much less (shared caches: here 15% more at load 4 than at 1 on 2 cores), so both are
printed with the load average; compare CPU times measured under the same load. On an idle machine
a command's wall time is close to its CPU time.

Then `python -X importtime`: which heavy packages (Mesa, matplotlib, pandas, pyarrow, scipy, SALib,
optuna) each command imports and how long importing each takes (`heavy_imports`; the figures
overlap where one package imports another). `--help` must import none of them; a bad key only Hydra
(whose grammar parses the override) and pydantic (the schema it is checked against), none of the
model's (tests/test_startup.py checks both).
The targets (issue 11, section 3): `aidsim --help` under 1 s, the default run under 3 s.
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
type ImportNode = tuple[int, str, float, list[ImportNode]]
"""One line of `-X importtime`: (indentation, module, cumulative s, the imports it made)."""
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
    """Heavy packages imported by a command, with the cumulative time in s of importing each (from
    `python -X importtime`): the sum over the imports of its modules not made from inside another
    of its modules, so that `matplotlib.figure` and `matplotlib.axes`, imported by aidsim itself,
    both count as matplotlib. The figures overlap: mesa's includes the pandas and scipy it imports."""
    proc = subprocess.run([sys.executable, "-X", "importtime", str(BIN / argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True)
    # importtime lists a module after the modules it imported, indented one level deeper: rebuild the tree
    pending: list[ImportNode] = []  # imports whose importer is still to come
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)$", line)
        if m:
            depth = len(m.group(2))
            children = [node for node in pending if node[0] > depth]
            pending = [node for node in pending if node[0] <= depth] + [(depth, m.group(3), int(m.group(1)) / 1e6, children)]
    found: dict[str, float] = {}

    def visit(node: ImportNode, inside: frozenset[str]) -> None:
        package = node[1].split(".")[0]
        if package in HEAVY and package not in inside:
            found[package] = found.get(package, 0.0) + node[2]
        for child in node[3]:
            visit(child, inside | {package})

    for node in pending:
        visit(node, frozenset())
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
