"""Construction of frozen dataclasses at the cost of ordinary ones.

A frozen dataclass's generated ``__init__`` sets each field through
``object.__setattr__``, about twice the cost of a plain assignment; the core builds
a dozen such values per request (commands, events, messages). :func:`fast_init`
gives a frozen, slotted dataclass an ``__init__`` with the same signature that
stores each field through its slot's descriptor directly: the values stay frozen
(``__setattr__`` still refuses), equal, hashable and printable as before.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["fast_init"]

T = TypeVar("T")


class _Factory:
    """Marks "no argument given: call the field's default_factory" (shown as dataclasses show it)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def fast_init(cls: type[T]) -> type[T]:
    """Replace the generated ``__init__`` of a frozen, slotted dataclass with an equivalent faster one."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"fast_init needs a @dataclass(frozen=True, slots=True) class, not {cls.__name__}")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"fast_init does not run __post_init__ ({cls.__name__} has one)")
    names: dict[str, Any] = {"_FACTORY": _FACTORY}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            raise TypeError(f"fast_init does not handle init=False fields ({cls.__name__}.{f.name})")
        names[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is not dataclasses.MISSING:
            names[f"_default_{f.name}"] = f.default
            param = f"{f.name}=_default_{f.name}"
        elif f.default_factory is not dataclasses.MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            param = f"{f.name}=_FACTORY"
            body.append(f"    if {f.name} is _FACTORY: {f.name} = _factory_{f.name}()")
        else:
            param = f.name
        (keyword if f.kw_only else positional).append(param)
        body.append(f"    _set_{f.name}(self, {f.name})")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({signature}) -> None:\n" + "\n".join(body or ["    pass"])
    exec(source, names)
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    init.__dataclass_init__ = cls.__init__  # kept for the test that compares signatures
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
