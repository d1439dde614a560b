"""JSON Schema derivation and validation (mcp_sansio._schema)."""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NotRequired, Optional, TypedDict, Union

import pytest

from mcp_sansio._schema import SchemaError, parameters_schema, schema_for, validate

# --- schema_for: scalars and containers -------------------------------------------------------


@pytest.mark.parametrize(
    ("hint", "schema"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (type(None), {"type": "null"}),
        (Any, {}),
        (object, {}),
        (list, {"type": "array"}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (list[list[str]], {"type": "array", "items": {"type": "array", "items": {"type": "string"}}}),
        (typing.List[int], {"type": "array", "items": {"type": "integer"}}),  # noqa: UP006
        (set[str], {"type": "array", "items": {"type": "string"}}),
        (frozenset[int], {"type": "array", "items": {"type": "integer"}}),
        (tuple, {"type": "array"}),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (
            tuple[int, str, bool],
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}, {"type": "boolean"}],
                "minItems": 3,
                "maxItems": 3,
            },
        ),
        (dict, {"type": "object"}),
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (
            dict[str, list[float]],
            {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "number"}}},
        ),
        (typing.Dict[str, bool], {"type": "object", "additionalProperties": {"type": "boolean"}}),  # noqa: UP006
    ],
)
def test_schema_for_basic_types(hint: Any, schema: dict[str, Any]) -> None:
    assert schema_for(hint) == schema


def test_bool_is_not_integer() -> None:
    assert schema_for(bool) == {"type": "boolean"}
    assert schema_for(list[bool]) == {"type": "array", "items": {"type": "boolean"}}


# --- Optional / Union -----------------------------------------------------------------------


def test_optional() -> None:
    expected = {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert schema_for(Optional[int]) == expected  # noqa: UP045
    assert schema_for(int | None) == expected
    assert schema_for(Union[int, None]) == expected  # noqa: UP007


def test_union() -> None:
    assert schema_for(str | int | list[str]) == {
        "anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "array", "items": {"type": "string"}}]
    }


# --- Literal ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hint", "schema"),
    [
        (Literal["a"], {"enum": ["a"], "type": "string"}),
        (Literal["a", "b"], {"enum": ["a", "b"], "type": "string"}),
        (Literal[1, 2, 3], {"enum": [1, 2, 3], "type": "integer"}),
        (Literal[True], {"enum": [True], "type": "boolean"}),
        (Literal[1, "a"], {"enum": [1, "a"]}),
        (Literal[1, True], {"enum": [1, True]}),
        (Literal["a", None], {"enum": ["a", None]}),
        (Literal[None], {"enum": [None]}),
    ],
)
def test_literal(hint: Any, schema: dict[str, Any]) -> None:
    assert schema_for(hint) == schema


# --- Annotated ----------------------------------------------------------------------------------


def test_annotated_description() -> None:
    assert schema_for(Annotated[int, "How many"]) == {"type": "integer", "description": "How many"}
    assert schema_for(Annotated[list[str], "Tags"]) == {
        "type": "array",
        "items": {"type": "string"},
        "description": "Tags",
    }


def test_annotated_takes_first_string_and_ignores_other_metadata() -> None:
    assert schema_for(Annotated[str, 3, "first", "second"]) == {"type": "string", "description": "first"}
    assert schema_for(Annotated[str, 3]) == {"type": "string"}
    assert schema_for(Annotated[str, ""]) == {"type": "string"}


def test_annotated_optional() -> None:
    assert schema_for(Annotated[Optional[str], "maybe"]) == {  # noqa: UP045
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": "maybe",
    }


def test_optional_annotated() -> None:
    assert schema_for(Annotated[int, "n"] | None) == {
        "anyOf": [{"type": "integer", "description": "n"}, {"type": "null"}]
    }


def test_annotated_with_unhashable_metadata() -> None:
    assert schema_for(Annotated[int, {"minimum": 0}, "count"]) == {"type": "integer", "description": "count"}


# --- TypedDict / dataclass ----------------------------------------------------------------------


class Movie(TypedDict):
    title: str
    year: int


class PartialMovie(TypedDict, total=False):
    title: str
    rating: float


class Base(TypedDict):
    a: int


class Derived(Base, total=False):
    b: Annotated[str, "the b"]


class WithNotRequired(TypedDict):
    a: int
    b: NotRequired[str]


@dataclass
class Point:
    x: int
    y: float = 0.0
    tags: list[str] = field(default_factory=list)
    label: Annotated[str, "the label"] = ""


@dataclass
class Segment:
    start: Point
    end: Point | None
    kind: Literal["line", "arc"] = "line"


