"""Memory bounds checked before allocating: a too-large `replicates` or `sweep.sample.n` is refused
in one line with the estimate, instead of a MemoryError (or the OOM killer) a minute later."""

from __future__ import annotations

import os

from aidsim.model.errors import ConfigError

BYTES_PER_CELL = 2_000
"""Parent-side cost of one sweep cell (its columns, its share of the design, the plan and
cells.parquet), with headroom over what `python experiments/benchmark_cells.py` measures
(`bytes_per_cell`)."""

BYTES_PER_WORLD_DAY = 1_000
"""A recorded `aidsim` run keeps per-world, per-day history of need, offers and responses for every
donor (~0.6 KB per world-day measured at 1,000 worlds x 60 days), plus headroom."""

BYTES_PER_WORLD = 2_500
"""One world of a batch run without history (a sweep's chunk, an analysis's points) with its rows
of the two tables: a 1,000,000-world chunk measured 1.26 GB of resident memory, plus headroom."""

SAFETY = 0.8  # use at most this share of the memory available now


def available() -> int:
    """Bytes of memory available to this process now (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def check(need: float, what: str, hint: str) -> None:
    """Refuse (one line) if `need` bytes exceed the share of memory available."""
    have = available() * SAFETY
    if need > have:
        raise ConfigError(f"{what}: needs about {_gb(need)} of memory, {_gb(have)} is available; {hint}")


def check_cells(n: int, what: str) -> None:
    check(n * BYTES_PER_CELL, f"{what}={n:,} cells", "use fewer cells, or split the study over Hydra -m jobs")


def check_worlds(replicates: int, days: int) -> None:
    check(
        replicates * (days + 1) * BYTES_PER_WORLD_DAY,
        f"replicates={replicates:,} x horizon_days={days}",
        "use fewer worlds, or aidsim-sweep (it runs them in chunks)",
    )


def check_batch(worlds: int, what: str, hint: str) -> None:
    """Refuse (one line) a batch of `worlds` worlds at once (summed over the processes that hold
    one each) that would not fit."""
    check(worlds * BYTES_PER_WORLD, what, hint)
