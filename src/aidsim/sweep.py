"""Running many parameter cells, each over many replicate worlds (the engine behind sweeps).

A cell is a dict of dotted overrides on a base config ({"tension.inter_korean": 0.2, ...}).
Replicate r of every cell uses the same random stream (common random numbers), so differences
between cells come from the parameters, not from luck.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from aidsim import tables
from aidsim.config import to_params
from aidsim.model import AidModel
from aidsim.params import Params


def cell_params(base: DictConfig, cell: Mapping[str, Any]) -> Params:
    """The validated Params of one cell: the base config with the cell's dotted keys set."""
    cfg = base.copy()
    OmegaConf.set_struct(cfg, False)
    for key, value in cell.items():
        OmegaConf.update(cfg, key, value, merge=True)
    return to_params(cfg)


def run_cell(params: Params, cell: Mapping[str, Any], cell_id: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, responses) for one cell, with `cell` and the cell's parameters as leading columns."""
    model = AidModel(params, record=False).run()
    cols = {"cell": cell_id, **dict(cell)}
    runs, resp = tables.runs(model), tables.responses(model)
    return runs.assign(**cols)[[*cols, *runs.columns]], resp.assign(**cols)[[*cols, *resp.columns]]


def evaluate(base: DictConfig, cells: Iterable[Mapping[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, responses) over all cells, each with `base.replicates` worlds and seed `base.seed`."""
    parts = [run_cell(cell_params(base, c), c, i) for i, c in enumerate(cells)]
    return (
        pd.concat([p[0] for p in parts], ignore_index=True),
        pd.concat([p[1] for p in parts], ignore_index=True),
    )
