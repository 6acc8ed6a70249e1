"""What was run, in words: a scenario's title, its preset and every setting changed from it.

- `run_title(title, preset, settings)`: the one builder of such titles ("Amnok river floods, July
  2024 (preset amnok_2024); severity 20x, inter-Korean tension 0.3"): the `aidsim` printout, its
  timeline and dispatch, a study's printout and figures. `settings` is a mapping (a classroom's
  sliders, `changed_settings`) or Hydra's command-line override strings (`cli_settings`).
- `config_title(config, exclude, choices)`: `run_title` for a composed config, its settings found by
  comparing it with its scenario preset's own config (`preset_changes`: a study's base, where the
  command line alone does not say what the experiment file set); a preset picked for a group
  (`seoul=engagement`) is named as one, given Hydra's choices.
- `setting(key, value)`: one setting in words; friendly names (`NAMES`) for the common knobs, the
  dotted key for the rest, "<group> preset <name>" for a config group.
- `knob_name(key)`: a knob's short name; `knob_label(key)`: a swept knob's axis label, with units.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from aidsim.model.config import groups
from aidsim.model.params import _RUNTIME_KEYS
from aidsim.report.style import donor_label

NAMES: dict[str, str] = {
    "flood.severity": "severity",
    "flood.visibility": "visible share of the damage",
    "tension.inter_korean": "inter-Korean tension",
    "tension.us_dprk": "US-DPRK tension",
    "horizon_days": "horizon",
    "dprk.capacity": "DPRK capacity",
    "dprk.hostility_weight": "hostility weight",
    "dprk.image_sensitivity": "image sensitivity",
    "dprk.image_weight": "image weight",
    "dprk.planning_days": "DPRK planning window",
    "dprk.mobilisation_days": "DPRK mobilisation",
    "access.border_closed": "sealed border",
    "access.self_reliance": "self-reliance line",
}
"""Short names of the common knobs, as a title says them; `relations.<donor>` is named by the donor."""

KNOB_LABELS: dict[str, str] = {
    "flood.severity": "flood severity (x July 2024 damage)",
    "flood.visibility": "visible share of the damage (0-1)",
    "tension.inter_korean": "inter-Korean tension (0 engagement - 1 open hostility)",
    "tension.us_dprk": "US-DPRK tension (0-1)",
    "horizon_days": "horizon (days)",
    "dprk.hostility_weight": "ladder: hostility weight (log-pressure per unit)",
    "dprk.image_sensitivity": "ladder: image sensitivity (0-1)",
    "dprk.image_weight": "ladder: image weight (log-pressure)",
    "dprk.capacity": "DPRK capacity (2024 units per day)",
    "dprk.planning_days": "DPRK planning window (days)",
    "dprk.mobilisation_days": "DPRK mobilisation (days)",
}
"""Axis labels with units for swept knobs."""

MAX_SETTINGS = 6
"""A title names at most this many settings, then says how many more (an old study's config can
differ from today's preset in every fitted weight)."""

_NOT_THE_WORLD = frozenset(_RUNTIME_KEYS) | {"replicates", "seed", "scenario", "launcher", "experiment"}
"""Top-level keys that steer the tools or pick the run, not the world; the scenario heads the title."""


def count(n: int, noun: str) -> str:
    """ "1 worker", "2 workers": a number and its noun, plural unless one."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def is_day_knob(key: str) -> bool:
    """Whether a knob counts days (its axis should not stretch a one-day difference)."""
    return key.rsplit(".", 1)[-1].endswith(("days", "day"))


def knob_label(key: str) -> str:
    """An axis label with units for a swept knob."""
    if key in KNOB_LABELS:
        return KNOB_LABELS[key]
    if key.startswith("relations."):
        return f"relations with {donor_label(key.split('.', 1)[1], short=True)} (0 adversary - 1 closest ally)"
    return f"{key} (units: docs/model.md)"


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def knob_name(key: str) -> str:
    """A knob's short name, as a title says it: `NAMES`, "relations with Beijing", else the dotted key."""
    return NAMES.get(key) or (f"relations with {donor_label(key.split('.', 1)[1], short=True)}" if key.startswith("relations.") else key)


def setting(key: str, value: object) -> str:
    """One setting in words: "severity 20x", "inter-Korean tension 0.3", "relations with Beijing 0.8",
    "horizon 90 days", "self-reliance line off", "dprk.decision_noise 0.2", "events preset exercise"."""
    name = knob_name(key)
    if isinstance(value, (list, tuple, dict)):  # a whole list (e.g. the events) compared with the preset's
        return f"{name} changed"
    if "." not in key and key in groups():
        return f"{key} preset {value}"
    if isinstance(value, str) and value.lower() in ("true", "false"):  # a command line's flag, as Hydra reads it
        value = value.lower() == "true"
    number = _number(value)
    text = ("on" if value else "off") if isinstance(value, bool) else f"{number:g}" if number is not None else str(value)
    if key == "flood.severity" and number is not None:
        return f"{name} {text}x"
    return f"{name} {text} days" if is_day_knob(key) and number is not None else f"{name} {text}"


def _names_the_world(key: str) -> bool:
    return key.split(".")[0].split("/")[0] not in _NOT_THE_WORLD


def cli_settings(overrides: Iterable[str]) -> dict[str, str]:
    """Hydra's command-line overrides ("flood.severity=20", "+key=v", "events=exercise") as
    {key: value text}, in order (a repeated key keeps its last value), without deletions and without
    the keys that steer the tools or pick the run (hydra, output, replicates, seed, scenario ...)."""
    out: dict[str, str] = {}
    for override in overrides:
        if override.startswith("~") or "=" not in override:
            continue
        key, value = override.lstrip("+").split("=", 1)
        if _names_the_world(key):
            out[key] = value.strip().strip("'\"")
    return out


def run_title(title: str | None, preset: str | None = None, settings: Mapping[str, object] | Iterable[str] = ()) -> str:
    """The title of a run: its scenario, the preset it started from and the settings changed from it,
    e.g. "Amnok river floods, July 2024 (preset amnok_2024); severity 20x, inter-Korean tension 0.3".

    `settings`: {dotted key or group: value}, or Hydra override strings (read by `cli_settings`).
    Without a preset the title alone heads it; without a title, the preset's name."""
    if isinstance(settings, str):
        settings = [settings]
    pairs = settings if isinstance(settings, Mapping) else cli_settings(settings)
    head = f"{title} (preset {preset})" if title and preset and title != preset else title or preset or "custom"
    words = [setting(k, v) for k, v in pairs.items()]
    if len(words) > MAX_SETTINGS:
        more = len(words) - MAX_SETTINGS
        words = [*words[:MAX_SETTINGS], f"and {count(more, 'more setting')}"]
    return f"{head}; {', '.join(words)}" if words else head


def _leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, Mapping) and data:
        return {k: v for key, value in data.items() for k, v in _leaves(value, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): data}