POINT_SCHEMA = {
    "type": "object",
    "properties": {
        "x": {"type": "integer"},
        "y": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "label": {"type": "string", "description": "the label"},
    },
    "required": ["x"],
}


def test_typeddict() -> None:
    assert schema_for(Movie) == {
        "type": "object",
        "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
        "required": ["title", "year"],
    }


def test_typeddict_total_false() -> None:
    assert schema_for(PartialMovie) == {
        "type": "object",
        "properties": {"title": {"type": "string"}, "rating": {"type": "number"}},
        "required": [],
    }


def test_typeddict_inheritance_mixing_totality() -> None:
    assert schema_for(Derived) == {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string", "description": "the b"}},
        "required": ["a"],
    }


def test_typeddict_not_required() -> None:
    assert schema_for(WithNotRequired) == {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
        "required": ["a"],
    }


def test_dataclass() -> None:
    assert schema_for(Point) == POINT_SCHEMA


def test_nested_dataclass() -> None:
    assert schema_for(Segment) == {
        "type": "object",
        "properties": {
            "start": POINT_SCHEMA,
            "end": {"anyOf": [POINT_SCHEMA, {"type": "null"}]},
            "kind": {"enum": ["line", "arc"], "type": "string"},
        },
        "required": ["start", "end"],
    }


def test_list_of_typeddict() -> None:
    assert schema_for(list[Movie]) == {"type": "array", "items": schema_for(Movie)}


# --- unsupported ---------------------------------------------------------------------------------


class Plain:
    pass


@pytest.mark.parametrize(
    "hint",
    [bytes, complex, Plain, Callable[[int], int], typing.Callable, list[bytes], dict[str, complex]],
    ids=["bytes", "complex", "plain-class", "callable", "bare-callable", "list-bytes", "dict"],
)
def test_unsupported_types_raise_schema_error(hint: Any) -> None:
    with pytest.raises(SchemaError) as info:
        schema_for(hint)
    assert str(info.value).endswith("; pass input_schema= explicitly")
    assert str(info.value).startswith("no JSON Schema for type ")


def test_schema_error_is_a_type_error() -> None:
    assert issubclass(SchemaError, TypeError)
    with pytest.raises(SchemaError, match=r"^no JSON Schema for type <class 'bytes'>; pass input_schema= explicitly$"):
        schema_for(bytes)


def test_fixed_pair_tuple_does_not_claim_homogeneous_items() -> None:
    schema = schema_for(tuple[int, str])
    assert validate([1, "a"], schema) is None


# --- parameters_schema ----------------------------------------------------------------------------


def test_parameters_schema() -> None:
    def tool(ctx: Any, name: str, count: int = 3, flag: bool = False, tags: tuple[str, ...] = (), *a: int, **k: int):
        return None

    assert parameters_schema(tool, frozenset({"ctx"})) == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "count": {"type": "integer", "default": 3},
            "flag": {"type": "boolean", "default": False},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name"],
    }


def test_parameters_schema_defaults_and_unannotated() -> None:
    def fn(x, y: str | None = None, z: list[int] = [1], w: dict[str, int] = {"a": 1}, v: float = 1.5):  # noqa: B006
        return None

    assert parameters_schema(fn, frozenset()) == {
        "type": "object",
        "properties": {
            "x": {},
            "y": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "z": {"type": "array", "items": {"type": "integer"}, "default": [1]},
            "w": {"type": "object", "additionalProperties": {"type": "integer"}, "default": {"a": 1}},
            "v": {"type": "number", "default": 1.5},
        },
        "required": ["x"],
    }


def test_parameters_schema_without_required_or_params() -> None:
    def none() -> None:
        return None

    def opt(a: int = 1) -> None:
        return None

    assert parameters_schema(none, frozenset()) == {"type": "object", "properties": {}}
    assert parameters_schema(opt, frozenset()) == {
        "type": "object",
        "properties": {"a": {"type": "integer", "default": 1}},
    }


def test_parameters_schema_annotated_description_and_default() -> None:
    def fn(city: Annotated[str, "City name"], days: Annotated[int, "Days ahead"] = 1) -> None:
        return None

    assert parameters_schema(fn, frozenset()) == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "days": {"type": "integer", "description": "Days ahead", "default": 1},
        },
        "required": ["city"],
    }


def test_parameters_schema_unsupported_annotation() -> None:
    def fn(data: bytes) -> None:
        return None

    with pytest.raises(SchemaError):
        parameters_schema(fn, frozenset())


