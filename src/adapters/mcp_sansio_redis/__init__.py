"""mcp-sansio's Redis store: sessions, requests in flight and per-stream event logs, shared by any number of servers.

Theory of operation
===================

``RedisStore`` answers the core's store commands (``mcp_sansio._store``) exactly as
``MemoryStore`` does, so that several server processes can serve one session. It is
an ``AsyncStore`` for the runtime: ``await store.execute(command)``.

**Talking to Redis.** A small RESP client (``RedisClient``), asyncio and trio alike, no
worker threads, hiredis's parser when installed. On asyncio all tasks share one
connection: commands are pipelined and each reply goes to its command in order
(``_mux``); on trio tasks borrow pooled connections one command at a time (no lock, no
background task). Each command is one round trip: a single Redis command or one Lua
script (atomic in Redis: nothing interleaves with it). A POST with one request costs one:
``LoadAndClaim`` finds the session, refreshes it and claims the request in one script;
its ``ReleaseRequest`` is posted, not waited for (it travels with the next command). A
connection that fails or times out is closed, never reused. Redis that cannot be reached raises
``RedisUnavailableError`` naming the URL (that request fails, the server serves on, and
the store reconnects once Redis answers); any other unexpected reply raises
``RedisStoreError``. ``RedisStore.ping()`` is the start-up check: its error is one line,
``cannot reach Redis at <url>: <reason>``. Needs Redis >= 6.2 (7 recommended); not Redis
Cluster (scripts build key names, and the session index spans all sessions).

**Clocks and TTLs.** Every command carries its clock reading; what is idle, too old
or expired is decided from those readings, exactly as in memory. TTLs are a safety
net on top: every key gets one, refreshed when it is written, equal to the logical
lifetime plus ``ttl_grace`` (capped at ``max_ttl``), so nothing outlives an instance
that died or a session nobody expires, and Redis never drops what the clocks keep.
The session TTL is ``idle_timeout`` (raised to the largest idle timeout a command
carries); the core saves a session on use (at most once a second), which refreshes
it. Session-level TTLs are only ever lengthened, never shortened (instances may be
configured differently); a log's TTL follows its last append.

Keys (``P`` is the prefix, e.g. ``mcp:``; ``<sid>`` the session id with ``%`` and ``:``
percent-encoded; ``<stream>`` a stream key as the core names it, ``0`` for GET)::

    P sessions          ZSET   member: session id, score: last_seen (the index: count, list, expire
                               without scanning the keyspace). TTL: session TTL, refreshed by SaveSession.
    P session:<sid>     HASH   the SessionRecord, one field per attribute (text, floats by repr,
                               dicts/log_level/subscriptions/principal as JSON), written whole by
                               SaveSession (at initialize); UpdateSession's script then writes only
                               the fields it names (subscriptions changed as a set inside the script).
                               TTL: session TTL (idle_timeout + grace), refreshed by Save/UpdateSession.
    P inflight:<sid>    SET    keys of the session's requests in flight (ClaimRequest, LoadAndClaim,
                               ReleaseRequest). TTL: session TTL, refreshed by ClaimRequest and
                               SaveSession, set by LoadAndClaim when it creates the set and
                               refreshed by it with the session's keys (at most once a second).
                               (In memory, too, claims are not tied to a stored session.)
    P standalone:<sid>  HASH   the session's GET stream (ClaimStandalone/ReleaseStandalone): h=<holder>
                               and x=<lease end, a clock reading> while claimed (both gone once released),
                               c=<cursor>, the seq where the last GET reader stopped (only ever raised).
                               Created only for a stored session; DeleteSession and expiry drop it.
                               TTL: session TTL, refreshed by both commands and by SaveSession.
    P streams:<sid>     HASH   field <stream>: "<order> <last_seq> <final 0|1> <expires|inf>", the
                               head of each of the session's logs. ``order`` is creation order
                               (OpenStream drops finished logs oldest first), given from field
                               ``#`` (HINCRBY); ``last_seq`` the newest seq ever appended (it
                               survives eviction of every event); ``expires`` is now + finished_age
                               of the final event. TTL: session TTL, refreshed by OpenStream,
                               AppendEvent(s), SaveSession, UpdateSession and LoadAndClaim's touch.
    P finished:<sid>    ZSET   the finished streams, score: their order; P expiry:<sid> ZSET the
                               finished streams that expire, score: expires. They let OpenStream
                               drop logs without reading every head: its cost grows with what it
                               drops, not with the logs a session holds. TTL: as streams:<sid>.
    P task:<id>          HASH   a task (2026-07-28 tasks extension, or a 2025-11-25 session's task):
                               v=<version> (SaveTask compares and sets it in Lua), r=<the record as
                               JSON>. TTL: until the task's expires_at (created_at + its ttl) plus
                               the grace.
    P tasks:lease       ZSET   member: id of a working task, score: when its runner's lease ends
                               (LostTasks reads it; ids of expired tasks are pruned there).
    P tasks:session:<sid> ZSET  a session's tasks (2025-11-25 tasks/list): every score 0, member
                               "<created_at in ms, 15 digits>:<task id>" (TaskRecord.position), so
                               ZRANGEBYLEX pages through them in creation order. SaveTask adds a
                               session's task when it creates it; ListTasks drops members whose
                               record expired; DeleteSession and session expiry drop the list.
                               TTL: the longest TTL of its tasks (lengthened, never shortened).
    P log:<sid>:<stream> STREAM one entry per event, id "<seq>-0" (seq from 1, allocated in the
                               AppendEvent(s) script from the head, so two instances never issue the
                               same id), fields d=<data> t=<now> [f=1 on the final event]. Bounded
                               by ``keep`` (XTRIM MAXLEN) and ``max_age`` (oldest entries while
                               ``now - t > max_age``). TTL: max_age + grace, finished_age + grace
                               after the final event; refreshed by AppendEvent(s). A log whose key
                               expired keeps its head: it reads as known and empty.

**For a broker.** Tail a stream with ``XREAD BLOCK ms STREAMS P log:<sid>:<stream> <seq>-0``
from the ``last_seq`` a ``ReadEvents`` returned: ReadEvents is atomic, and every later
event is an entry with a greater id, so joining after replaying misses nothing (unless
``keep`` evicted it first: an entry id beyond ``last + 1`` is a gap to report). The entry
with ``f`` is the last. ``KeyLayout`` names the keys, ``event_seq`` parses entry ids, and
``RedisClient.connection()`` lends a connection for blocking reads (``timeout=None``;
cancelling one closes that connection).
"""

from __future__ import annotations

from ._broker import RedisBroker
from ._client import Connection, RedisAddress, RedisClient, parse_url
from ._layout import EVENT_DATA, EVENT_FINAL, EVENT_TIME, KeyLayout, event_seq
from ._resp import RedisStoreError, RedisUnavailableError, ReplyError
from ._serving import choose_store, store_in_service
from ._store import RedisStore

__all__ = [
    "RedisBroker",
    "choose_store",
    "store_in_service",
    "RedisStore",
    "RedisClient",
    "Connection",
    "RedisAddress",
    "parse_url",
    "KeyLayout",
    "event_seq",
    "EVENT_DATA",
    "EVENT_TIME",
    "EVENT_FINAL",
    "RedisStoreError",
    "RedisUnavailableError",
    "ReplyError",
]
