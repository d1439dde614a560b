"""JSON Schema for handler parameters, derived from type hints.

Covers the common cases (str, int, float, bool, lists, dicts, Optional,
Literal, TypedDict, dataclasses, ``Annotated[T, "description"]``); anything
else needs an explicit schema on the decorator.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

__all__ = ["schema_for", "parameters_schema", "validate", "compile_validator", "SchemaError"]

JSONSchema = dict[str, Any]
_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


class SchemaError(TypeError):
    """A type hint has no JSON Schema equivalent; pass an explicit schema instead."""


def schema_for(hint: Any) -> JSONSchema:
    """The JSON Schema describing values of type ``hint``."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is None and isinstance(hint, type) and hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if hint is Any or hint is object:
        return {}
    if hint is type(None) or hint is None:
        return {"type": "null"}
    if origin is typing.Annotated:
        inner = schema_for(args[0])
        doc = next((a for a in args[1:] if isinstance(a, str)), None)
        return {**inner, "description": doc} if doc else inner
    if origin is Literal:
        return _literal(args)
    if origin in (Union, types.UnionType):
        return _union(args)
    if origin is tuple and args and args[-1] is not Ellipsis:
        # A fixed-length tuple: one schema per position.
        items = [schema_for(a) for a in args]
        return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple, set, frozenset):
        out: JSONSchema = {"type": "array"}
        if args:
            out["items"] = schema_for(args[0])
        return out
    if origin is dict or hint is dict:
        out = {"type": "object"}
        if len(args) == 2:
            out["additionalProperties"] = schema_for(args[1])
        return out
    if typing.is_typeddict(hint):
        return _typeddict(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _dataclass(hint)
    raise SchemaError(f"no JSON Schema for type {hint!r}; pass input_schema= explicitly")


def _literal(values: tuple[Any, ...]) -> JSONSchema:
    out: JSONSchema = {"enum": list(values)}
    kinds = {_SCALARS.get(type(v)) for v in values}
    if len(kinds) == 1 and None not in kinds:
        out["type"] = kinds.pop()
    return out


def _union(args: tuple[Any, ...]) -> JSONSchema:
    options = [schema_for(a) for a in args]
    return {"anyOf": options}


def _unwrap_required(hint: Any) -> Any:
    # NotRequired[T] / Required[T] only say whether the key must be present.
    while get_origin(hint) in (typing.NotRequired, typing.Required):
        hint = get_args(hint)[0]
    return hint


def _typeddict(hint: Any) -> JSONSchema:
    hints = get_type_hints(hint, include_extras=True)
    declared = getattr(hint, "__required_keys__", hints.keys())
    # With postponed annotations __required_keys__ cannot see NotRequired/Required: read the hints.
    required = sorted(
        k
        for k, v in hints.items()
        if get_origin(v) is typing.Required or (k in declared and get_origin(v) is not typing.NotRequired)
    )
    properties = {k: schema_for(_unwrap_required(v)) for k, v in hints.items()}
    return {"type": "object", "properties": properties, "required": required}


def _dataclass(hint: type) -> JSONSchema:
    hints = get_type_hints(hint, include_extras=True)
    props: JSONSchema = {}
    required: list[str] = []
    for f in dataclasses.fields(hint):
        props[f.name] = schema_for(hints[f.name])
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    return {"type": "object", "properties": props, "required": required}


def parameters_schema(fn: Callable[..., Any], skip: frozenset[str]) -> JSONSchema:
    """An object schema for ``fn``'s parameters, leaving out the names in ``skip``."""
    hints = get_type_hints(fn, include_extras=True)
    props: JSONSchema = {}
    required: list[str] = []
    for name, param in inspect.signature(fn).parameters.items():
        if name in skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        prop = schema_for(hints.get(name, Any))
        if param.default is inspect.Parameter.empty:
            required.append(name)
        elif _jsonable(param.default):
            prop = {**prop, "default": param.default}
        props[name] = prop
    out: JSONSchema = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, list, dict))


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def validate(value: Any, schema: JSONSchema, path: str = "arguments") -> str | None:
    """Check ``value`` against the subset of JSON Schema that :func:`schema_for` emits.

    Returns:
        None if valid, else a message naming the first offending path.
    """
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else []
    if kinds and not any(_TYPE_CHECKS.get(k, lambda v: True)(value) for k in kinds):
        return f"{path} must be of type {' or '.join(kinds)}"
    if "enum" in schema and not any(_json_equal(value, option) for option in schema["enum"]):
        return f"{path} must be one of {schema['enum']!r}"
    if "anyOf" in schema and all(validate(value, s, path) for s in schema["anyOf"]):
        return f"{path} matches none of the allowed types"
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            if name not in value:
                return f"{path}.{name} is required"
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            sub = props.get(name, extra if isinstance(extra, dict) else None)
            problem = validate(item, sub, f"{path}.{name}") if sub is not None else None
            if problem:
                return problem
    if isinstance(value, list) and isinstance(schema.get("prefixItems"), list):
        positions = schema["prefixItems"]
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
            return f"{path} must have {len(positions)} items"
        for index, (item, sub) in enumerate(zip(value, positions, strict=False)):
            problem = validate(item, sub, f"{path}[{index}]")
            if problem:
                return problem
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            problem = validate(item, schema["items"], f"{path}[{index}]")
            if problem:
                return problem
    return None