def _same(a: Any, b: Any) -> bool:
    x, y = _number(a), _number(b)
    if x is not None and y is not None and not isinstance(a, str) and not isinstance(b, str):
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def changed_settings(config: Any, reference: Any, exclude: Collection[str] = ()) -> dict[str, Any]:
    """The settings of the world in `config` that differ from `reference` (both composed configs or
    nested mappings), as {dotted key: value}; lists compare whole; keys in `exclude` (e.g. a study's
    swept knobs) and the keys that steer the tools are left out."""
    from omegaconf import DictConfig, OmegaConf

    def plain(c: Any) -> Any:
        return OmegaConf.to_container(c, resolve=True) if isinstance(c, DictConfig) else c

    new, old = _leaves(plain(config)), _leaves(plain(reference))
    missing = object()
    return {k: v for k, v in new.items() if _names_the_world(k) and k not in exclude and not _same(v, old.get(k, missing))}


def group_choices(choices: Mapping[str, Any]) -> dict[str, str]:
    """The presets picked for the world's config groups (seoul, events, flood ...) among Hydra's
    runtime choices; not the scenario, the experiment, the launcher or Hydra's own groups."""
    return {g: str(c) for g, c in choices.items() if c is not None and g in groups() and _names_the_world(g)}


def preset_changes(config: Mapping[str, Any], exclude: Collection[str] = (), choices: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`changed_settings` of a composed config against its scenario preset's own config (composed
    here; empty if the preset is not in the config tree). Given Hydra's runtime `choices`, a group
    whose preset differs from the scenario's own pick is one setting ("seoul preset engagement")
    instead of the keys that preset sets."""
    from aidsim.model.config import compose, presets

    name = (config.get("scenario") or {}).get("name")  # a DictConfig is a Mapping too
    if name not in presets("scenario"):
        return {}
    picked: dict[str, Any] = {}
    if choices:
        own = compose([f"scenario={name}"], hydra=True).hydra.runtime.choices
        picked = {g: c for g, c in group_choices(choices).items() if own.get(g) != c}
    reference = compose([f"scenario={name}", *(f"{g}={c}" for g, c in picked.items())])
    return {**picked, **changed_settings(config, reference, exclude)}


def config_title(config: Mapping[str, Any], exclude: Collection[str] = (), choices: Mapping[str, Any] | None = None) -> str:
    """`run_title` for a composed config: its scenario, and what differs from that preset (`preset_changes`)."""
    scenario = config.get("scenario") or {}
    return run_title(scenario.get("title"), scenario.get("name"), preset_changes(config, exclude, choices))
