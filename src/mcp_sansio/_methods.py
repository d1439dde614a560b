"""The MCP methods of the handshake revisions: what each request is answered with.

Pure: :func:`plan_method` maps a request and the session to an immediate
result, an error, a session change, or a :class:`Call` for a user handler.
"""

from __future__ import annotations

import base64
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._config import Config
from ._errors import INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, RESOURCE_NOT_FOUND
from ._events import Call
from ._jsonrpc import ErrorResponse, Request
from ._registry import App
from ._results import completion_result, prompt_result, resource_result, tool_error_result
from ._session import LOG_LEVELS, SessionRecord
from ._stateless_rules import supported_versions
from ._store import UpdateSession
from ._task_record import TASKS_EXTENSION
from ._versions import has_session_tasks

__all__ = ["SessionChange", "Planned", "plan_method", "server_capabilities"]


@dataclass(frozen=True, slots=True)
class SessionChange:
    """Store ``update``, then answer with ``result``."""

    update: UpdateSession
    result: dict[str, Any]


Planned = dict[str, Any] | ErrorResponse | SessionChange | Call


def server_capabilities(app: App, protocol_version: str | None = None) -> dict[str, Any]:
    """What this server offers, for the ``initialize`` result of a session of ``protocol_version``.

    2025-11-25 sessions also get ``tasks`` (``tasks/list``, ``tasks/cancel``, task-augmented
    ``tools/call``) when some tool can run as a task.
    """
    caps: dict[str, Any] = {"logging": {}, "completions": {}}
    if app.tools:
        caps["tools"] = {"listChanged": True}
    if app.resources or app.templates:
        caps["resources"] = {"subscribe": True, "listChanged": True}
    if app.prompts:
        caps["prompts"] = {"listChanged": True}
    if protocol_version is not None and has_session_tasks(protocol_version) and app.offers_tasks:
        caps["tasks"] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
    return caps


def _error(request: Request, code: int, message: str, data: Any = None) -> ErrorResponse:
    return ErrorResponse(request.id, code, message, data)


def _page(request: Request, items: list[dict[str, Any]], key: str, config: Config) -> Planned:
    cursor = (request.params or {}).get("cursor")
    start = 0
    if cursor is not None:
        try:
            start = int(base64.urlsafe_b64decode(str(cursor).encode()).decode().removeprefix("offset:"))
            if start < 0 or start > len(items):
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            return _error(request, INVALID_PARAMS, f"Invalid params: unknown cursor {cursor!r}")
    end = start + config.page_size
    result: dict[str, Any] = {key: items[start:end]}
    if end < len(items):
        result["nextCursor"] = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode()
    return result


@functools.lru_cache(maxsize=1024)
def _parameters(fn: Callable[..., Any]) -> frozenset[str] | None:
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return frozenset(p.name for p in params)


def _bind(fn: Callable[..., Any], arguments: dict[str, Any], ctx: str | None) -> dict[str, Any]:
    accepted = _parameters(fn)
    return {k: v for k, v in arguments.items() if k != ctx and (accepted is None or k in accepted)}


def _progress_token(request: Request) -> str | int | None:
    meta = (request.params or {}).get("_meta")
    token = meta.get("progressToken") if isinstance(meta, dict) else None
    return token if isinstance(token, (str, int)) and not isinstance(token, bool) else None


def _tool_call(request: Request, app: App) -> Planned:
    params = request.params or {}
    name, arguments = params.get("name"), params.get("arguments", {})
    if not isinstance(name, str):
        return _error(request, INVALID_PARAMS, "Invalid params: tools/call needs a string name")
    tool = app.tools.get(name)
    if tool is None:
        return _error(request, INVALID_PARAMS, f"Unknown tool: {name!r}")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return _error(request, INVALID_PARAMS, "Invalid params: arguments must be an object")
    problem = tool.check_arguments(arguments)
    if problem is not None:
        # Input validation failures are tool execution errors (SEP-1303), so a model can correct itself.
        return tool_error_result(f"Invalid arguments for tool {name!r}: {problem}")
    return Call(
        request.id,
        "tool",
        tool.fn,
        _bind(tool.fn, arguments, tool.context_param),
        tool.context_param,
        tool.streaming,
        _progress_token(request),
        name,
        tool.convert,
    )


def _resource_read(request: Request, app: App, *, stateless: bool) -> Planned:
    uri = (request.params or {}).get("uri")
    if not isinstance(uri, str):
        return _error(request, INVALID_PARAMS, "Invalid params: resources/read needs a string uri")
    resource = app.resources.get(uri)
    if resource is not None:
        convert = functools.partial(resource_result, uri, mime_type=resource.mime_type)
        return Call(
            request.id,
            "resource",
            resource.fn,
            {},
            resource.context_param,
            name=uri,
            convert=convert,
            cache=resource.cache,
        )
    found = app.find_template(uri)
    if found is None:
        # 2026-07-28 moved "not found" to -32602 (SEP-2164); the handshake revisions use -32002.
        code = INVALID_PARAMS if stateless else RESOURCE_NOT_FOUND
        return _error(request, code, f"Resource not found: {uri}", {"uri": uri})
    template, bound = found
    convert = functools.partial(resource_result, uri, mime_type=template.mime_type)
    kwargs = _bind(template.fn, bound, template.context_param)
    return Call(
        request.id,
        "resource",
        template.fn,
        kwargs,
        template.context_param,
        name=uri,
        convert=convert,
        cache=template.cache,
    )


