"""Counter-based random numbers: one reproducible stream per replicate world.

A world's draws are a pure function of (seed, replicate index, day, slot): the SplitMix64
generator (Steele, Lea & Flood 2014; the seeding mixer of NumPy's SeedSequence and Java) started
from a per-world key. So replicate 37 draws the same numbers whether it runs alone, in a batch of
50 or of 100,000, in one process or in many: a batch only decides which counters are evaluated.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 2.0**-53
_HALF = 0.5 * _TO_UNIT  # centre each cell: draws lie strictly inside (0, 1)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 output function, in place on a uint64 array (wrapping arithmetic)."""
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


class Streams:
    """Uniform draws in (0, 1) for a batch of replicate worlds."""

    def __init__(self, seed: int, replicates: np.ndarray):
        # Array (not scalar) arithmetic: uint64 overflow wraps silently, as SplitMix64 intends.
        s = _mix(np.array([seed], dtype=np.uint64) * _M2 + _GOLDEN)
        reps = np.asarray(replicates, dtype=np.uint64)
        self._world_keys = _mix(reps * _GOLDEN ^ s)

    def uniform(self, day: int, slot: int, idx: np.ndarray | None = None) -> np.ndarray:
        """Uniforms for draw `slot` of `day`, for all worlds or only the worlds `idx`.

        Drawing only where a draw is needed keeps a day's cost proportional to what happens in it.
        """
        keys = self._world_keys if idx is None else self._world_keys[idx]
        counter = np.uint64((((day << 16) + slot + 1) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
        x = _mix(keys + counter)
        x >>= _S11
        u = x.astype(np.float64)  # in place from here on: same arithmetic, fewer temporaries
        u *= _TO_UNIT
        u += _HALF
        return u


def logistic(u: np.ndarray, scale: float | np.ndarray = 1.0) -> np.ndarray:
    """Logistic noise from uniforms in (0, 1) (inverse CDF)."""
    return scale * np.log(u / (1.0 - u))


def lognormal(u: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    """Mean-one lognormal factors from uniforms in (0, 1) (inverse CDF via the normal quantile)."""
    from scipy.special import ndtri

    return np.exp(sigma * ndtri(u) - 0.5 * np.square(sigma))
