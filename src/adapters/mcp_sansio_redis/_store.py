"""``RedisStore``: the core's store commands, each one round trip to Redis (a script or a single command).

ReleaseRequest is the exception: it is posted (``RedisClient.post``), not waited for.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp_sansio import (
    AppendEvent,
    AppendEvents,
    ClaimOutcome,
    ClaimRequest,
    ClaimStandalone,
    CountSessions,
    DeleteSession,
    ExpireSessions,
    ExpireTasks,
    ListSessions,
    ListTasks,
    LoadAndClaim,
    LoadSession,
    LoadTask,
    LogSlice,
    LostTasks,
    OpenStream,
    ReadEvents,
    ReleaseRequest,
    ReleaseStandalone,
    SaveSession,
    SaveTask,
    SessionRecord,
    StoreCommand,
    UpdateSession,
)

from . import _lua, _tasks
from ._broker import RedisBroker
from ._client import Arg, RedisClient
from ._layout import KeyLayout, decode_record, dump_json, encode_record
from ._resp import RedisStoreError, RedisUnavailableError, Reply

__all__ = ["RedisStore"]

T = TypeVar("T")
_CLAIMS = {0: ClaimOutcome.CLAIMED, 1: ClaimOutcome.DUPLICATE, 2: ClaimOutcome.TOO_MANY}
_MAX_ENTRY_ID = 2**64 - 1
_DECODED = 4096  # session records kept decoded (by their stored fields)


class RedisStore:
    """The core's store in Redis: sessions, in-flight requests and event logs under one key prefix.

    Implements the runtime's ``AsyncStore`` (``await store.execute(command)``) on asyncio
    and trio alike, with the answers :class:`mcp_sansio.MemoryStore` gives. Every key
    gets a TTL (a safety net: the commands' own clock readings decide what is expired).

    Args:
        url: Where Redis is (``redis://[user:password@]host[:port][/db]``, ``rediss://``, ``unix://``).
        prefix: Put in front of every key; stores with different prefixes never see each other.
        client: An existing :class:`RedisClient` to share (then ``url`` is ignored).
        idle_timeout: The TTL of session keys in seconds (plus ``ttl_grace``); raised to the largest
            ``idle_timeout`` a command carries, so leave it at ``Config.session_idle_timeout`` or lower.
        ttl_grace: Seconds added to every TTL, so clock skew between instances never lets Redis
            drop what the commands' clocks still keep.
        max_ttl: The longest TTL given to any key (an infinite age or timeout becomes this).
        **client_options: Passed to :class:`RedisClient` (``max_connections``, ``timeout``...).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "mcp:",
        client: RedisClient | None = None,
        idle_timeout: float = 3600.0,
        ttl_grace: float = 60.0,
        max_ttl: float = 30 * 86400.0,
        **client_options: Any,
    ) -> None:
        if not idle_timeout > 0 or not ttl_grace >= 0 or not max_ttl > 0:
            raise ValueError("idle_timeout and max_ttl must be positive, ttl_grace not negative")
        self._owns_client = client is None
        self.client = client if client is not None else RedisClient(url, **client_options)
        self.keys = KeyLayout(prefix)
        self.prefix = prefix
        self._idle_timeout = idle_timeout
        self._grace = ttl_grace
        self._max_ttl = max_ttl
        # The last record decoded per session, by the fields it came from: most requests find the
        # same fields (last_seen moves once a second), and decoding them costs more than comparing.
        self._decoded: dict[str, tuple[list[Any], SessionRecord]] = {}
        self._dispatch: dict[type, Callable[[Any], Awaitable[Any]]] = {
            LoadSession: self._load,
            SaveSession: self._save,
            UpdateSession: self._update,
            DeleteSession: self._delete,
            CountSessions: self._count,
            ListSessions: self._list,
            ExpireSessions: self._expire,
            ClaimRequest: self._claim,
            LoadAndClaim: self._load_claim,
            ReleaseRequest: self._release,
            ClaimStandalone: self._claim_get,
            ReleaseStandalone: self._release_get,
            OpenStream: self._open,
            AppendEvent: self._append,
            AppendEvents: self._append_many,
            ReadEvents: self._read,
            SaveTask: functools.partial(_tasks.save_task, self),
            LoadTask: functools.partial(_tasks.load_task, self),
            LostTasks: functools.partial(_tasks.lost_tasks, self),
            ExpireTasks: functools.partial(_tasks.expire_tasks, self),
            ListTasks: functools.partial(_tasks.list_tasks, self),
        }

    @classmethod
    def from_client(cls, client: RedisClient, *, prefix: str = "mcp:", **options: Any) -> RedisStore:
        """A store on an existing client (one pool shared with, say, a broker)."""
        return cls(client=client, prefix=prefix, **options)

    @property
    def url(self) -> str:
        """The Redis URL, password hidden."""
        return self.client.url

    async def execute(self, command: StoreCommand) -> Any:
        """Carry out one command and return its answer (see each command's docstring).

        Raises:
            RedisUnavailableError: Redis cannot be reached or stopped answering (names the URL).
            RedisStoreError: Redis answered something unexpected.
        """
        return await self._dispatch[type(command)](command)

    def broker(self) -> RedisBroker:
        """The broker that connects the runtimes sharing this store (on this store's connections)."""
        return RedisBroker(self.client, self.prefix)

    async def ping(self) -> None:
        """Check that Redis answers (call it at start-up to fail early with a clear error).

        Raises:
            RedisUnavailableError: Redis cannot be reached, refused to log in or answered with an
                error: ``cannot reach Redis at <url, password hidden>: <reason>`` (one line).
        """
        try:
            reply = await self.client.execute("PING")
        except RedisStoreError as exc:
            message = f"cannot reach Redis at {self.url}: {exc.reason}"
            raise RedisUnavailableError(message, reason=exc.reason) from exc
        _expect(reply, bytes, "PING")

    async def aclose(self) -> None:
        """Close the connections, if the store made its client (a client passed in stays open)."""
        if self._owns_client:
            await self.client.aclose()

    async def __aenter__(self) -> RedisStore:
        await self.ping()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- sessions ----------------------------------------------------------------

    async def _load(self, command: LoadSession) -> SessionRecord | None:
        self._idle_timeout = max(self._idle_timeout, command.idle_timeout)
        reply = await _lua.LOAD(self.client, (), (self.prefix, command.session_id, command.now, command.idle_timeout))
        flat = _expect(reply, list, "LoadSession")
        return self._record(command.session_id, flat) if flat else None

    def _record(self, session_id: str, flat: list[Any]) -> SessionRecord:
        known = self._decoded.get(session_id)
        if known is not None and known[0] == flat:
            return known[1]
        record = decode_record(flat)
        if len(self._decoded) >= _DECODED:
            self._decoded.clear()
        self._decoded[session_id] = (flat, record)
        return record

    async def _save(self, command: SaveSession) -> None:
        record = command.record
        args: tuple[Arg, ...] = (self.prefix, record.id, float(record.last_seen), self._session_ttl())
        args += tuple(encode_record(record))
        _expect_value(await _lua.SAVE(self.client, (), args), 1, "SaveSession")

    async def _update(self, command: UpdateSession) -> bool:
        last_seen = "" if command.last_seen is None else repr(float(command.last_seen))
        state = "" if command.state is None else command.state.value
        level = "" if command.log_level is None else dump_json(command.log_level)
        args: tuple[Arg, ...] = (self.prefix, command.session_id, self._session_ttl(), last_seen, state, level)
        args += (len(command.subscribe), *command.subscribe, *command.unsubscribe)
        reply = _expect(await _lua.UPDATE(self.client, (), args), int, "UpdateSession")
        return bool(reply)

    async def _delete(self, command: DeleteSession) -> bool:
        reply = await _lua.DELETE(self.client, (), (self.prefix, command.session_id))
        return bool(_expect(reply, int, "DeleteSession"))

    async def _count(self, command: CountSessions) -> int:
        count: int = _expect(await self.client.execute("ZCARD", self.keys.sessions), int, "CountSessions")
        return count

    async def _list(self, command: ListSessions) -> list[SessionRecord]:
        reply = _expect(await _lua.LIST(self.client, (), (self.prefix,)), list, "ListSessions")
        return [decode_record(_expect(flat, list, "ListSessions")) for flat in reply]

    async def _expire(self, command: ExpireSessions) -> list[str]:
        now, idle = float(command.now), float(command.idle_timeout)
        self._idle_timeout = max(self._idle_timeout, idle)
        if not idle < math.inf or math.isnan(now) or math.isnan(idle):
            return []  # `now - last_seen > idle` can hold for no session
        bound = now - idle
        # Candidates by score, with room for rounding; the script then tests `now - last_seen > idle` exactly.
        upper = bound + (abs(now) + abs(idle)) * 1e-12 + 1e-300
        if math.isnan(upper):  # now is -inf: let the script's exact test decide
            upper = math.inf
        reply = await _lua.EXPIRE(self.client, (), (self.prefix, now, idle, upper))
        return [_text(_expect(sid, bytes, "ExpireSessions")) for sid in _expect(reply, list, "ExpireSessions")]

    # -- requests in flight --------------------------------------------------------

    async def _claim(self, command: ClaimRequest) -> ClaimOutcome:
        args = (self.prefix, command.session_id, command.key, command.limit, self._session_ttl())
        outcome = _CLAIMS.get(await _lua.CLAIM(self.client, (), args))
        if outcome is None:
            raise RedisStoreError(f"Redis at {self.url} gave ClaimRequest an unexpected answer")
        return outcome

    async def _load_claim(self, command: LoadAndClaim) -> tuple[SessionRecord | None, ClaimOutcome | None]:
        self._idle_timeout = max(self._idle_timeout, command.idle_timeout)
        principal = "null" if command.principal is None else dump_json(command.principal)
        args: tuple[Arg, ...] = (self.prefix, command.session_id, command.now, command.idle_timeout, principal)
        args += (command.key, command.limit, float(command.touch_after), self._session_ttl())
        reply = _expect(await _lua.LOAD_CLAIM(self.client, (), args), list, "LoadAndClaim")
        if len(reply) != 2 or not isinstance(reply[0], list) or (reply[1] != -1 and reply[1] not in _CLAIMS):
            raise RedisStoreError(f"Redis at {self.url} gave LoadAndClaim an unexpected answer: {reply!r}")
        flat, outcome = reply
        return (self._record(command.session_id, flat) if flat else None), _CLAIMS.get(outcome)

    async def _release(self, command: ReleaseRequest) -> None:
        # Not waited for (SREM is idempotent, resent if its reply is lost): it reaches Redis before
        # whatever this instance sends next, and within a few milliseconds in any case.
        await self.client.post("SREM", self.keys.in_flight(command.session_id), command.key)

    # -- the GET stream's claim and cursor -------------------------------------------

    async def _claim_get(self, command: ClaimStandalone) -> int | None:
        expires = float(command.now) + float(command.lease)
        exclusive = 1 if command.exclusive else 0
        args = (self.prefix, command.session_id, command.holder, float(command.now), expires, exclusive)
        reply = await _lua.CLAIM_GET(self.client, (), (*args, self._session_ttl()))
        if reply is None:
            return None
        cursor: int = _expect(reply, int, "ClaimStandalone")
        return cursor

    async def _release_get(self, command: ReleaseStandalone) -> None:
        args = (self.prefix, command.session_id, command.holder, int(command.delivered), self._session_ttl())
        _expect(await _lua.RELEASE_GET(self.client, (), args), int, "ReleaseStandalone")

    # -- event logs ----------------------------------------------------------------

    async def _open(self, command: OpenStream) -> None:
        args = (self.prefix, command.session_id, command.stream, command.now, command.max_streams, self._session_ttl())
        _expect(await _lua.OPEN(self.client, (), args), int, "OpenStream")

    async def _append(self, command: AppendEvent) -> int:
        c = command
        return await self._append_many(
            AppendEvents(
                c.session_id, c.stream, (c.data,), c.now, c.keep, c.max_age, c.final, c.finished_age, c.max_streams
            )
        )

    async def _append_many(self, command: AppendEvents) -> int:
        if not command.data:
            return 0
        final = command.final
        expires = float(command.now) + command.finished_age if final else math.inf
        log_ttl = self._ttl_ms(command.finished_age if final else command.max_age)
        args: tuple[Arg, ...] = (
            self.prefix,
            command.session_id,
            command.stream,
            float(command.now),
            max(command.keep, 0),
            float(command.max_age),
            1 if final else 0,
            expires,
            log_ttl,
            self._session_ttl(),
            "" if command.max_streams is None else command.max_streams,
            *command.data,
        )
        seq: int = _expect(await _lua.APPEND(self.client, (), args), int, "AppendEvents")
        return seq

    async def _read(self, command: ReadEvents) -> LogSlice:
        start = max(command.after + 1, 0)
        first_id = f"{start}-0" if start <= _MAX_ENTRY_ID else ""
        args = (self.prefix, command.session_id, command.stream, first_id, float(command.now), float(command.max_age))
        reply = _expect(await _lua.READ(self.client, (), args), list, "ReadEvents")
        if reply == [0]:
            return LogSlice(known=False)
        try:
            _, first, last, final, flat = reply
            events = tuple(zip(flat[0::2], flat[1::2], strict=True))
            return LogSlice(True, events, int(first), int(last), bool(final))
        except (TypeError, ValueError) as exc:
            raise RedisStoreError(f"Redis at {self.url} gave ReadEvents an unexpected answer: {reply!r}") from exc

    # -- TTLs ----------------------------------------------------------------------

    def ttl_ms(self, seconds: float) -> int:
        """A key's TTL in milliseconds for data kept ``seconds``: plus the grace, at most ``max_ttl``."""
        return self._ttl_ms(seconds)

    def _ttl_ms(self, seconds: float) -> int:
        ttl = min(seconds + self._grace, self._max_ttl) if seconds == seconds else self._max_ttl
        return max(1, math.ceil(ttl * 1000))

    def _session_ttl(self) -> int:
        return self._ttl_ms(self._idle_timeout)


def _expect(reply: Reply, kind: type[T], command: str) -> T:
    if not isinstance(reply, kind) or isinstance(reply, bool):
        raise RedisStoreError(f"unexpected Redis reply to {command}: {reply!r} (wanted {kind.__name__})")
    return reply


def _expect_value(reply: Reply, value: object, command: str) -> None:
    if reply != value:
        raise RedisStoreError(f"unexpected Redis reply to {command}: {reply!r} (wanted {value!r})")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")
