"""The `sweep` section of the config, validated by pydantic like the model's parameters: wrong
types (`sweep.force=no`, `sweep.workers=true`), out-of-range values and unknown keys end as one
line naming the key, the value and what is allowed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from aidsim.model.errors import PLAIN_NAME_RULE, ConfigError, describe, is_plain_name


class SweepSettings(BaseModel):
    """`sweep:` in conf/sweep.yaml (documented in docs/scaling.md)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    study: str
    dir: str = Field(min_length=1)
    grid: dict[str, Any] | None = None
    sample: dict[str, Any] | None = None
    workers: int | None = Field(default=None, ge=1, le=4096)
    chunk_worlds: int = Field(ge=1, le=10_000_000)
    progress: StrictBool = True
    force: StrictBool = False
    plots: StrictBool = True

    @field_validator("study", mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        if isinstance(value, str) and not is_plain_name(value):
            raise ValueError(f"{value!r} is not {PLAIN_NAME_RULE}")
        return value

    @classmethod
    def from_config(cls, section: Any) -> SweepSettings:
        from omegaconf import DictConfig, OmegaConf

        data = OmegaConf.to_container(section, resolve=True) if isinstance(section, DictConfig) else dict(section or {})
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(describe(exc, cls, prefix="sweep.")) from exc
