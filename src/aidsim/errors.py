"""Bad input gets one line: which key, which value, what is allowed; then a non-zero exit.

Every console script runs its work through `guarded`, which turns config, validation and Hydra
composition errors into that one line (exit code 2) and leaves tracebacks to `AIDSIM_DEBUG=1`.
"""

from __future__ import annotations

import os
import re
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

EXIT_BAD_INPUT = 2


class ConfigError(Exception):
    """A user-facing input error whose message is one line."""


def _field_at(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, Any]:
    """Walk `loc` through nested pydantic models; return (owner model, FieldInfo or None)."""
    owner: Any = model
    info = None
    for part in loc:
        if isinstance(owner, type) and issubclass(owner, BaseModel) and part in owner.model_fields:
            info = owner.model_fields[part]
            owner = info.annotation
        elif typing.get_origin(owner) in (dict, list) and typing.get_args(owner):
            owner = typing.get_args(owner)[-1]
            info = None
        else:
            return (owner if isinstance(owner, type) and issubclass(owner, BaseModel) else None), info
        while typing.get_origin(owner) in (types.UnionType, typing.Union):
            owner = next(a for a in typing.get_args(owner) if a is not type(None))
    return (owner if isinstance(owner, type) and issubclass(owner, BaseModel) else None), info


def unknown_key(model: type[BaseModel], dotted: str) -> str:
    """The one line for a key that the schema does not have."""
    loc = tuple(dotted.split("."))
    owner, _ = _field_at(model, loc[:-1])
    keys = sorted(owner.model_fields) if owner else []
    return f"{dotted}: unknown key" + (f"; allowed keys here: {', '.join(keys)}" if keys else "")


def _allowed(model: type[BaseModel], loc: tuple[Any, ...], err: dict[str, Any]) -> str:
    if err["type"] in ("literal_error", "enum"):
        return "allowed: " + err.get("ctx", {}).get("expected", "")
    _, info = _field_at(model, loc)
    bounds = []
    for m in getattr(info, "metadata", []):
        for name, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(m, name, None) is not None:
                bounds.append(f"{op} {getattr(m, name)}")
    kind = getattr(getattr(info, "annotation", None), "__name__", "")
    kind = {"float": "a number", "int": "a whole number", "bool": "true or false", "str": "text"}.get(kind, kind)
    allowed = " ".join(x for x in (kind, " and ".join(bounds)) if x)
    return f"allowed: {allowed}" if allowed else err["msg"]


def describe(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """One line for the first validation error: key, value, what is allowed (and how many more)."""
    errs = exc.errors()
    err = errs[0]
    loc = tuple(err["loc"])
    key = prefix + ".".join(str(p) for p in loc) if loc else (prefix.rstrip(".") or "config")
    if err["type"] == "extra_forbidden":
        msg = unknown_key(model, ".".join(str(p) for p in loc))
    elif err["type"] == "missing":
        msg = f"{key}: missing; it must be set"
    elif err["type"] == "value_error":
        msg = f"{key}: {err['msg'].removeprefix('Value error, ')}"
    else:
        msg = f"{key}={err['input']!r}: {_allowed(model, loc, err)}"
    more = len(errs) - 1
    return msg + (f" (and {more} more error{'s' * (more > 1)})" if more else "")


def _hydra_line(exc: Exception) -> str | None:
    """One line for Hydra's own composition and override-parsing errors, or None if not one."""
    from hydra.errors import HydraException, MissingConfigException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(exc, MissingConfigException):
        group = (exc.missing_cfg_file or "").split("/")[0]
        options = ", ".join(sorted(exc.options or []))
        name = (exc.missing_cfg_file or "").split("/")[-1]
        if group and options:
            return f"{group}={name}: unknown preset; available: {options}"
    override = re.match(r"Could not override '([^']+)'", str(exc))
    if override and "not in struct" in str(exc.__cause__ or exc):
        from aidsim.params import Params

        return unknown_key(Params, override.group(1))
    if isinstance(exc, (HydraException, OmegaConfBaseException)):
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        cause = exc.__cause__
        if cause is not None and str(cause).strip():
            first = str(cause).strip().splitlines()[0]
            if first not in lines:
                lines.append(first)
        return "; ".join(lines)
    return None


class _QuietHydraStderr:
    """Drops Hydra's extra "Error executing job with overrides" line; passes everything else."""

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        return 0 if text.startswith("Error executing job with overrides") else self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guarded(main: Callable[[], Any], prog: str) -> Callable[[], None]:
    """Wrap a Hydra entry point so that every input error ends as one line and exit code 2."""

    def run() -> None:
        debug = os.environ.get("AIDSIM_DEBUG") == "1"
        os.environ["HYDRA_FULL_ERROR"] = "1"  # let errors reach us instead of Hydra's multi-line report
        try:
            if not debug:
                sys.stderr = _QuietHydraStderr(sys.stderr)
            main()
        except BrokenPipeError:
            # Output piped into a reader that stopped (`aidsim | head`): not an error of ours.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except ConfigError as exc:
            if debug:
                raise
            print(f"{prog}: error: {exc}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        except Exception as exc:
            line = _hydra_line(exc)
            if line is None or debug:
                raise
            print(f"{prog}: error: {line}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        finally:
            if isinstance(sys.stderr, _QuietHydraStderr):
                sys.stderr = sys.stderr._stream

    return run
