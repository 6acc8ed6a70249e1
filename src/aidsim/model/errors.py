"""Bad input gets one line: which key, which value, what is allowed; then a non-zero exit.

The errors the model and the commands raise for bad input live here; every console script runs its
work through `aidsim.cli.guard.guarded`, which turns them, validation and Hydra composition errors
into that one line (exit code 2) and leaves tracebacks to `AIDSIM_DEBUG=1`.
"""

from __future__ import annotations

import re
import types
import typing
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic is imported where it is used: `ConfigError` alone stays cheap (start-up)
    from pydantic import BaseModel, ValidationError

EXIT_BAD_INPUT = 2


class ConfigError(Exception):
    """A user-facing input error whose message is one line."""


_PLAIN_NAME = re.compile(r"[\w.-]+")
PLAIN_NAME_RULE = "a plain name (letters, digits, _ - .; no / or \\, not empty, not . or ..)"
"""What a name that becomes a folder (a study, a scenario) may be: it cannot point elsewhere."""


def is_plain_name(value: object) -> bool:
    """Whether `value` is safe as one folder name (`PLAIN_NAME_RULE`)."""
    return isinstance(value, str) and _PLAIN_NAME.fullmatch(value) is not None and value not in (".", "..")


def plain_name(key: str, value: object) -> str:
    """`value` if it is a plain name (`is_plain_name`), else a one-line ConfigError naming `key`."""
    if not is_plain_name(value):
        raise ConfigError(f"{key}={value!r}: allowed: {PLAIN_NAME_RULE}")
    return str(value)


def _field_at(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, Any]:
    """Walk `loc` through nested pydantic models; return (owner model, FieldInfo or None)."""
    from pydantic import BaseModel

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


def unknown_line(dotted: str, keys: list[str]) -> str:
    """The one line for a key that is not allowed, listing those that are (if known)."""
    return f"{dotted}: unknown key" + (f"; allowed keys here: {', '.join(keys)}" if keys else "")


def unknown_key(model: type[BaseModel], dotted: str) -> str:
    """The one line for a key that the schema does not have."""
    loc = tuple(dotted.split("."))
    owner, _ = _field_at(model, loc[:-1])
    return unknown_line(dotted, sorted(owner.model_fields) if owner else [])


def _allowed(model: type[BaseModel], loc: tuple[Any, ...], err: Any) -> str:
    if err["type"] in ("literal_error", "enum"):
        return "allowed: " + err.get("ctx", {}).get("expected", "")
    _, info = _field_at(model, loc)
    bounds = []
    for m in getattr(info, "metadata", []):
        for name, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(m, name, None) is not None:
                bounds.append(f"{op} {getattr(m, name)}")
    annotation = getattr(info, "annotation", None)
    optional = typing.get_origin(annotation) in (types.UnionType, typing.Union) and type(None) in typing.get_args(annotation)
    if optional:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    kind = getattr(annotation, "__name__", "")
    kind = {"float": "a number", "int": "a whole number", "bool": "true or false", "str": "text", "dict": "a mapping"}.get(kind, kind)
    allowed = " ".join(x for x in (kind, " and ".join(bounds)) if x) + (" or null" if optional else "")
    return f"allowed: {allowed}" if allowed.strip() else err["msg"]


def _number_fields(model: Any) -> dict[str, Any]:
    from pydantic import BaseModel

    return getattr(model, "model_fields", {}) if isinstance(model, type) and issubclass(model, BaseModel) else {}


def bool_for_number(model: type[BaseModel], data: Any, prefix: str = "") -> str | None:
    """The one line for a true/false given where the schema wants a number (pydantic would read
    `flood.severity=true` as 1.0 and `replicates=true` as 1), or None if there is none."""
    if not isinstance(data, dict):
        return None
    fields = _number_fields(model)
    for key, value in data.items():
        info = fields.get(key)
        if info is None:
            continue
        annotation = info.annotation
        while typing.get_origin(annotation) in (types.UnionType, typing.Union):
            annotation = next((a for a in typing.get_args(annotation) if a is not type(None)), None)
        if isinstance(value, bool) and annotation in (int, float):
            kind = "a whole number" if annotation is int else "a number"
            return f"{prefix}{key}={str(value).lower()}: allowed: {kind} (true/false is not a number)"
        if isinstance(value, dict):
            nested = _number_fields(annotation)
            if nested:
                found = bool_for_number(annotation, value, f"{prefix}{key}.")
                if found:
                    return found
            elif typing.get_origin(annotation) is dict and typing.get_args(annotation):
                inner = typing.get_args(annotation)[-1]
                for sub, item in value.items():
                    found = bool_for_number(inner, item, f"{prefix}{key}.{sub}.")
                    if found:
                        return found
    return None


def describe(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """One line for the first validation error: key, value, what is allowed (and how many more)."""
    errs = exc.errors()
    err = errs[0]
    loc = tuple(err["loc"])
    key = prefix + ".".join(str(p) for p in loc) if loc else (prefix.rstrip(".") or "config")
    if err["type"] == "extra_forbidden":
        msg = prefix + unknown_key(model, ".".join(str(p) for p in loc))
    elif err["type"] == "missing":
        msg = f"{key}: missing; it must be set"
    elif err["type"] == "value_error":
        msg = f"{key}: {err['msg'].removeprefix('Value error, ')}"
    else:
        msg = f"{key}={err['input']!r}: {_allowed(model, loc, err)}"
    more = len(errs) - 1
    return msg + (f" (and {more} more error{'s' * (more > 1)})" if more else "")
