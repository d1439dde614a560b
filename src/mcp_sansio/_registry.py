"""The application registry: tools, resources, templates, prompts and completions.

A pure catalogue. It knows names, schemas and which function to call; the
adapters do the calling. Decorators derive input schemas from type hints.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_type_hints

from ._auth import Principal
from ._context import Context
from ._results import tool_result
from ._schema import JSONSchema, compile_validator, parameters_schema
from ._uritemplate import UriTemplate

__all__ = ["App", "ToolDef", "ResourceDef", "TemplateDef", "PromptDef", "Handler", "Authorizer"]

Handler = Callable[..., Any]
# The authorization hook: (principal or None, "tool" | "resource" | "prompt", name or URI) -> allowed.
Authorizer = Callable[[Principal | None, str, str], bool]
F = TypeVar("F", bound=Handler)


def _context_param(fn: Handler) -> str | None:
    try:
        hints = get_type_hints(fn)
    except Exception:  # unresolvable annotations: no context parameter can be recognised
        return None
    return next((name for name, hint in hints.items() if hint is Context), None)


@dataclass(frozen=True, slots=True)
class ToolDef:
    """A registered tool."""

    name: str
    fn: Handler
    input_schema: JSONSchema
    description: str | None = None
    title: str | None = None
    output_schema: JSONSchema | None = None
    annotations: dict[str, Any] | None = None
    context_param: str | None = None
    streaming: bool = False
    check_arguments: Callable[[Any], str | None] = field(default=lambda v: None, compare=False, repr=False)
    convert: Callable[[Any], dict[str, Any]] = field(default=dict, compare=False, repr=False)
    scopes: tuple[str, ...] = ()
    task_support: str = "forbidden"
    task_start: str = "immediate"
    on_lost: str = "fail"

    def describe(self) -> dict[str, Any]:
        """The entry of this tool in ``tools/list``."""
        out: dict[str, Any] = {"name": self.name, "inputSchema": self.input_schema}
        if self.task_support != "forbidden":
            out["execution"] = {"taskSupport": self.task_support}
        for key, value in (
            ("title", self.title),
            ("description", self.description),
            ("outputSchema", self.output_schema),
            ("annotations", self.annotations),
        ):
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class ResourceDef:
    """A registered resource with a fixed URI."""

    uri: str
    name: str
    fn: Handler
    description: str | None = None
    mime_type: str | None = None
    title: str | None = None
    context_param: str | None = None
    cache: tuple[int, str] | None = None
    scopes: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """The entry of this resource in ``resources/list``."""
        out: dict[str, Any] = {"uri": self.uri, "name": self.name}
        for key, value in (("title", self.title), ("description", self.description), ("mimeType", self.mime_type)):
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class TemplateDef:
    """A registered resource template (RFC 6570)."""

    template: UriTemplate
    name: str
    fn: Handler
    description: str | None = None
    mime_type: str | None = None
    title: str | None = None
    context_param: str | None = None
    cache: tuple[int, str] | None = None
    scopes: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """The entry of this template in ``resources/templates/list``."""
        out: dict[str, Any] = {"uriTemplate": self.template.text, "name": self.name}
        for key, value in (("title", self.title), ("description", self.description), ("mimeType", self.mime_type)):
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class PromptDef:
    """A registered prompt."""

    name: str
    fn: Handler
    arguments: tuple[dict[str, Any], ...] = ()
    description: str | None = None
    title: str | None = None
    context_param: str | None = None
    scopes: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """The entry of this prompt in ``prompts/list``."""
        out: dict[str, Any] = {"name": self.name, "arguments": list(self.arguments)}
        for key, value in (("title", self.title), ("description", self.description)):
            if value is not None:
                out[key] = value
        return out


def _scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    if isinstance(scopes, str):
        raise TypeError("scopes is a list of scope names, not one string")
    return tuple(scopes)


def _doc(fn: Handler) -> str | None:
    doc = inspect.getdoc(fn)
    return doc.strip() if doc else None


@dataclass
class App:
    """A server's catalogue of tools, resources, templates, prompts and completions.

    ``cache_ttl_ms`` and ``cache_scope`` are the cache hints of stateless
    (2026-07-28) discover and list results; resources can set their own.

    Example::

        app = App("demo")

        @app.tool()
        async def add(a: int, b: int) -> str:
            return str(a + b)
    """

    name: str = "mcp-sansio"
    version: str = "0.1.0"
    instructions: str | None = None
    cache_ttl_ms: int = 0
    cache_scope: str = "private"
    tools: dict[str, ToolDef] = field(default_factory=dict)
    resources: dict[str, ResourceDef] = field(default_factory=dict)
    templates: list[TemplateDef] = field(default_factory=list)
    prompts: dict[str, PromptDef] = field(default_factory=dict)
    completer: Handler | None = None
    authorizer: Authorizer | None = None

    @property
    def offers_tasks(self) -> bool:
        """Whether some tool can run as a task: only then are tasks offered (in either revision)."""
        return any(tool.task_support != "forbidden" for tool in self.tools.values())

    def tool(
        self,
        name: str | None = None,
        *,
        description: str | None = None,
        title: str | None = None,
        input_schema: JSONSchema | None = None,
        output_schema: JSONSchema | None = None,
        annotations: dict[str, Any] | None = None,
        scopes: Iterable[str] = (),
        task_support: str = "forbidden",
        task_start: str = "immediate",
        on_lost: str = "fail",
    ) -> Callable[[F], F]:
        """Register an async function (or async generator, for streaming) as a tool.

        ``scopes``: OAuth scopes a caller's token must grant to call it (with authorization
        on; a token without them gets 403 ``insufficient_scope``).

        Tasks (the ``io.modelcontextprotocol/tasks`` extension of 2026-07-28):
        ``task_support`` is ``"forbidden"`` (always answered in the request), ``"optional"``
        (a task when the client declares the extension) or ``"required"`` (-32021 for a client
        that does not). ``task_start="immediate"`` creates the task before the tool runs;
        ``"manual"`` lets the tool gather input in rounds first and become a task when it
        calls ``ctx.start_task()`` (returning earlier answers in the request). ``on_lost`` says
        what happens when the runtime running the task dies: ``"fail"`` or ``"restart"`` (run
        the tool again from its arguments and the inputs gathered so far, on another runtime).

        The same declaration serves the experimental tasks of 2025-11-25 sessions: a
        ``tools/call`` with ``params.task`` runs an ``"optional"`` or ``"required"`` tool as a
        task (always started at once: ``task_start`` only matters in 2026-07-28); a
        ``"required"`` tool called without it, or a ``"forbidden"`` one called with it, gets
        -32601; and since earlier revisions have no tasks, they cannot call ``"required"`` tools.
        """
        if task_support not in ("forbidden", "optional", "required"):
            raise ValueError(f"task_support must be forbidden, optional or required, not {task_support!r}")
        if task_start not in ("immediate", "manual") or on_lost not in ("fail", "restart"):
            raise ValueError("task_start is immediate or manual; on_lost is fail or restart")

        def register(fn: F) -> F:
            ctx = _context_param(fn)
            schema = input_schema or parameters_schema(fn, frozenset({ctx} if ctx else ()))
            tool_name = name or fn.__name__
            if tool_name in self.tools:
                raise ValueError(f"tool {tool_name!r} is already registered")
            self.tools[tool_name] = ToolDef(
                tool_name,
                fn,
                schema,
                description or _doc(fn),
                title,
                output_schema,
                annotations,
                ctx,
                inspect.isasyncgenfunction(fn),
                compile_validator(schema),
                functools.partial(tool_result, structured=output_schema is not None),
                _scopes(scopes),
                task_support,
                task_start,
                on_lost,
            )
            return fn

        return register

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        title: str | None = None,
        ttl_ms: int | None = None,
        cache_scope: str | None = None,
        scopes: Iterable[str] = (),
    ) -> Callable[[F], F]:
        """Register a function returning a resource's contents (str, bytes, or content dicts).

        ``ttl_ms`` and ``cache_scope`` override the app's cache hints for reads of it;
        ``scopes`` are the OAuth scopes a reader's token must grant.
        """

        def register(fn: F) -> F:
            if uri in self.resources:
                raise ValueError(f"resource {uri!r} is already registered")
            cache = self._cache(ttl_ms, cache_scope)
            self.resources[uri] = ResourceDef(
                uri,
                name or fn.__name__,
                fn,
                description or _doc(fn),
                mime_type,
                title,
                _context_param(fn),
                cache,
                _scopes(scopes),
            )
            return fn

        return register

    def resource_template(
        self,
        uri_template: str,
        *,
        name: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        title: str | None = None,
        ttl_ms: int | None = None,
        cache_scope: str | None = None,
        scopes: Iterable[str] = (),
    ) -> Callable[[F], F]:
        """Register a function serving every URI that matches an RFC 6570 template (``scopes`` as for resources)."""

        def register(fn: F) -> F:
            template = UriTemplate.parse(uri_template)
            cache = self._cache(ttl_ms, cache_scope)
            self.templates.append(
                TemplateDef(
                    template,
                    name or fn.__name__,
                    fn,
                    description or _doc(fn),
                    mime_type,
                    title,
                    _context_param(fn),
                    cache,
                    _scopes(scopes),
                )
            )
            return fn

        return register

    def prompt(
        self,
        name: str | None = None,
        *,
        description: str | None = None,
        title: str | None = None,
        scopes: Iterable[str] = (),
    ) -> Callable[[F], F]:
        """Register a function returning a prompt's messages; its parameters are the arguments.

        ``scopes``: as for tools.
        """

        def register(fn: F) -> F:
            ctx = _context_param(fn)
            args = tuple(
                {"name": p.name, "required": p.default is inspect.Parameter.empty}
                for p in inspect.signature(fn).parameters.values()
                if p.name != ctx
            )
            prompt_name = name or fn.__name__
            if prompt_name in self.prompts:
                raise ValueError(f"prompt {prompt_name!r} is already registered")
            self.prompts[prompt_name] = PromptDef(
                prompt_name, fn, args, description or _doc(fn), title, ctx, _scopes(scopes)
            )
            return fn

        return register

    def completion(self) -> Callable[[F], F]:
        """Register the ``completion/complete`` handler: ``fn(ref, argument, context) -> list[str]``."""

        def register(fn: F) -> F:
            self.completer = fn
            return fn

        return register

    def authorize(self, fn: Authorizer) -> Authorizer:
        """Register the authorization hook: ``fn(principal, kind, name) -> bool``.

        Called before each ``tools/call``, ``resources/read`` and ``prompts/get`` (``kind`` is
        ``tool``, ``resource`` or ``prompt``; ``name`` the tool or prompt name or the URI),
        with the caller's :class:`~mcp_sansio.Principal` (None with authorization off). False
        refuses the call with 403. It must not block: it runs inside the core.
        """
        self.authorizer = fn
        return fn

    def __post_init__(self) -> None:
        self._cache(self.cache_ttl_ms, self.cache_scope)  # validate the app-wide hints too

    def _cache(self, ttl_ms: int | None, scope: str | None) -> tuple[int, str]:
        ttl = self.cache_ttl_ms if ttl_ms is None else ttl_ms
        chosen = self.cache_scope if scope is None else scope
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0 or chosen not in ("public", "private"):
            raise ValueError("ttl_ms must be >= 0 and cache_scope 'public' or 'private'")
        return ttl, chosen

    def find_template(self, uri: str) -> tuple[TemplateDef, dict[str, str]] | None:
        """The first template matching ``uri`` and the variables it binds."""
        for template in self.templates:
            bound = template.template.match(uri)
            if bound is not None:
                return template, bound
        return None
