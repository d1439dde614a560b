"""mcp-sansio: the Model Context Protocol over Streamable HTTP, as a pure sans-IO core.

The core consumes HTTP requests and emits what to send, what to run and what
to store; it never performs I/O. See :class:`Server` for the entry point and
:class:`App` for declaring tools, resources and prompts.
"""

from ._auth import AuthRefusal, Principal, ResourceServer, TokenClaims
from ._config import Config
from ._context import Context
from ._errors import (
    HEADER_MISMATCH,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    MISSING_CAPABILITY,
    PARSE_ERROR,
    RESOURCE_NOT_FOUND,
    SESSION_NOT_FOUND,
    UNSUPPORTED_VERSION,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from ._events import (
    Call,
    CancelRequest,
    DeliverResponse,
    DisconnectStream,
    EndStream,
    Output,
    ResumeStream,
    RunHandler,
    SendEvent,
    SendResponse,
    SessionClosed,
    StartStream,
)
from ._exchange import CHUNK_META_KEY, Exchange
from ._http import Headers, HttpRequest
from ._jsonrpc import ErrorResponse, Message, Notification, Request, RequestId, Response, request_key
from ._mrtr import InputRequest, InputRequired
from ._peer import Peer
from ._registry import App
from ._results import ClientError, ToolError, audio, embedded_resource, image, text
from ._server import Server
from ._session import LOG_LEVELS, SessionRecord
from ._sse import frame_comment
from ._state import ExchangeState, SessionState
from ._store import (
    AppendEvent,
    ClaimOutcome,
    ClaimRequest,
    ClaimStandalone,
    CountSessions,
    DeleteSession,
    ExpireSessions,
    ListSessions,
    LoadSession,
    LogSlice,
    MemoryStore,
    OpenStream,
    Plan,
    ReadEvents,
    ReleaseRequest,
    ReleaseStandalone,
    SaveSession,
    Store,
    StoreCommand,
    UpdateSession,
    run_plan,
)
from ._versions import HANDSHAKE_VERSIONS, LATEST_HANDSHAKE_VERSION, STATELESS_VERSIONS

__all__ = [
    "UNSUPPORTED_VERSION",
    "MISSING_CAPABILITY",
    "HEADER_MISMATCH",
    "App",
    "AuthRefusal",
    "Principal",
    "ResourceServer",
    "TokenClaims",
    "AppendEvent",
    "audio",
    "Call",
    "CancelRequest",
    "CHUNK_META_KEY",
    "ClaimOutcome",
    "ClaimRequest",
    "ClaimStandalone",
    "ClientError",
    "Config",
    "Context",
    "CountSessions",
    "DeleteSession",
    "DeliverResponse",
    "DisconnectStream",
    "embedded_resource",
    "EndStream",
    "ErrorResponse",
    "Exchange",
    "ExchangeState",
    "ExpireSessions",
    "frame_comment",
    "Headers",
    "HttpRequest",
    "image",
    "InputRequest",
    "InputRequired",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "LATEST_HANDSHAKE_VERSION",
    "HANDSHAKE_VERSIONS",
    "ListSessions",
    "LoadSession",
    "LocalProtocolError",
    "LOG_LEVELS",
    "LogSlice",
    "MemoryStore",
    "Message",
    "METHOD_NOT_FOUND",
    "STATELESS_VERSIONS",
    "Notification",
    "OpenStream",
    "Output",
    "PARSE_ERROR",
    "Peer",
    "Plan",
    "ProtocolError",
    "ReadEvents",
    "ReleaseRequest",
    "ReleaseStandalone",
    "RemoteProtocolError",
    "Request",
    "request_key",
    "RequestId",
    "RESOURCE_NOT_FOUND",
    "Response",
    "ResumeStream",
    "run_plan",
    "RunHandler",
    "SaveSession",
    "SendEvent",
    "SendResponse",
    "Server",
    "SESSION_NOT_FOUND",
    "SessionClosed",
    "SessionRecord",
    "SessionState",
    "StartStream",
    "Store",
    "StoreCommand",
    "text",
    "ToolError",
    "UpdateSession",
]
