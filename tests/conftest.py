"""Shared fixtures: composed configs and finished runs, computed once per session."""

from __future__ import annotations

import pytest

from aidsim.model.config import load
from aidsim.model.model import AidModel
from aidsim.runs import tables


def run_scenario(*overrides: str):
    """(model, responses, runs) for a scenario given as Hydra overrides."""
    model = AidModel(load(list(overrides))).run()
    return model, tables.responses(model), tables.runs(model)


@pytest.fixture(scope="session")
def amnok():
    """The default scenario, 1,000 worlds, the default seed."""
    return run_scenario()
