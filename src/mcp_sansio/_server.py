"""The core's entry point: one :class:`Server` turns HTTP requests into outputs.

Theory of operation
-------------------
An adapter hands the core each request head (:meth:`Server.check_head`, for
an early answer before the body is read) and then the whole request
(:meth:`Server.receive`). The answer is a *plan*: a generator that yields
store commands and finally returns a list of outputs (``_events``). The
adapter carries the outputs out in order: send a response, start an SSE
stream, deliver an event, run a handler, wake a waiter, cancel a handler, run
a task or wait for one (a 2025-11-25 ``tasks/result``, step by step).

A POST with requests becomes an :class:`~mcp_sansio._exchange.Exchange`,
which the adapter drives with what the handlers do; the exchange decides
between JSON and SSE and numbers every event. A GET attaches a reader to a
stream (replaying its log after ``Last-Event-ID``). Nothing here performs I/O
or reads a clock or random source it was not given.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from typing import Any

from ._access import refusal_for
from ._auth import AuthRefusal, Principal, ResourceServer, TokenClaims
from ._config import Config
from ._errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    SESSION_NOT_FOUND,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from ._events import (
    Call,
    CancelRequest,
    DeliverResponse,
    Output,
    ResumeStream,
    RunHandler,
    SendEvent,
    SendResponse,
    SessionClosed,
    WaitTask,
)
from ._exchange import JSON_HEADERS, Exchange, error_response, sse_headers
from ._http import ALLOWED_METHODS, HttpRequest, accepts, origin_and_host_refusal
from ._jsonrpc import (
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
    dumps,
    loads,
    parse_value,
    request_key,
)
from ._listen import LIST_CHANGED, Listeners
from ._methods import SessionChange, plan_method, server_capabilities
from ._mrtr import RequestState
from ._peer import Peer
from ._registry import App
from ._session import STANDALONE_STREAM, SessionRecord
from ._session_tasks import TaskWaitStep, concerns_tasks, serve_session_task, task_input, task_result_step
from ._sse import format_event_id, frame_comment, frame_event, parse_event_id
from ._stateless import stateless_post
from ._stateless_rules import is_stateless
from ._store import (
    AppendEvent,
    ClaimOutcome,
    ClaimRequest,
    ClaimStandalone,
    CountSessions,
    DeleteSession,
    ExpireSessions,
    ExpireTasks,
    ListSessions,
    LoadAndClaim,
    LoadSession,
    LogSlice,
    LostTasks,
    OpenStream,
    Plan,
    ReadEvents,
    ReleaseStandalone,
    SaveSession,
    UpdateSession,
)
from ._task_record import TaskRecord, TaskStatus
from ._tasks import change_task, lost_task_fate, resume_task
from ._versions import HANDSHAKE_VERSIONS, has_batches, has_priming, negotiate

__all__ = ["Server"]

# A session's last_seen is refreshed at most this often (seconds): idle expiry needs no finer
# grain, and a save per request would cost a store write per request.
_TOUCH_EVERY = 1.0


_HOST_CACHE_SIZE = 512
_PEER_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=64)
def _is_json(content_type: str | None) -> bool:
    # Cached: clients send one or two Content-Type spellings.
    return (content_type or "").split(";")[0].strip().lower() == "application/json"


@functools.lru_cache(maxsize=256)
def _accepts_json_and_sse(accept: str | None) -> bool:
    return accepts(accept, "application/json") and accepts(accept, "text/event-stream")


def _default_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits, visible ASCII


def _refused(refusal: AuthRefusal | RemoteProtocolError, request_id: RequestId | None = None) -> SendResponse:
    """The HTTP answer to a refused request: with ``WWW-Authenticate`` when the token is the reason."""
    if isinstance(refusal, RemoteProtocolError):
        return error_response(refusal, request_id)
    return error_response(refusal.error(), request_id, (("www-authenticate", refusal.challenge),))


def _default_stream_key() -> str:
    return secrets.token_hex(8)


class Server:
    """A Streamable HTTP MCP server, minus the I/O.

    Args:
        app: The catalogue of tools, resources and prompts to serve.
        config: Limits and policies; defaults are safe for a local server.
        clock: Returns the current time in seconds (injected for replayable tests).
        new_session_id: Returns a fresh, unguessable session id.
        new_stream_key: Returns a fresh stream key (alphanumeric, unique per session).
        state_key: The HMAC key for ``requestState`` (2026-07-28); random if not given,
            so several processes serving one endpoint must pass the same key.
        auth: Serve as an OAuth 2.1 resource server: every request needs a bearer token
            (see :meth:`bearer_token`, :meth:`authenticate`), and a session is bound to the
            principal that created it.
    """

    def __init__(
        self,
        app: App,
        config: Config | None = None,
        *,
        clock: Callable[[], float] = time.time,
        new_session_id: Callable[[], str] = _default_token,
        new_stream_key: Callable[[], str] = _default_stream_key,
        state_key: bytes | None = None,
        auth: ResourceServer | None = None,
    ) -> None:
        self.app = app
        self.auth = auth
        self.config = config or Config()
        self.clock = clock
        self._new_session_id = new_session_id
        self.new_stream_key = new_stream_key
        # Signs requestState (2026-07-28); servers behind one load balancer must share it.
        self.request_state = RequestState(state_key if state_key is not None else secrets.token_bytes(32))
        # Who runs tasks here: a task's runner and lease name it (another instance has another).
        self.instance = secrets.token_hex(8)
        self.listeners = Listeners()
        # A server sees the same few (Origin, Host) pairs on nearly every request.
        self._host_refusals: dict[tuple[str | None, str | None], tuple[int, str] | None] = {}
        self._peers: dict[str, tuple[SessionRecord, Principal | None, Peer]] = {}

    # -- authorization (with ``auth``) ---------------------------------------------

    def resource_metadata(self, request: HttpRequest) -> SendResponse | None:
        """The answer to a request for the protected-resource metadata; None for any other path.

        Adapters ask before their own path check: the metadata lives under
        ``/.well-known/``, not at the MCP endpoint.
        """
        if self.auth is None or request.target.partition("?")[0] != self.auth.metadata_path:
            return None
        if request.method != "GET":
            return SendResponse(405, (("allow", "GET"),))
        # Public and cacheable: browsers' clients read it cross-origin.
        headers = (*JSON_HEADERS, ("access-control-allow-origin", "*"), ("cache-control", "max-age=3600"))
        return SendResponse(200, headers, dumps(self.auth.metadata()))

    def bearer_token(self, request: HttpRequest) -> str | SendResponse | None:
        """The request's bearer token to verify; a 401/400 to send instead; None with authorization off."""
        if self.auth is None:
            return None
        found = self.auth.bearer_token(request.headers.get_all("authorization"))
        return found if isinstance(found, str) else _refused(found)

    def authenticate(self, claims: TokenClaims | None) -> Principal | SendResponse:
        """The principal of a token the adapter's verifier accepted (``claims``) or rejected (None).

        Or the answer to send instead: 401 ``invalid_token`` (expired, another audience,
        an untrusted issuer) or 403 ``insufficient_scope``.
        """
        if self.auth is None:
            raise LocalProtocolError("authenticate needs a Server made with auth=ResourceServer(...)")
        found = self.auth.authenticate(claims, self.clock())
        return found if isinstance(found, Principal) else _refused(found)

    def verifier_unavailable(self) -> SendResponse:
        """The answer when the adapter's token verifier could not reach its keys or endpoint: 503, retry."""
        return error_response(
            RemoteProtocolError(
                "Service Unavailable: the access token cannot be verified right now; retry later",
                error_status_hint=503,
                code=INTERNAL_ERROR,
            )
        )

    # -- request heads ---------------------------------------------------------

    def check_head(self, request: HttpRequest) -> SendResponse | None:
        """Rules decidable from the head alone; an answer means: send it, skip the body."""
        try:
            self._check_head(request)
        except ProtocolError as exc:
            return error_response(exc, headers=(("allow", ALLOWED_METHODS),) if exc.error_status_hint == 405 else ())
        return None

    def _check_head(self, request: HttpRequest) -> None:
        headers, config = request.headers, self.config
        if request.method not in ("POST", "GET", "DELETE"):
            raise RemoteProtocolError(f"Method Not Allowed: {request.method}", error_status_hint=405)
        if len(headers) > config.max_header_count or headers.size() > config.max_header_size:
            raise RemoteProtocolError("Request Header Fields Too Large", error_status_hint=431)
        origin_host = (headers.get("origin"), headers.only("host"))
        try:
            refusal = self._host_refusals[origin_host]
        except KeyError:
            if len(self._host_refusals) >= _HOST_CACHE_SIZE:
                self._host_refusals.clear()  # a client cycling through Hosts cannot grow it
            refusal = self._host_refusals[origin_host] = origin_and_host_refusal(*origin_host, config)
        if refusal is not None:
            raise RemoteProtocolError(refusal[1], error_status_hint=refusal[0])
        if request.method != "POST":
            # Only handshake sessions have GET streams and DELETE; 2026-07-28 answers 405.
            if headers.get("mcp-session-id") is None:
                raise RemoteProtocolError(
                    f"Method Not Allowed: {request.method} needs a handshake session (Mcp-Session-Id)",
                    error_status_hint=405,
                )
            version = headers.only("mcp-protocol-version")
            if version is not None and version not in HANDSHAKE_VERSIONS:
                raise RemoteProtocolError(
                    f"Bad Request: unsupported MCP-Protocol-Version {version!r} for a session; "
                    f"supported: {', '.join(HANDSHAKE_VERSIONS)}",
                    data={"supported": list(HANDSHAKE_VERSIONS), "requested": version},
                )
        accept = headers.get("accept")
        if request.method == "POST":
            if not _is_json(headers.get("content-type")):
                raise RemoteProtocolError(
                    "Unsupported Media Type: Content-Type must be application/json", error_status_hint=415
                )
            if not _accepts_json_and_sse(accept):
                raise RemoteProtocolError(
                    "Not Acceptable: Accept must list both application/json and text/event-stream",
                    error_status_hint=406,
                )
            length = headers.only("content-length")
            if length is not None and length.isdigit() and int(length) > config.max_body_size:
                raise self._too_large()
        elif request.method == "GET" and not accepts(accept, "text/event-stream"):
            raise RemoteProtocolError("Not Acceptable: Accept must list text/event-stream", error_status_hint=406)

    def _too_large(self) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"Payload Too Large: the body limit is {self.config.max_body_size} bytes", error_status_hint=413
        )

    def body_too_large(self) -> SendResponse:
        """The answer when a body outgrows ``config.max_body_size`` while it is read."""
        return error_response(self._too_large())

    def store_unavailable(self) -> SendResponse:
        """The answer when the store failed to carry out a plan's commands (a remote store is down).

        503 with a JSON-RPC error: nothing was decided, so the client may retry.
        """
        return error_response(
            RemoteProtocolError(
                "Service Unavailable: the session store did not answer; retry later",
                error_status_hint=503,
                code=INTERNAL_ERROR,
            )
        )

    def stream_interrupted(self, reason: str) -> bytes:
        """What a resumable stream writes last when the store fails under it, before it closes.

        ``retry:`` tells the client when to come back (it resumes with ``Last-Event-ID``),
        and a comment says why.
        """
        return b"retry: %d\n" % self.config.sse_retry_ms + frame_comment(
            f"session store unavailable ({reason}); resume with Last-Event-ID"
        )

    # -- whole requests --------------------------------------------------------

    def receive(
        self, request: HttpRequest, body: bytes = b"", *, checked: bool = False, principal: Principal | None = None
    ) -> Plan[list[Output]]:
        """Handle a whole request; the plan's result is the outputs to carry out.

        ``checked`` says the adapter already had the head pass :meth:`check_head`
        (before reading the body), so it is not checked twice. ``principal`` is who
        :meth:`authenticate` said sent it (required when the server has ``auth``).
        """
        try:
            early = None if checked else self.check_head(request)
            if early is not None:
                return [early]
            if self.auth is not None and principal is None:
                # An adapter that skipped authentication must not serve anyone.
                no_token = self.bearer_token(request)
                unverified = self.auth.invalid("the token was not verified")
                return [no_token if isinstance(no_token, SendResponse) else _refused(unverified)]
            if request.method == "POST":
                return (yield from self._post(request, body, principal))
            if request.method == "GET":
                return (yield from self._get(request, principal))
            return (yield from self._delete(request, principal))
        except ProtocolError as exc:
            return [error_response(exc)]

    def _load(self, session_id: str | None, principal: Principal | None) -> Plan[SessionRecord]:
        if session_id is None:
            raise RemoteProtocolError("Bad Request: Mcp-Session-Id header is required")
        record: SessionRecord | None = yield LoadSession(session_id, self.clock(), self.config.session_idle_timeout)
        # Another principal's session is answered exactly like an unknown one: ids do not leak.
        if record is None or record.principal != (principal.key if principal is not None else None):
            raise _session_not_found()
        return record

    def _load_and_claim(self, session_id: str | None, principal: Principal | None, request: Request) -> LoadAndClaim:
        """The command that loads the session, refreshes last_seen and claims ``request`` at once.

        A command rather than a plan: _post yields it itself, one generator hop less per request.
        """
        if session_id is None:
            raise RemoteProtocolError("Bad Request: Mcp-Session-Id header is required")
        owner = principal.key if principal is not None else None
        config = self.config
        return LoadAndClaim(
            session_id,
            self.clock(),
            config.session_idle_timeout,
            owner,
            request_key(request.id),
            config.max_in_flight,
            _TOUCH_EVERY,
        )

    def _delete(self, request: HttpRequest, principal: Principal | None) -> Plan[list[Output]]:
        session_id = request.headers.only("mcp-session-id")
        yield from self._load(session_id, principal)
        assert session_id is not None
        yield DeleteSession(session_id)
        return [SessionClosed(session_id), SendResponse(200)]

    # -- POST --------------------------------------------------------------------

    def _post(self, request: HttpRequest, body: bytes, principal: Principal | None) -> Plan[list[Output]]:
        if len(body) > self.config.max_body_size:
            raise self._too_large()
        value = loads(body, self.config.max_json_depth)
        if is_stateless(request.headers, value):
            return (yield from stateless_post(self, request, value, principal))
        session_id = request.headers.only("mcp-session-id")
        messages, batch = parse_value(value, allow_batch=True)
        first = messages[0]
        if (isinstance(first, Request) and first.method == "initialize") or (
            batch and any(isinstance(m, Request) and m.method == "initialize" for m in messages)
        ):
            if batch:
                raise RemoteProtocolError("Invalid Request: initialize must not be part of a batch")
            if session_id is not None:
                raise RemoteProtocolError("Invalid Request: this session is already initialized")
            return (yield from self._initialize(messages[0], principal))  # type: ignore[arg-type]
        claimed: ClaimOutcome | None = None
        if not batch and isinstance(first, Request) and refusal_for(first, principal, self.app, self.auth) is None:
            # The usual POST, one request: one store command finds the session and claims the request.
            found: tuple[SessionRecord | None, ClaimOutcome | None] = yield self._load_and_claim(
                session_id, principal, first
            )
            loaded, claimed = found
            if loaded is None or claimed is None:  # unknown, or another principal's (nothing was claimed)
                raise _session_not_found()
            session = loaded
        else:
            session = yield from self._load(session_id, principal)
        if batch and not has_batches(session.protocol_version):
            raise RemoteProtocolError(
                f"Invalid Request: JSON-RPC batches are not allowed under protocol version {session.protocol_version}"
            )
        now = self.clock()
        touched = now - session.last_seen >= _TOUCH_EVERY
        outputs: list[Output] = []
        requests: list[Request] = []
        before = session
        for message in messages:
            if isinstance(message, Request):
                requests.append(message)
            else:
                session = self._client_message(session, message, outputs)
        if touched or session is not before:
            # Only the fields that changed: another instance may be changing others right now.
            state = session.state if session.state is not before.state else None
            update = UpdateSession(session.id, last_seen=now if touched else None, state=state)
            session = update.apply_to(session)
            yield update
        if not requests:
            return [*outputs, SendResponse(202)]
        return outputs + (yield from self._requests(session, requests, batch, principal, claimed))

    def _initialize(self, message: Request, principal: Principal | None) -> Plan[list[Output]]:
        params = message.params or {}
        version, caps, info = params.get("protocolVersion"), params.get("capabilities"), params.get("clientInfo")
        if not isinstance(version, str) or not isinstance(caps, dict) or not isinstance(info, dict):
            error = ErrorResponse(
                message.id,
                INVALID_PARAMS,
                "Invalid params: initialize needs protocolVersion, capabilities and clientInfo",
            )
            return [SendResponse(400, JSON_HEADERS, dumps(error.to_json()))]
        count: int = yield CountSessions()
        if count >= self.config.max_sessions:
            raise RemoteProtocolError(
                "Service Unavailable: too many sessions", error_status_hint=503, code=INTERNAL_ERROR
            )
        now = self.clock()
        chosen = negotiate(version)
        record = SessionRecord(
            self._new_session_id(),
            chosen,
            client_info=info,
            client_capabilities=caps,
            created_at=now,
            last_seen=now,
            principal=principal.key if principal is not None else None,
        )
        yield SaveSession(record)
        result: dict[str, Any] = {
            "protocolVersion": chosen,
            "capabilities": server_capabilities(self.app, chosen),
            "serverInfo": {"name": self.app.name, "version": self.app.version},
        }
        if self.app.instructions:
            result["instructions"] = self.app.instructions
        headers = (*JSON_HEADERS, ("mcp-session-id", record.id))
        return [SendResponse(200, headers, dumps(Response(message.id, result).to_json()))]

    def _client_message(self, session: SessionRecord, message: Message, outputs: list[Output]) -> SessionRecord:
        if isinstance(message, (Response, ErrorResponse)):
            if message.id is not None:
                outputs.append(DeliverResponse(session.id, message.id, message))
            return session
        assert isinstance(message, Notification)
        if message.method == "notifications/initialized":
            return session.initialized()
        if message.method == "notifications/cancelled":
            params = message.params or {}
            rid = params.get("requestId")
            if isinstance(rid, (int, str)) and not isinstance(rid, bool):
                reason = params.get("reason")
                outputs.append(CancelRequest(session.id, rid, reason if isinstance(reason, str) else None))
        return session

    def _requests(
        self,
        session: SessionRecord,
        requests: list[Request],
        batch: bool,
        principal: Principal | None,
        claimed: ClaimOutcome | None = None,
    ) -> Plan[list[Output]]:
        """Claim (unless ``claimed`` says how the claim of the only request went) and run the requests."""
        accepted: list[Request] = []
        refused: list[ErrorResponse] = []
        guarded = self.auth is not None or self.app.authorizer is not None
        for req in requests:
            denied = refusal_for(req, principal, self.app, self.auth) if guarded else None
            if denied is not None:
                if not batch:
                    return [_refused(denied, req.id)]
                reason = denied.error() if isinstance(denied, AuthRefusal) else denied
                refused.append(ErrorResponse(req.id, INVALID_REQUEST, reason.message))
                continue
            outcome: ClaimOutcome = (
                claimed
                if claimed is not None
                else (yield ClaimRequest(session.id, request_key(req.id), self.config.max_in_flight))
            )
            if outcome is ClaimOutcome.CLAIMED:
                accepted.append(req)
                continue
            status = 409 if outcome is ClaimOutcome.DUPLICATE else 429
            text = (
                f"Invalid Request: request id {req.id!r} is already in flight in this session"
                if outcome is ClaimOutcome.DUPLICATE
                else f"Too Many Requests: at most {self.config.max_in_flight} requests in flight per session"
            )
            if not batch:
                return [error_response(RemoteProtocolError(text, error_status_hint=status), req.id)]
            refused.append(ErrorResponse(req.id, INVALID_REQUEST, text))
        if not accepted:
            # Every request of the batch was refused: its answer is their errors, now (nothing will run).
            return [SendResponse(200, JSON_HEADERS, dumps([error.to_json() for error in refused]))]
        exchange = Exchange(
            config=self.config,
            peer=self._peer(session, principal),
            stream=self.new_stream_key,
            requests=accepted,
            batch=batch,
            now=self.clock,
            standalone=lambda message: self._standalone(session.id, message),
        )
        for error in refused:
            exchange.refuse(error)
        outputs: list[Output] = []
        calls: list[Call] = []
        for req in accepted:
            if concerns_tasks(req, session, self.app):  # 2025-11-25 tasks (and the tools only tasks can call)
                answered = yield from serve_session_task(self, req, session, principal, exchange)
                if answered is not None:
                    outputs += answered
                    continue
            planned = plan_method(req, session, self.app, self.config)
            if isinstance(planned, Call):
                calls.append(planned)
                continue
            if isinstance(planned, SessionChange):
                session = planned.update.apply_to(session)
                yield planned.update
                planned = planned.result
            answer = planned if isinstance(planned, ErrorResponse) else Response(req.id, planned)
            outputs += yield from exchange.respond(answer)
        for call in calls:
            if call.streaming:
                outputs += yield from exchange.start_stream()
                break
        outputs += [RunHandler(call, exchange) for call in calls]
        return outputs

    def _peer(self, session: SessionRecord, principal: Principal | None) -> Peer:
        """The session's Peer, reused while the store hands back the same record (it does until it changes)."""
        cached = self._peers.get(session.id)
        if cached is not None and cached[0] is session and cached[1] is principal:
            return cached[2]
        if len(self._peers) >= _PEER_CACHE_SIZE:
            self._peers.clear()  # bounded, whatever the number of sessions
        peer = Peer.of_session(session, principal)
        self._peers[session.id] = (session, principal, peer)
        return peer

    # -- GET and the standalone stream ----------------------------------------------

    def _get(self, request: HttpRequest, principal: Principal | None) -> Plan[list[Output]]:
        session_id = request.headers.only("mcp-session-id")
        session = yield from self._load(session_id, principal)
        headers = sse_headers(session.id)
        last_event_id = request.headers.only("last-event-id")
        if last_event_id is not None:
            parsed = parse_event_id(last_event_id)
            if parsed is None:
                raise RemoteProtocolError(f"Bad Request: malformed Last-Event-ID {last_event_id!r}")
            stream, after = parsed
            log: LogSlice = yield ReadEvents(session.id, stream, after, self.clock(), self.config.max_event_age)
            self._check_resumable(log, last_event_id, after)
            claim = None
            if stream == STANDALONE_STREAM:
                claim, _cursor = yield from self._claim_get(session.id)
            close_after = self.config.sse_close_after_seconds if has_priming(session.protocol_version) else None
            return [ResumeStream(session.id, stream, after, headers, close_after=close_after, claim=claim)]
        claim, after = yield from self._claim_get(session.id)
        yield OpenStream(session.id, STANDALONE_STREAM, self.clock(), self.config.max_streams_per_session)
        priming, close_after = None, None
        if has_priming(session.protocol_version):
            event_id = format_event_id(STANDALONE_STREAM, after)
            priming = frame_event(b"", event_id=event_id, retry_ms=self.config.sse_retry_ms)
            close_after = self.config.sse_close_after_seconds
        # The cursor is where the last reader stopped: a plain GET names no event, so it is not refused
        # for events the log evicted since (named=False), as a Last-Event-ID resume is.
        return [ResumeStream(session.id, STANDALONE_STREAM, after, headers, priming, close_after, claim, named=False)]

    def _check_resumable(self, log: LogSlice, last_event_id: str, after: int) -> None:
        if not log.known or after > log.last_seq:
            raise RemoteProtocolError(f"Bad Request: Last-Event-ID {last_event_id!r} names no event of this session")
        if after < log.first_seq - 1:
            raise RemoteProtocolError(
                f"Gone: events after {last_event_id!r} are no longer retained (the log keeps "
                f"{self.config.max_events_per_stream} events for {self.config.max_event_age:g}s per stream)",
                error_status_hint=410,
            )

    def _claim_get(self, session_id: str) -> Plan[tuple[str, int]]:
        """Claim the session's GET stream (in the store, so every instance sees it); the claim and the cursor."""
        claim = self.new_stream_key()
        cursor: int | None = yield self._claim_command(session_id, claim)
        if cursor is None:
            raise RemoteProtocolError("Conflict: this session already has an open GET stream", error_status_hint=409)
        return claim, cursor

    def _claim_command(self, session_id: str, claim: str) -> ClaimStandalone:
        config = self.config
        return ClaimStandalone(session_id, claim, self.clock(), config.get_stream_lease, config.single_get_stream)

    def renew_claim(self, session_id: str, claim: str) -> Plan[bool]:
        """Renew a GET reader's claim (:attr:`ResumeStream.claim`); False if it was lost meanwhile."""
        cursor: int | None = yield self._claim_command(session_id, claim)
        return cursor is not None

    def replay(
        self, session_id: str, stream: str, after: int, named: bool = True
    ) -> Plan[tuple[list[Output], bool]]:
        """The events of ``stream`` after ``after``, framed, and whether the stream is finished.

        Called by the adapter for :class:`ResumeStream` (pass its ``named``), after it
        subscribed to live events, and to fill a gap in the live events it received. The
        log may have lost events since the request was checked (a long stream's oldest
        are evicted as it grows): if it no longer holds every event after a ``named``
        ``after``, the outputs are one :class:`SendResponse` instead, the refusal a GET
        arriving now would get (410 Gone), and no event is sent with a hole before it.
        """
        log: LogSlice = yield ReadEvents(session_id, stream, after, self.clock(), self.config.max_event_age)
        if named:
            try:
                self._check_resumable(log, format_event_id(stream, after), after)
            except RemoteProtocolError as exc:
                return [error_response(exc)], False
        events: list[Output] = [self.logged_event(session_id, stream, seq, data) for seq, data in log.events]
        return events, log.final

    def logged_event(self, session_id: str, stream: str, seq: int, data: bytes) -> SendEvent:
        """Event ``seq`` of a stream's log, framed for its readers (for a broker that tails the logs)."""
        return SendEvent(session_id, stream, seq, frame_event(data, event_id=format_event_id(stream, seq)))

    def stream_detached(
        self, session_id: str | None, stream: str, delivered: int, claim: str | None = None
    ) -> Plan[None]:
        """A reader of ``stream`` went away having delivered up to ``delivered``; run the plan.

        For the session's GET stream, pass the reader's ``claim`` (:attr:`ResumeStream.claim`):
        the next plain GET then starts after ``delivered``, and the stream is free again.
        """
        if session_id is None:
            self.listeners.close(stream)  # a closed listen stream cancels its subscription
        elif stream == STANDALONE_STREAM and claim is not None:
            yield ReleaseStandalone(session_id, claim, delivered)

    def _standalone(self, session_id: str, message: Notification | Request) -> Plan[list[Output]]:
        data = dumps(message.to_json())
        seq: int = yield AppendEvent(
            session_id,
            STANDALONE_STREAM,
            data,
            self.clock(),
            self.config.max_events_per_stream,
            self.config.max_event_age,
        )
        event = frame_event(data, event_id=format_event_id(STANDALONE_STREAM, seq))
        return [SendEvent(session_id, STANDALONE_STREAM, seq, event)]

    def notify_session(self, session_id: str, method: str, params: dict[str, Any] | None = None) -> Plan[list[Output]]:
        """Send a notification unrelated to any request on the session's GET stream (kept until read)."""
        record: SessionRecord | None = yield LoadSession(session_id, self.clock(), self.config.session_idle_timeout)
        if record is None:
            return []
        return (yield from self._standalone(session_id, Notification(method, params)))

    def list_changed(self, kind: str) -> Plan[list[Output]]:
        """``notifications/<kind>/list_changed`` (kind: tools, prompts, resources) to every client.

        Handshake sessions get it on their GET stream; stateless clients on the listen
        streams that asked for it.
        """
        _, method = LIST_CHANGED[kind]
        outputs = self.listeners.list_changed(kind)
        records: list[SessionRecord] = yield ListSessions()
        for record in records:
            outputs += yield from self._standalone(record.id, Notification(method))
        return outputs

    def resource_updated(self, uri: str) -> Plan[list[Output]]:
        """``notifications/resources/updated`` to every client subscribed to ``uri``."""
        outputs = self.listeners.resource_updated(uri)
        records: list[SessionRecord] = yield ListSessions()
        for record in records:
            if uri in record.subscriptions:
                outputs += yield from self._standalone(
                    record.id, Notification("notifications/resources/updated", {"uri": uri})
                )
        return outputs

    def sweep_tasks(self) -> Plan[list[Output]]:
        """Forget tasks past their TTL, and decide the fate of tasks whose runtime died.

        A working task whose runner's lease ran out is restarted here (its tool declared
        ``on_lost="restart"``: the outputs hold its :class:`RunTask`) or failed. Run it about
        every half ``config.task_lease`` on each runtime that serves tasks.
        """
        now = self.clock()
        yield ExpireTasks(now)
        lost: list[TaskRecord] = yield LostTasks(now)
        outputs: list[Output] = []
        for record in lost:
            tool = self.app.tools.get(record.tool)
            restart = tool is not None and tool.on_lost == "restart"
            fate = functools.partial(
                lost_task_fate, restart=restart, runner=self.instance, config=self.config, now=now
            )
            after = yield from change_task(record.id, self.clock, fate)
            if after is not None and after.status is TaskStatus.WORKING and after.runner == self.instance:
                run = resume_task(self, after)
                if run is not None:
                    outputs.append(run)
        return outputs

    def task_result(self, wait: WaitTask, *, cancelled: bool = False) -> Plan[TaskWaitStep]:
        """The next step of a ``tasks/result`` wait (2025-11-25): its answer, an input request, or nothing yet.

        ``cancelled``: the request was cancelled (or its session ended); it is answered now.
        """
        return (yield from task_result_step(self, wait, cancelled))

    def task_input(
        self, wait: WaitTask, key: str, outgoing: str, answer: Response | ErrorResponse | None
    ) -> Plan[list[Output]]:
        """The client's answer (None: no answer in time) to the input request a wait's step asked.

        The outputs may hold the :class:`RunTask` that resumes the task here, once every answer is in.
        """
        return (yield from task_input(self, wait, key, outgoing, answer))

    def expire(self) -> Plan[list[Output]]:
        """Drop sessions idle past ``config.session_idle_timeout``."""
        gone: list[str] = yield ExpireSessions(self.clock(), self.config.session_idle_timeout)
        return [SessionClosed(session_id) for session_id in gone]


def _session_not_found() -> RemoteProtocolError:
    return RemoteProtocolError(
        "Not Found: unknown or terminated session; initialize a new one",
        error_status_hint=404,
        code=SESSION_NOT_FOUND,
    )
