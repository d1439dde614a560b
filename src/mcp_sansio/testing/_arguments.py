"""Tool arguments generated from a tool's JSON Schema: valid ones, and ones wrong in one place.

Valid values respect ``type``, ``enum``, ``const``, ``properties``, ``required``,
``additionalProperties``, ``items``, ``prefixItems``, the size bounds, ``minimum``/``maximum``,
``anyOf``/``oneOf``, ``allOf`` (merged) and local ``$ref``. Keywords that relate
properties to each other (``if``/``then``/``else``, ``dependentRequired``) and string
``pattern``/``format`` are not honoured: such values are "valid" only for what a
server's validator usually checks. Numbers and sizes stay small, so a tool that loops
``n`` times finishes quickly.

Invalid values break exactly one rule that every validator checks: a required property
missing, or a property whose declared ``type`` is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from ._messages import json_values

__all__ = ["tool_arguments"]

Schema = dict[str, Any]
_MAX_DEPTH = 6
_WRONG: dict[str, list[Any]] = {
    "string": [0, True, None, [], {}],
    "integer": ["1", 1.5, True, None],
    "number": ["1", True, None, []],
    "boolean": ["true", 0, None],
    "array": ["x", {}, 1],
    "object": ["x", [], 1],
    "null": [0, "", False],
}
_TYPE_OF = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}


def _int(schema: Schema, key: str, default: int) -> int:
    value = schema.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _dict(schema: Schema, key: str) -> dict[str, Any]:
    value = schema.get(key)
    return value if isinstance(value, dict) else {}


def _resolve(schema: Schema, root: Schema) -> Schema:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part) if isinstance(target, dict) else None
    rest = {k: v for k, v in schema.items() if k != "$ref"}
    return {**target, **rest} if isinstance(target, dict) else rest


def _merge_all_of(schema: Schema, root: Schema) -> Schema:
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema.get("allOf") or []:
        if not isinstance(part, dict):
            continue
        part = _resolve(part, root)
        for key, value in part.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**(merged.get("properties") or {}), **value}
            elif key == "required" and isinstance(value, list):
                merged["required"] = sorted({*merged.get("required", []), *value})
            elif key not in merged:
                merged[key] = value
    return merged


def _integers(schema: Schema) -> st.SearchStrategy[int]:
    low, high = schema.get("minimum"), schema.get("maximum")
    low = int(low) if isinstance(low, (int, float)) and not isinstance(low, bool) else -3
    high = int(high) if isinstance(high, (int, float)) and not isinstance(high, bool) else low + 20
    if isinstance(schema.get("exclusiveMinimum"), (int, float)):
        low = int(schema["exclusiveMinimum"]) + 1
    if isinstance(schema.get("exclusiveMaximum"), (int, float)):
        high = int(schema["exclusiveMaximum"]) - 1
    return st.integers(low, max(low, min(high, low + 1000)))


def _numbers(schema: Schema) -> st.SearchStrategy[float]:
    low, high = schema.get("minimum"), schema.get("maximum")
    return st.floats(
        min_value=float(low) if isinstance(low, (int, float)) else -1e6,
        max_value=float(high) if isinstance(high, (int, float)) else 1e6,
        allow_nan=False,
        allow_infinity=False,
    )


def _strings(schema: Schema) -> st.SearchStrategy[str]:
    low = _int(schema, "minLength", 0)
    high = _int(schema, "maxLength", low + 8)
    return st.text(min_size=low, max_size=max(low, min(high, low + 16)))


def _arrays(schema: Schema, root: Schema, depth: int) -> st.SearchStrategy[list[Any]]:
    prefix = schema.get("prefixItems")
    if isinstance(prefix, list):
        return st.tuples(*(_values(p, root, depth + 1) for p in prefix)).map(list)
    items = schema.get("items")
    element = _values(items, root, depth + 1) if isinstance(items, dict) else json_values()
    low = _int(schema, "minItems", 0)
    high = _int(schema, "maxItems", low + 3)
    unique = bool(schema.get("uniqueItems"))
    return st.lists(element, min_size=low, max_size=max(low, min(high, low + 3)), unique_by=repr if unique else None)


def _objects(schema: Schema, root: Schema, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    props = _dict(schema, "properties")
    required = [r for r in schema.get("required") or [] if isinstance(r, str)]
    fixed = {name: _values(props.get(name, {}), root, depth + 1) for name in required}
    optional = {name: _values(sub, root, depth + 1) for name, sub in props.items() if name not in fixed}
    base = st.fixed_dictionaries(fixed, optional=optional)
    extra = schema.get("additionalProperties")
    if extra is False or props or depth >= _MAX_DEPTH:
        return base
    values = _values(extra, root, depth + 1) if isinstance(extra, dict) else json_values()
    return st.tuples(base, st.dictionaries(st.text(max_size=6), values, max_size=2)).map(lambda p: {**p[1], **p[0]})


def _typed(kind: str, schema: Schema, root: Schema, depth: int) -> st.SearchStrategy[Any]:
    if kind == "string":
        return _strings(schema)
    if kind == "integer":
        return _integers(schema)
    if kind == "number":
        return _numbers(schema) | _integers(schema)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return _arrays(schema, root, depth)
    if kind == "object":
        return _objects(schema, root, depth)
    return json_values()


def _values(schema: Any, root: Schema, depth: int) -> st.SearchStrategy[Any]:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return json_values()
    schema = _merge_all_of(_resolve(schema, root), root)
    if "const" in schema:
        return st.just(schema["const"])
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return st.sampled_from(schema["enum"])
    choices = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(choices, list) and choices:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        return st.one_of([_values({**rest, **c} if isinstance(c, dict) else c, root, depth + 1) for c in choices])
    kind = schema.get("type")
    if isinstance(kind, list) and kind:
        return st.one_of([_typed(str(k), schema, root, depth) for k in kind])
    if isinstance(kind, str):
        return _typed(kind, schema, root, depth)
    if "properties" in schema or "required" in schema:
        return _objects(schema, root, depth)
    return json_values()


def _json_type(value: Any) -> str:
    return "null" if value is None else _TYPE_OF[type(value)]


def _wrong_values(schema: Schema) -> list[Any]:
    kind = schema.get("type")
    kinds = {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()
    if not kinds or not kinds <= _WRONG.keys() or "anyOf" in schema or "oneOf" in schema:
        return []
    wrong = [v for k in sorted(kinds) for v in _WRONG[k]]
    return [v for v in wrong if _json_type(v) not in kinds and not ("number" in kinds and _json_type(v) == "integer")]


def _replacing(name: str) -> Callable[[tuple[dict[str, Any], Any]], dict[str, Any]]:
    return lambda pair: {**pair[0], name: pair[1]}


def _invalid(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    # Only rules stated at the top level, as written (no $ref or allOf resolved): every validator checks those.
    valid = tool_arguments(schema)
    props = _dict(schema, "properties")
    options: list[st.SearchStrategy[dict[str, Any]]] = []
    required = [r for r in schema.get("required") or [] if isinstance(r, str)]
    if required:
        options.append(
            st.tuples(valid, st.sampled_from(required)).map(lambda p: {k: v for k, v in p[0].items() if k != p[1]})
        )
    for name, sub in props.items():
        wrong = _wrong_values(sub) if isinstance(sub, dict) else []
        if wrong:
            options.append(st.tuples(valid, st.sampled_from(wrong)).map(_replacing(name)))
    return st.one_of(options) if options else st.nothing()


def tool_arguments(schema: Schema, *, valid: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments for a tool whose ``inputSchema`` is ``schema``.

    Args:
        schema: The tool's input schema (an object schema).
        valid: Generate arguments the schema accepts (True), or arguments that break one
            rule every validator checks: a missing required property or a property of the
            wrong type (False; ``st.nothing()`` when the schema has no such rule to break).

    Example::

        @given(tool_arguments(app.tools["add"].input_schema))
        def test_add_accepts_what_it_declares(arguments): ...
    """
    if not valid:
        return _invalid(schema)
    return _objects(_merge_all_of(_resolve(schema, schema), schema), schema, 0)