Check = Callable[[Any], "str | None"]


def compile_validator(schema: JSONSchema, path: str = "arguments") -> Check:
    """:func:`validate` for one schema, compiled once into closures (for the per-call hot path)."""
    checks: list[Check] = []
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else []
    known = [_TYPE_CHECKS[k] for k in kinds if k in _TYPE_CHECKS]
    if kinds and len(known) == len(kinds):
        type_message = f"{path} must be of type {' or '.join(kinds)}"
        if len(known) == 1:
            only = known[0]
            checks.append(lambda v: None if only(v) else type_message)
        else:
            checks.append(lambda v: None if any(t(v) for t in known) else type_message)
    if "enum" in schema:
        options, enum_message = schema["enum"], f"{path} must be one of {schema['enum']!r}"
        checks.append(lambda v: None if any(_json_equal(v, o) for o in options) else enum_message)
    if "anyOf" in schema:
        alternatives = [compile_validator(s, path) for s in schema["anyOf"]]
        any_message = f"{path} matches none of the allowed types"
        checks.append(lambda v: any_message if all(a(v) for a in alternatives) else None)
    if any(key in schema for key in ("required", "properties", "additionalProperties")):
        checks.append(_object_check(schema, path))
    if isinstance(schema.get("items"), dict) or isinstance(schema.get("prefixItems"), list):
        checks.append(lambda v: validate(v, schema, path) if isinstance(v, list) else None)
    if not checks:
        return lambda v: None
    if len(checks) == 1:
        return checks[0]

    def every(value: Any) -> str | None:
        # A loop, not next() over a generator: this runs for every tool call.
        for check in checks:
            problem = check(value)
            if problem is not None:
                return problem
        return None

    return every


def _object_check(schema: JSONSchema, path: str) -> Check:
    required = [(name, f"{path}.{name} is required") for name in schema.get("required", ())]
    props = {
        name: compile_validator(sub, f"{path}.{name}")
        for name, sub in (schema.get("properties") or {}).items()
        if isinstance(sub, dict)
    }
    extra = schema.get("additionalProperties")
    extra_check = extra if isinstance(extra, dict) else None

    def check(value: Any) -> str | None:
        if not isinstance(value, dict):
            return None
        for name, message in required:
            if name not in value:
                return message
        for name, item in value.items():
            prop = props.get(name)
            if prop is not None:
                problem = prop(item)
            elif extra_check is not None:
                problem = validate(item, extra_check, f"{path}.{name}")
            else:
                continue
            if problem is not None:
                return problem
        return None

    return check
