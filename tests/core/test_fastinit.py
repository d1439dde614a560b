"""fast_init: the same constructor as the dataclass's, only faster; the values stay frozen."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any

import pytest

import mcp_sansio._events
import mcp_sansio._http
import mcp_sansio._jsonrpc
import mcp_sansio._peer
import mcp_sansio._session
import mcp_sansio._store
from mcp_sansio._fastinit import fast_init


def _shape(fn: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, repr(p.default)) for p in inspect.signature(fn).parameters.values()]


@dataclass(frozen=True, slots=True)
class _Twin:
    a: int
    b: str = "b"
    c: list[int] = field(default_factory=list)
    d: int = field(default=4, kw_only=True)


Twin = fast_init(_Twin)


def test_values_equal_the_dataclass_ones() -> None:
    slow = Twin.__init__.__dataclass_init__  # type: ignore[attr-defined]
    for args, kwargs in [((1,), {}), ((1, "x"), {}), ((1, "x", [2]), {"d": 5}), ((), {"a": 3, "d": 0})]:
        fast = Twin(*args, **kwargs)
        reference = object.__new__(Twin)
        slow(reference, *args, **kwargs)
        assert fast == reference and hash((fast.a, fast.b, fast.d)) == hash((reference.a, reference.b, reference.d))
        assert repr(fast) == repr(reference)


def test_factories_run_per_instance_and_values_stay_frozen() -> None:
    one, two = Twin(1), Twin(2)
    assert one.c == [] and one.c is not two.c
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.a = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        Twin()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Twin(1, "b", [], 4)  # type: ignore[misc]  # d is keyword-only


def test_refuses_what_it_cannot_reproduce() -> None:
    with pytest.raises(TypeError, match="frozen=True, slots=True"):
        fast_init(dataclass(slots=True)(type("Open", (), {"__annotations__": {"a": int}})))

    @dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    with pytest.raises(TypeError, match="__post_init__"):
        fast_init(Checked)

    @dataclass(frozen=True, slots=True)
    class Hidden:
        a: int = field(default=0, init=False)

    with pytest.raises(TypeError, match="init=False"):
        fast_init(Hidden)


@pytest.mark.parametrize(
    "module",
    [
        mcp_sansio._events,
        mcp_sansio._store,
        mcp_sansio._jsonrpc,
        mcp_sansio._http,
        mcp_sansio._peer,
        mcp_sansio._session,
    ],
)
def test_every_core_value_keeps_its_dataclass_signature(module: Any) -> None:
    checked = 0
    for value in vars(module).values():
        original = getattr(getattr(value, "__init__", None), "__dataclass_init__", None)
        if isinstance(value, type) and original is not None and value.__module__ == module.__name__:
            assert _shape(value.__init__) == _shape(original), value.__name__
            checked += 1
    assert checked > 0
