"""The documentation keeps up with the code: every parameter is in the ODD, every preset listed."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from aidsim.model.config import compose, presets

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _leaves(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}"


def test_every_model_parameter_is_documented():
    cfg = OmegaConf.to_container(compose([]), resolve=True)
    text = (DOCS / "model.md").read_text()
    keys = list(_leaves({s: cfg[s] for s in ("flood", "tension", "relations", "access", "dprk")}))
    keys += ["horizon_days", "replicates", "seed"]
    missing = [k for k in keys if f"`{k}`" not in text]
    assert not missing, f"docs/model.md does not document: {missing}"
    donor_fields = {f for d in cfg["actors"].values() for f in _leaves(d)}
    missing = [f for f in sorted(donor_fields) if f"`{f}`" not in text and f.split(".")[-1] not in text]
    assert not missing, f"docs/model.md does not document donor fields: {missing}"


@pytest.mark.parametrize("group", ["scenario", "flood", "tension", "relations", "events", "access", "seoul", "fitted"])
def test_every_preset_is_listed_in_the_cli_guide(group):
    row = next((line for line in (DOCS / "cli.md").read_text().splitlines() if line.startswith(f"| `{group}` |")), "")
    missing = [name for name in presets(group) if f"`{name}`" not in row]
    assert row and not missing, f"docs/cli.md, presets table, row {group!r}: missing {missing}"


def test_the_library_example_in_the_cli_guide_runs():
    text = (DOCS / "cli.md").read_text()
    block = text.split("## Library use", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(block, scope)  # the example as a reader would paste it
    assert scope["model"].worlds == 500
