"""Shared fixtures: composed configs and finished runs, computed once per session."""

from __future__ import annotations

import pytest

from aidsim.model.config import load
from aidsim.model.model import AidModel
from aidsim.runs import tables


def _run(*overrides: str):
    model = AidModel(load(list(overrides))).run()
    return model, tables.responses(model), tables.runs(model)


@pytest.fixture(scope="session")
def run_scenario():
    """A function: Hydra overrides -> (model, responses, runs) of that scenario."""
    return _run


@pytest.fixture(scope="session")
def amnok():
    """The default scenario, 1,000 worlds, the default seed."""
    return _run()
