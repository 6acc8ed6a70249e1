"""Golden outputs: speed work on the hot path (agents, model, streams, donors, ladder) must not
change a single bit of the tables for a given (seed, replicates, parameters).

The fingerprints in test_sweep_golden.json were computed from the model before any speed edits.
If the model's *behaviour* is changed on purpose, regenerate them with
`python tests/test_sweep_golden.py --update` and say so in the commit message.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from aidsim.model.config import load
from aidsim.model.model import AidModel
from aidsim.runs import tables

GOLDEN = Path(__file__).with_suffix(".json")
CASES = {
    "amnok_2024": ["replicates=400"],
    "floods_2007": ["scenario=floods_2007", "replicates=400"],
    "tumen_2016_events": ["scenario=tumen_2016", "replicates=300", "seed=7"],
    "mid_exercise": ["scenario=mid_exercise", "replicates=300", "horizon_days=90"],
    "catastrophe_low_tension": ["scenario=catastrophe", "tension.inter_korean=0.1", "replicates=300"],
}


def fingerprint(df: pd.DataFrame) -> str:
    """A hash of every value and dtype of a table (row order included)."""
    h = hashlib.sha256(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    h.update(str(list(df.dtypes.astype(str).items())).encode())
    return h.hexdigest()


def compute(overrides: list[str]) -> dict[str, str]:
    model = AidModel(load(overrides), record=False).run()
    return {"responses": fingerprint(tables.responses(model)), "runs": fingerprint(tables.runs(model))}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tables_match_golden(case):
    golden = json.loads(GOLDEN.read_text())
    assert compute(CASES[case]) == golden[case]


if __name__ == "__main__" and "--update" in sys.argv:
    GOLDEN.write_text(json.dumps({k: compute(v) for k, v in CASES.items()}, indent=2) + "\n")
    print(f"wrote {GOLDEN}")
