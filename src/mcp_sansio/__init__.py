"""mcp-sansio: the Model Context Protocol over Streamable HTTP, as a pure sans-IO core.

The core consumes HTTP requests and emits what to send, what to run and what
to store; it never performs I/O. See :class:`Server` for the entry point and
:class:`App` for declaring tools, resources and prompts.
"""

from ._config import Config
from ._context import Context
from ._errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RESOURCE_NOT_FOUND,
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
from ._jsonrpc import ErrorResponse, Message, Notification, Request, RequestId, Response
from ._mrtr import InputRequest, InputRequired
from ._registry import App
from ._results import ClientError, ToolError, audio, embedded_resource, image, text
from ._server import SESSION_NOT_FOUND, Server
from ._session import LOG_LEVELS, SessionRecord
from ._state import ExchangeState, SessionState
from ._store import ClaimOutcome, LogSlice, MemoryStore, Plan, StoreCommand, run_plan
from ._versions import LATEST_LEGACY_VERSION, LEGACY_VERSIONS, MODERN_VERSIONS

__all__ = [
    "App",
    "Call",
    "CancelRequest",
    "CHUNK_META_KEY",
    "ClaimOutcome",
    "ClientError",
    "Config",
    "Context",
    "DeliverResponse",
    "DisconnectStream",
    "EndStream",
    "ErrorResponse",
    "Exchange",
    "ExchangeState",
    "Headers",
    "HttpRequest",
    "InputRequest",
    "InputRequired",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "LATEST_LEGACY_VERSION",
    "LEGACY_VERSIONS",
    "MODERN_VERSIONS",
    "LOG_LEVELS",
    "LocalProtocolError",
    "LogSlice",
    "MemoryStore",
    "Message",
    "METHOD_NOT_FOUND",
    "Notification",
    "Output",
    "PARSE_ERROR",
    "Plan",
    "ProtocolError",
    "RemoteProtocolError",
    "Request",
    "RequestId",
    "RESOURCE_NOT_FOUND",
    "Response",
    "ResumeStream",
    "RunHandler",
    "SendEvent",
    "SendResponse",
    "Server",
    "SESSION_NOT_FOUND",
    "SessionClosed",
    "SessionRecord",
    "SessionState",
    "StartStream",
    "StoreCommand",
    "ToolError",
    "run_plan",
    "text",
    "image",
    "audio",
    "embedded_resource",
]
