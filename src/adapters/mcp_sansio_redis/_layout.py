"""Key names and value encodings: the one place that says what is stored where (the Lua scripts mirror it).

See the package docstring for the whole layout. Key names here and in
``_lua.py`` must agree; ``tests/stores`` checks that every key a workload creates
is one this module names.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, Final

from mcp_sansio import SessionRecord, SessionState

from ._resp import RedisStoreError

__all__ = [
    "KeyLayout",
    "escape",
    "encode_record",
    "decode_record",
    "event_seq",
    "EVENT_DATA",
    "EVENT_TIME",
    "EVENT_FINAL",
    "RECORD_FIELDS",
    "dump_json",
]

# The fields of one stream entry (one event): its data, its clock reading, and a final marker.
EVENT_DATA: Final = b"d"
EVENT_TIME: Final = b"t"
EVENT_FINAL: Final = b"f"


def escape(session_id: str) -> str:
    """A session id as it appears inside key names: ``%`` and ``:`` percent-encoded, so keys never collide."""
    return session_id.replace("%", "%25").replace(":", "%3A")


class KeyLayout:
    """The names of the keys under one prefix.

    Args:
        prefix: Put in front of every key (``"mcp:"``).
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.sessions = f"{prefix}sessions"

    def session(self, session_id: str) -> str:
        """HASH: the session record, one field per attribute."""
        return f"{self.prefix}session:{escape(session_id)}"

    def in_flight(self, session_id: str) -> str:
        """SET: the keys of the session's requests in flight."""
        return f"{self.prefix}inflight:{escape(session_id)}"

    def standalone(self, session_id: str) -> str:
        """HASH: the session's GET stream claim, ``h`` (holder) and ``x`` (lease end), and ``c`` (cursor)."""
        return f"{self.prefix}standalone:{escape(session_id)}"

    def streams(self, session_id: str) -> str:
        """HASH: stream key -> ``"<order> <last_seq> <final 0|1> <expires>"`` for each of the session's logs.

        Field ``#`` holds the last order number given (stream keys are alphanumeric).
        """
        return f"{self.prefix}streams:{escape(session_id)}"

    def finished(self, session_id: str) -> str:
        """ZSET: the session's finished streams, scored by their order (OpenStream drops the lowest first)."""
        return f"{self.prefix}finished:{escape(session_id)}"

    def expiry(self, session_id: str) -> str:
        """ZSET: the session's finished streams that expire, scored by when (OpenStream drops those due)."""
        return f"{self.prefix}expiry:{escape(session_id)}"

    def task(self, task_id: str) -> str:
        """HASH: one task, ``v`` (its version, for compare-and-set) and ``r`` (the record as JSON)."""
        return f"{self.prefix}task:{escape(task_id)}"

    def session_tasks(self, session_id: str) -> str:
        """ZSET: a session's tasks (2025-11-25), scores 0, members ``TaskRecord.position`` (creation order by lex).

        A position is ``<created_at in ms, 15 digits>:<task id>``, so ZRANGEBYLEX pages in creation order.
        """
        return f"{self.prefix}tasks:session:{escape(session_id)}"

    @property
    def task_leases(self) -> str:
        """ZSET: the ids of working tasks, scored by when their runner's lease ends."""
        return f"{self.prefix}tasks:lease"

    def log(self, session_id: str, stream: str) -> str:
        """STREAM: one stream's events, entry id ``<seq>-0``, fields ``d`` (data), ``t`` (time), ``f`` (final)."""
        return f"{self.prefix}log:{escape(session_id)}:{stream}"


def event_seq(entry_id: bytes) -> int:
    """The sequence number of a log entry id (``b"17-0"`` -> 17)."""
    return int(entry_id.partition(b"-")[0])


# -- the session record as a hash -------------------------------------------------

_JSON_FIELDS: Final = frozenset({"client_info", "client_capabilities", "log_level", "subscriptions", "principal"})
_FLOAT_FIELDS: Final = frozenset({"created_at", "last_seen"})
_TEXT_FIELDS: Final = frozenset({"id", "protocol_version", "state"})
RECORD_FIELDS: Final = tuple(f.name for f in fields(SessionRecord))
if set(RECORD_FIELDS) != _JSON_FIELDS | _FLOAT_FIELDS | _TEXT_FIELDS:  # pragma: no cover - a new field needs a codec
    raise RuntimeError(f"mcp_sansio_redis does not know how to store SessionRecord fields {RECORD_FIELDS}")


def dump_json(value: Any) -> str:
    """A field's JSON text, as the record's codec writes it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def encode_record(record: SessionRecord) -> list[str]:
    """The record as flat field/value pairs for HSET.

    Text as is, the enum by value, floats by ``repr`` (exact, and readable by Lua),
    dicts, the optional log level and the subscriptions (sorted) as JSON.

    Raises:
        RedisStoreError: A dict holds something JSON cannot represent.
    """
    try:
        return [
            "id", record.id,
            "protocol_version", record.protocol_version,
            "state", record.state.value,
            "client_info", dump_json(record.client_info),
            "client_capabilities", dump_json(record.client_capabilities),
            "log_level", dump_json(record.log_level),
            "subscriptions", dump_json(sorted(record.subscriptions)),
            "created_at", repr(float(record.created_at)),
            "last_seen", repr(float(record.last_seen)),
            "principal", dump_json(record.principal),
        ]  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise RedisStoreError(f"session {record.id!r} cannot be stored: {exc}") from exc


def decode_record(flat: list[Any]) -> SessionRecord:
    """The record from HGETALL's flat field/value list (fields it does not know are ignored).

    Raises:
        RedisStoreError: A field is missing or does not decode.
    """
    raw = {flat[i]: flat[i + 1] for i in range(0, len(flat) - 1, 2)}
    raw.setdefault(b"principal", b"null")  # records stored before sessions were bound to principals
    try:
        text = {name: raw[name.encode()].decode("utf-8", "surrogatepass") for name in RECORD_FIELDS}
        return SessionRecord(
            id=text["id"],
            protocol_version=text["protocol_version"],
            state=SessionState(text["state"]),
            client_info=json.loads(text["client_info"]),
            client_capabilities=json.loads(text["client_capabilities"]),
            log_level=json.loads(text["log_level"]),
            subscriptions=frozenset(json.loads(text["subscriptions"])),
            created_at=float(text["created_at"]),
            last_seen=float(text["last_seen"]),
            principal=json.loads(text["principal"]),
        )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise RedisStoreError(f"a stored session record does not decode ({exc!r}): {raw!r}") from exc