def _prompt_get(request: Request, app: App) -> Planned:
    params = request.params or {}
    name, arguments = params.get("name"), params.get("arguments") or {}
    if not isinstance(name, str):
        return _error(request, INVALID_PARAMS, "Invalid params: prompts/get needs a string name")
    prompt = app.prompts.get(name)
    if prompt is None:
        return _error(request, INVALID_PARAMS, f"Unknown prompt: {name!r}")
    if not isinstance(arguments, dict) or not all(isinstance(v, str) for v in arguments.values()):
        return _error(request, INVALID_PARAMS, "Invalid params: prompt arguments must be an object of strings")
    missing = [a["name"] for a in prompt.arguments if a["required"] and a["name"] not in arguments]
    if missing:
        return _error(request, INVALID_PARAMS, f"Missing required argument(s) for prompt {name!r}: {missing}")
    convert = functools.partial(prompt_result, description=prompt.description)
    kwargs = _bind(prompt.fn, arguments, prompt.context_param)
    return Call(request.id, "prompt", prompt.fn, kwargs, prompt.context_param, name=name, convert=convert)


def _complete(request: Request, app: App) -> Planned:
    params = request.params or {}
    ref, argument = params.get("ref"), params.get("argument")
    if not isinstance(ref, dict) or not isinstance(argument, dict) or not isinstance(argument.get("name"), str):
        return _error(request, INVALID_PARAMS, "Invalid params: completion/complete needs ref and argument.name")
    if app.completer is None:
        return completion_result([])
    context = params.get("context") if isinstance(params.get("context"), dict) else {}
    kwargs = {"ref": ref, "argument": argument, "context": context}
    return Call(request.id, "completion", app.completer, kwargs, name="complete", convert=completion_result)


def _stateless_only(request: Request, app: App) -> Planned:
    if request.method == "server/discover":
        capabilities = server_capabilities(app)
        if app.offers_tasks:
            capabilities["extensions"] = {TASKS_EXTENSION: {}}  # SEP-2663: not a capabilities.tasks slot
        result: dict[str, Any] = {"supportedVersions": supported_versions(), "capabilities": capabilities}
        if app.instructions:
            result["instructions"] = app.instructions
        return result
    return _error(request, METHOD_NOT_FOUND, f"Method not found: {request.method}")


def _set_level(request: Request, session: SessionRecord) -> Planned:
    level = (request.params or {}).get("level")
    if level not in LOG_LEVELS:
        return _error(request, INVALID_PARAMS, f"Invalid params: level must be one of {', '.join(LOG_LEVELS)}")
    return SessionChange(UpdateSession(session.id, log_level=level), {})


def _subscription(request: Request, session: SessionRecord, subscribe: bool) -> Planned:
    uri = (request.params or {}).get("uri")
    if not isinstance(uri, str):
        return _error(request, INVALID_PARAMS, f"Invalid params: {request.method} needs a string uri")
    change = frozenset({uri})
    update = UpdateSession(session.id, subscribe=change) if subscribe else UpdateSession(session.id, unsubscribe=change)
    return SessionChange(update, {})


def plan_method(request: Request, session: SessionRecord | None, app: App, config: Config) -> Planned:
    """How to answer ``request`` in a handshake ``session``, or statelessly when ``session`` is None."""
    method = request.method
    if method == "tools/call":
        return _tool_call(request, app)
    if method == "ping":
        return {}
    if method == "tools/list":
        return _page(request, [t.describe() for t in app.tools.values()], "tools", config)
    if method == "resources/list":
        return _page(request, [r.describe() for r in app.resources.values()], "resources", config)
    if method == "resources/templates/list":
        return _page(request, [t.describe() for t in app.templates], "resourceTemplates", config)
    if method == "prompts/list":
        return _page(request, [p.describe() for p in app.prompts.values()], "prompts", config)
    if method == "prompts/get":
        return _prompt_get(request, app)
    if method == "completion/complete":
        return _complete(request, app)
    if method == "resources/read":
        return _resource_read(request, app, stateless=session is None)
    if session is None:
        return _stateless_only(request, app)
    if method in ("resources/subscribe", "resources/unsubscribe"):
        return _subscription(request, session, method == "resources/subscribe")
    if method == "logging/setLevel":
        return _set_level(request, session)
    if method == "initialize":
        return _error(request, INVALID_REQUEST, "Invalid Request: this session is already initialized")
    return _error(request, METHOD_NOT_FOUND, f"Method not found: {method}")
