"""Finding and composing the Hydra config tree, and turning it into validated Params."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aidsim.model.errors import ConfigError, describe

if TYPE_CHECKING:  # pydantic and the schema load when a config is validated: `--help` needs only `conf_dir`
    from pydantic import BaseModel

    from aidsim.model.params import Params


def conf_dir() -> Path:
    """The config tree: `conf/` inside an installed wheel, else the repository's top-level `conf/`."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "conf", package.parents[1] / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise ConfigError(f"config tree not found: looked for conf/config.yaml in {package} and {package.parents[1]}")


def to_params(cfg: Any) -> Params:
    """Validate a composed config; any problem becomes a one-line ConfigError, including true/false
    where a number belongs (pydantic would read `flood.severity=true` as 1.0), for every command."""
    from omegaconf import DictConfig, OmegaConf
    from pydantic import ValidationError

    from aidsim.model.errors import bool_for_number
    from aidsim.model.params import Params

    data = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    wrong = bool_for_number(Params, data)
    if wrong:
        raise ConfigError(wrong)
    try:
        return Params.from_config(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, Params)) from exc


def compose(overrides: Sequence[str] = (), config_name: str = "config", hydra: bool = False) -> Any:
    """Compose the config tree with Hydra overrides, outside any Hydra app (library use, app, tests);
    `hydra=True` keeps Hydra's own node (e.g. `hydra.runtime.choices`, the preset picked per group)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():  # inside a Hydra app: reuse its search path
        return hydra_compose(config_name=config_name, overrides=list(overrides), return_hydra_config=hydra)
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides), return_hydra_config=hydra)


def load(overrides: Sequence[str] = ()) -> Params:
    """Params for a scenario given as Hydra overrides, e.g. `load(["scenario=floods_2007"])`."""
    return to_params(compose(overrides))


@functools.cache
def groups() -> frozenset[str]:
    """The config groups (folders of presets) of the config tree (read once)."""
    return frozenset(p.name for p in conf_dir().iterdir() if p.is_dir())


def presets(group: str) -> list[str]:
    """The named presets of a config group (e.g. 'scenario')."""
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def load_yaml[M: BaseModel](path: Path, schema: type[M]) -> M:
    """Read one YAML (or JSON) file into a pydantic model (episodes, studies, manifests).

    Any problem (missing file, broken YAML, a wrong key or value) is a one-line ConfigError that
    names the file and the key.
    """
    import json

    import yaml
    from pydantic import ValidationError

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)  # JSON's numbers, not YAML 1.1's
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from exc
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values, found {type(data).__name__}")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe(exc, schema)}") from exc
