"""Serving a POST under the stateless revision (2026-07-28): no session, one request, one response."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final, Protocol

from ._access import refusal_for
from ._auth import AuthRefusal, Principal, ResourceServer
from ._config import Config
from ._errors import INVALID_REQUEST, METHOD_NOT_FOUND, ProtocolError, RemoteProtocolError
from ._events import Call, CancelTask, Output, RunHandler, RunTask, SendResponse, StartStream
from ._exchange import Exchange, error_response, sse_headers
from ._http import HttpRequest
from ._jsonrpc import ErrorResponse, Notification, Request, Response, parse_message
from ._listen import Listeners, honored_filter
from ._methods import SessionChange, plan_method
from ._mrtr import RequestState, check_input_responses
from ._peer import Peer
from ._registry import App
from ._stateless_rules import REMOVED_METHODS, StatelessMeta, check_param_headers, validate_request
from ._store import Plan
from ._tasks import TASK_METHODS, TaskFactory, has_tasks_extension, resume_task, task_method, tasks_required

__all__ = ["stateless_post", "STATELESS_METHODS", "StatelessHost"]


class StatelessHost(Protocol):
    """What serving a stateless POST needs from the server (the core's Server provides it)."""

    app: App
    config: Config
    clock: Callable[[], float]
    new_stream_key: Callable[[], str]
    listeners: Listeners
    request_state: RequestState
    auth: ResourceServer | None
    instance: str


# Methods of 2026-07-28, and the capability (registry part) each needs.
STATELESS_METHODS: Final = {
    "server/discover": None,
    "subscriptions/listen": None,
    "completion/complete": None,
    "tools/list": "tools",
    "tools/call": "tools",
    "prompts/list": "prompts",
    "prompts/get": "prompts",
    "resources/list": "resources",
    "resources/templates/list": "resources",
    "resources/read": "resources",
    "tasks/get": "tasks",
    "tasks/update": "tasks",
    "tasks/cancel": "tasks",
}
_INPUT_METHODS: Final = frozenset({"tools/call", "prompts/get", "resources/read"})


def stateless_post(
    server: StatelessHost, request: HttpRequest, value: Any, principal: Principal | None = None
) -> Plan[list[Output]]:
    """Answer a stateless POST: a request gets one response, a notification 202."""
    if isinstance(value, list):
        raise RemoteProtocolError("Invalid Request: batches are not part of 2026-07-28", code=INVALID_REQUEST)
    message = parse_message(value)
    if isinstance(message, Notification):
        return [SendResponse(202)]
    if not isinstance(message, Request):
        raise RemoteProtocolError("Invalid Request: clients do not send responses in 2026-07-28")
    try:
        meta = validate_request(request.headers, value)
        return (yield from _serve(server, request, message, meta, principal))
    except ProtocolError as exc:
        return [error_response(exc, message.id)]


def _offered(server: StatelessHost, method: str) -> bool:
    if method in REMOVED_METHODS or method not in STATELESS_METHODS:
        return False
    part = STATELESS_METHODS[method]
    app = server.app
    if part == "tasks":  # the extension exists here only if some tool can become a task
        return app.offers_tasks
    return part is None or bool(
        {"tools": app.tools, "prompts": app.prompts, "resources": app.resources or app.templates}[part]
    )


def _serve(
    server: StatelessHost, http: HttpRequest, request: Request, meta: StatelessMeta, principal: Principal | None
) -> Plan[list[Output]]:
    app, method = server.app, request.method
    if not _offered(server, method):
        raise RemoteProtocolError(f"Method not found: {method}", error_status_hint=404, code=METHOD_NOT_FOUND)
    denied = refusal_for(request, principal, app, server.auth)
    if denied is not None:
        if isinstance(denied, AuthRefusal):
            return [error_response(denied.error(), request.id, (("www-authenticate", denied.challenge),))]
        raise denied
    peer = Peer(
        None,
        meta.protocol_version,
        meta.capabilities,
        meta.log_level,
        stateless=True,
        server_info={"name": app.name, "version": app.version},
        principal=principal,
    )
    stream = server.new_stream_key()
    params = request.params or {}
    owner = principal.key if principal is not None else None
    if method in TASK_METHODS:
        told = yield from task_method(request, meta.capabilities, owner, server.instance, server.config, server.clock)
        outputs = yield from _exchange(server, peer, stream, request).respond(Response(request.id, told.result))
        if told.cancel is not None:
            outputs.append(CancelTask(told.cancel))
        if told.resume is not None:
            resumed = resume_task(server, told.resume)
            if resumed is not None:
                outputs.append(resumed)
        return outputs
    if method == "subscriptions/listen":
        honored = honored_filter(params.get("notifications"), app)
        ack = server.listeners.open(request.id, stream, honored)
        return [StartStream(None, stream, sse_headers(None)), ack]
    planned = plan_method(request, None, app, server.config)
    assert not isinstance(planned, SessionChange)  # only handshake methods change sessions
    if isinstance(planned, Call):
        planned = _with_inputs(server, http, request, planned)
    exchange = _exchange(server, peer, stream, request)
    tool = app.tools.get(planned.name) if isinstance(planned, Call) and planned.kind == "tool" else None
    if isinstance(planned, Call) and tool is not None and tool.task_support != "forbidden":
        if not has_tasks_extension(meta.capabilities):
            if tool.task_support == "required":
                raise tasks_required(f"tool {tool.name!r}")
        else:
            given = params.get("arguments")
            arguments: dict[str, Any] = given if isinstance(given, dict) else {}
            factory = TaskFactory(server.config, server.clock, server.instance, owner, meta.capabilities, arguments)
            if tool.task_start == "immediate":
                record, run = yield from factory.create(planned)
                outputs = yield from exchange.respond(Response(request.id, record.created()))
                return [*outputs, RunTask(planned, run)]
            exchange.tasks = factory
    if isinstance(planned, Call):
        started: list[Output] = []
        if planned.streaming:
            started += yield from exchange.start_stream()
        return [*started, RunHandler(planned, exchange)]
    answer = planned if isinstance(planned, ErrorResponse) else Response(request.id, planned)
    return (yield from exchange.respond(answer))


def _exchange(server: StatelessHost, peer: Peer, stream: str, request: Request) -> Exchange:
    return Exchange(
        config=server.config,
        peer=peer,
        stream=stream,
        requests=[request],
        batch=False,
        now=server.clock,
        request_state=server.request_state,
        cache=(server.app.cache_ttl_ms, server.app.cache_scope),
    )


def _with_inputs(server: StatelessHost, http: HttpRequest, request: Request, call: Call) -> Call:
    """Check mirrored parameter headers, and attach the input responses gathered so far."""
    params = request.params or {}
    if call.kind == "tool":
        tool = server.app.tools[call.name]
        check_param_headers(http.headers, tool.input_schema, params.get("arguments") or {})
    if request.method not in _INPUT_METHODS:
        return call
    answers: dict[str, Any] = {}
    if "requestState" in params:
        answers.update(server.request_state.open(params["requestState"], request.method, call.name, server.clock()))
    answers.update(check_input_responses(params.get("inputResponses")))
    return replace(call, answers=answers)
