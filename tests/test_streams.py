"""The counter-based random streams: uniform, independent of batch, different across seeds."""

from __future__ import annotations

import numpy as np

from aidsim.model.streams import Streams, logistic, lognormal


def test_draws_depend_only_on_seed_replicate_day_and_slot():
    a = Streams(11, np.arange(1000)).uniform(5, 3)
    b = Streams(11, np.array([999, 5, 0])).uniform(5, 3)
    np.testing.assert_array_equal(b, a[[999, 5, 0]])
    sub = Streams(11, np.arange(1000)).uniform(5, 3, idx=np.array([7, 8]))
    np.testing.assert_array_equal(sub, a[[7, 8]])


def test_uniforms_are_uniform_and_inside_the_open_interval():
    u = np.concatenate([Streams(1, np.arange(20_000)).uniform(d, s) for d in range(3) for s in range(3)])
    assert u.min() > 0.0 and u.max() < 1.0
    counts, _ = np.histogram(u, bins=20, range=(0, 1))
    expected = len(u) / 20
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 43.8  # 99.9th percentile of chi-square with 19 degrees of freedom


def test_slots_days_and_seeds_are_uncorrelated():
    s = Streams(1, np.arange(50_000))
    pairs = [(s.uniform(1, 0), s.uniform(1, 1)), (s.uniform(1, 0), s.uniform(2, 0)), (s.uniform(1, 0), Streams(2, np.arange(50_000)).uniform(1, 0))]
    for x, y in pairs:
        assert abs(np.corrcoef(x, y)[0, 1]) < 0.02  # 4.5 standard errors at n = 50,000


def test_noise_transforms_have_the_intended_moments():
    u = Streams(3, np.arange(200_000)).uniform(0, 0)
    assert abs(lognormal(u, 0.3).mean() - 1.0) < 0.01
    assert abs(logistic(u, 0.5).std() - 0.5 * np.pi / np.sqrt(3)) < 0.01
