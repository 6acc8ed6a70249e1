"""How donors decide: whether and when to offer, what they offer, and how aid arrives.

Each donor's profile (conf/actors/) sets its offer rule. An unasked offer comes with a daily
probability that rises with the visible damage and the donor's relation with Pyongyang, falls with
hostility, and carries the donor's own politics (Seoul's administration stance, Moscow's strategic
interest in 2024). A donor that Pyongyang asks answers with its `answers_request` probability.
All functions are vectorised over replicate worlds.
"""

from __future__ import annotations

import numpy as np

from aidsim.model.params import Donor


def need_signal(donor: Donor, visible: np.ndarray) -> np.ndarray:
    """The part of a donor's offer hazard fixed for a run: the visible damage and the donor's politics."""
    return donor.offer.need_weight * np.log(np.maximum(visible, 1e-9)) + donor.offer.politics


def offer_probability(donor: Donor, day: int, signal: np.ndarray, relation: float | np.ndarray, h: float | np.ndarray) -> np.ndarray:
    """Daily probability of an unasked offer (a logistic hazard), zero before the donor's lag.

    Calibrated on the 2024 record: Seoul's Red Cross, the UN and IFRC on day 5, Russia on day 7,
    China slow and vague (generic offers only on days 9 and 12), South Korean NGOs on day 34.
    """
    rule = donor.offer
    z = signal + (rule.base + rule.relation_weight * relation - rule.tension_weight * h)
    on = day >= rule.lag_days
    if not np.any(on):  # before the lag: skip the exponentials
        return np.zeros(np.shape(z))
    return np.where(on, 1.0 / (1.0 + np.exp(-z)), 0.0)


COUNTER_REPLIES: tuple[str, ...] = ("meet", "haggle", "refuse")
"""A donor's replies when Pyongyang names what it wants instead of its offer."""


def counter_reply(meets: float | np.ndarray, haggles: float | np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(met, haggled) per world: the donor gives what was named with probability `meets`
    (its `meets_counter_request`), only part of it with `haggles`, else refuses."""
    met = u < meets
    return met, ~met & (u < meets + haggles)


def offer_fit(donor: Donor, u: np.ndarray) -> np.ndarray:
    """How well an offer's content matches what Pyongyang wants, around the donor's norm."""
    return np.minimum(np.maximum(donor.content_fit + donor.fit_spread * (2.0 * u - 1.0), 0.0), 1.0)


def offer_size(donor: Donor, visible: np.ndarray) -> np.ndarray:
    """Relief an offer could deliver in all, in need units: donors size packages to what they see."""
    return donor.offer_size * visible


def delivered_today(donor: Donor, size: np.ndarray, accept_day: np.ndarray, day: int) -> np.ndarray:
    """Aid arriving today from accepted offers: spread evenly over the delivery window that opens
    `delivery_lag_days` after acceptance (2007: Seoul's trucks crossed about two days after)."""
    start = accept_day + donor.delivery_lag_days
    flowing = (accept_day >= 0) & (day >= start) & (day < start + donor.delivery_days)
    return np.where(flowing, size / donor.delivery_days, 0.0)
