"""From a finished model to the documented tables (docs/cli.md, "Outputs").

`responses`: one row per (replicate, donor). `runs`: one row per replicate. `summary`: per donor,
how often it offered, when, how Pyongyang answered, how often its aid was accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from aidsim.model.ladder import NO_DAY, RESPONSE_CODE, RESPONSES
from aidsim.model.params import DONORS

if TYPE_CHECKING:
    from aidsim.model.model import AidModel

__all__ = ["DISTINCT", "KEYS", "NULLABLE", "RESPONSES", "responses", "runs", "summary"]

DISTINCT = ("replicate", "aid_delivered", "domestic_share", "peak_unmet_need")
"""Columns whose values are nearly all distinct: Parquet's dictionary encoding only costs time on
them, so the store writes them plain (every other column repeats a few values and is dictionary-encoded)."""

KEYS = ("replicate", "seed", "donor")
"""The tables' columns that say which run a row is, not how it ended. With the cell and its knobs,
they are the only columns the store keeps Parquet statistics (each shard's min and max) for: a
reader skips shards by them, while an outcome's min and max over a whole chunk of worlds skip
nothing and take time to compute."""

NULLABLE = ("offer_day", "response_day", "first_accept_day", "first_accept_donor")
"""The tables' only columns that can be missing (no offer, no answer, nothing accepted). The store
writes every other column of the tables as required: Parquet then keeps no null flags for it, and a
null where none can be is an error, not a silent gap."""


def _days(a: np.ndarray) -> pd.arrays.IntegerArray:
    """Day numbers as a nullable integer column: no day (-1) becomes <NA>."""
    return pd.arrays.IntegerArray(a.astype(np.int16), mask=a == NO_DAY)


def _category(codes: np.ndarray, categories: tuple[str, ...]) -> pd.Categorical:
    """A categorical column from integer codes into `categories` (-1 is missing)."""
    return pd.Categorical.from_codes(codes, categories=list(categories))


_NO_LEAD: Mapping[str, np.ndarray] = {}


def responses(model: AidModel, lead: Mapping[str, np.ndarray] = _NO_LEAD) -> pd.DataFrame:
    """The per-(replicate, donor) table, replicate-major; `lead`: per-world columns put in front
    (a sweep's cell and knobs), repeated for each donor."""
    w, d = model.worlds, len(DONORS)
    stack = lambda name: np.stack([getattr(a, name) for a in model.donors], axis=1).reshape(-1)  # noqa: E731
    status, first = stack("status"), stack("first_answer")
    return pd.DataFrame(
        {
            **{k: np.repeat(v, d) for k, v in lead.items()},
            "replicate": np.repeat(model.replicate_ids, d),
            "donor": _category(np.tile(np.arange(d, dtype=np.int8), w), DONORS),
            "offer_day": _days(stack("offer_day")),
            "response": _category(RESPONSE_CODE[status], RESPONSES),
            "response_day": _days(stack("response_day")),
            "first_response": _category(RESPONSE_CODE[first], RESPONSES),
            "requested": stack("requested"),
            "countered": stack("countered"),
            "aid_delivered": stack("delivered"),
        },
        copy=False,  # every column is a new array: pandas need not copy it again
    )


def runs(model: AidModel, lead: Mapping[str, np.ndarray] = _NO_LEAD) -> pd.DataFrame:
    """The per-replicate table; `lead`: per-world columns put in front (a sweep's cell and knobs)."""
    # Donor by donor over whole arrays of worlds (faster than reducing a (worlds, donors) stack
    # along its short axis); a tie goes to the donor listed first, as argmin would.
    first_day = np.full(model.worlds, np.iinfo(np.int32).max, dtype=np.int32)
    first_donor = np.full(model.worlds, -1, dtype=np.int8)
    deepest = np.zeros(model.worlds, dtype=np.int8)
    for i, a in enumerate(model.donors):
        accepted = a.accept_day != NO_DAY
        earlier = accepted & (a.accept_day < first_day)
        first_day[earlier], first_donor[earlier] = a.accept_day[earlier], i
        deepest[(accepted | a.requested) & (deepest < a.profile.rung)] = a.profile.rung
    any_acc = first_donor >= 0
    d = model.dprk
    total = d.domestic + d.foreign
    return pd.DataFrame(
        {
            **lead,
            "replicate": model.replicate_ids,
            "seed": model.params.seed,
            "any_accepted": any_acc,
            "first_accept_day": _days(np.where(any_acc, first_day, NO_DAY)),
            "first_accept_donor": _category(first_donor, DONORS),
            "domestic_share": np.divide(d.domestic, total, out=np.ones_like(total), where=total > 0),
            "peak_unmet_need": d.peak_unmet,
            "deepest_rung": deepest,
        }
    )  # copied: `lead` and `replicate_ids` may be arrays the caller keeps


def summary(resp: pd.DataFrame) -> pd.DataFrame:
    """Per donor: share of worlds with an offer, median offer day, response shares, acceptance."""
    g = resp.groupby("donor", observed=False)
    shares = pd.crosstab(resp["donor"], resp["response"], normalize="index").reindex(columns=list(RESPONSES), fill_value=0.0)
    out = pd.DataFrame(
        {
            "offered": g["offer_day"].apply(lambda s: s.notna().mean()),
            "median_offer_day": g["offer_day"].median(),
        }
    )
    return out.join(shares).reindex(list(DONORS))