# --- validate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "schema", "message"),
    [
        ("x", {"type": "string"}, None),
        (1, {"type": "string"}, "arguments must be of type string"),
        (1, {"type": "integer"}, None),
        (-(2**70), {"type": "integer"}, None),
        (True, {"type": "integer"}, "arguments must be of type integer"),
        (1.0, {"type": "integer"}, "arguments must be of type integer"),
        ("1", {"type": "integer"}, "arguments must be of type integer"),
        (1, {"type": "number"}, None),
        (1.5, {"type": "number"}, None),
        (False, {"type": "number"}, "arguments must be of type number"),
        (True, {"type": "boolean"}, None),
        (0, {"type": "boolean"}, "arguments must be of type boolean"),
        ([], {"type": "array"}, None),
        ((), {"type": "array"}, "arguments must be of type array"),
        ({}, {"type": "object"}, None),
        ([], {"type": "object"}, "arguments must be of type object"),
        (None, {"type": "null"}, None),
        (0, {"type": "null"}, "arguments must be of type null"),
        (None, {"type": ["string", "null"]}, None),
        (1, {"type": ["string", "null"]}, "arguments must be of type string or null"),
        (object(), {"type": "unknown-type"}, None),
        (object(), {}, None),
        ("c", {"enum": ["a", "b"]}, "arguments must be one of ['a', 'b']"),
        ("a", {"enum": ["a", "b"], "type": "string"}, None),
        (3, {"enum": [1, 2], "type": "integer"}, "arguments must be one of [1, 2]"),
    ],
)
def test_validate_simple(value: Any, schema: dict[str, Any], message: str | None) -> None:
    assert validate(value, schema) == message


def test_validate_any_of() -> None:
    schema = schema_for(int | None)
    assert validate(None, schema) is None
    assert validate(3, schema) is None
    assert validate("x", schema) == "arguments matches none of the allowed types"
    assert validate(True, schema) == "arguments matches none of the allowed types"


def test_validate_required_and_properties() -> None:
    schema = schema_for(Point)
    assert validate({"x": 1}, schema) is None
    assert validate({}, schema) == "arguments.x is required"
    assert validate({"x": "1"}, schema) == "arguments.x must be of type integer"
    assert validate({"x": 1, "tags": ["a", 2]}, schema) == "arguments.tags[1] must be of type string"
    assert validate({"x": 1, "unknown": object()}, schema) is None  # extra members are not checked
    assert validate({"x": 1, "y": True}, schema) == "arguments.y must be of type number"


def test_validate_nested_paths() -> None:
    schema = schema_for(Segment)
    ok = {"start": {"x": 0}, "end": None}
    assert validate(ok, schema) is None
    assert validate({"start": {}, "end": None}, schema) == "arguments.start.x is required"
    assert validate({"start": {"x": 0}}, schema) == "arguments.end is required"
    assert validate({"start": {"x": 0}, "end": {"x": "a"}}, schema) == "arguments.end matches none of the allowed types"
    assert validate({**ok, "kind": "circle"}, schema) == "arguments.kind must be one of ['line', 'arc']"


def test_validate_first_problem_wins() -> None:
    schema = schema_for(Movie)
    assert validate({"title": 1, "year": "x"}, schema) == "arguments.title must be of type string"


def test_validate_additional_properties() -> None:
    schema = schema_for(dict[str, int])
    assert validate({"a": 1, "b": 2}, schema) == None  # noqa: E711
    assert validate({"a": 1, "b": "2"}, schema) == "arguments.b must be of type integer"
    assert validate({"a": 1}, {"type": "object", "additionalProperties": False}) is None


def test_validate_list_items() -> None:
    schema = schema_for(list[list[int]])
    assert validate([[1], [2, 3]], schema) is None
    assert validate([[1], [2, "3"]], schema) == "arguments[1][1] must be of type integer"
    assert validate([[1], 2], schema) == "arguments[1] must be of type array"


def test_validate_custom_path() -> None:
    assert validate(1, {"type": "string"}, "params.name") == "params.name must be of type string"


def test_validate_parameters_schema() -> None:
    def fn(name: str, count: int = 3) -> None:
        return None

    schema = parameters_schema(fn, frozenset())
    assert validate({"name": "x"}, schema) is None
    assert validate({"count": 1}, schema) == "arguments.name is required"
    assert validate({"name": "x", "count": 1.5}, schema) == "arguments.count must be of type integer"
    assert validate([], schema) == "arguments must be of type object"


@pytest.mark.parametrize(
    ("value", "hint"),
    [(True, Literal[1, "a"]), (1, Literal[True, "a"]), (0, Literal[False, "x"])],
)
def test_validate_enum_keeps_booleans_and_numbers_apart(value: Any, hint: Any) -> None:
    assert validate(value, schema_for(hint)) == f"arguments must be one of {list(typing.get_args(hint))!r}"
