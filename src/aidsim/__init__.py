"""aidsim: an agent-based simulation of disaster-aid diplomacy toward a closed state.

Library use:
    from aidsim import AidModel, load_params, tables
    model = AidModel(load_params(["scenario=floods_2007"])).run()
    tables.summary(tables.responses(model))
"""

from __future__ import annotations

from typing import Any

__all__ = ["AidModel", "load", "load_params", "tables"]


def __getattr__(name: str) -> Any:
    # Lazy imports keep `import aidsim` cheap for console scripts that need only part of it.
    if name == "AidModel":
        from aidsim.model.model import AidModel

        return AidModel
    if name == "load_params":
        from aidsim.model import config

        return config.load
    if name == "tables":
        from aidsim.runs import tables

        return tables
    if name == "load":
        from aidsim.runs import store

        return store.load
    raise AttributeError(f"module 'aidsim' has no attribute {name!r}")
