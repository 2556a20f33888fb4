"""The sans-I/O core of ``desktopchat.v1``: events, codec, names, close codes, errors.

Values in, values or exceptions out. Nothing here touches sockets, asyncio, Qt or the clock.
"""

from desktopchat.protocol.closecodes import CloseCode, describe_close
from desktopchat.protocol.codec import (
    DEFAULT_LIMITS,
    Limits,
    decode_client,
    decode_server,
    dumps,
    encode_client,
    encode_raw,
    encode_server,
    loads,
    parse_raw,
)
from desktopchat.protocol.errors import (
    InvalidEnvelope,
    InvalidFrame,
    LocalProtocolError,
    MessageTooBig,
    ProtocolError,
    RemoteProtocolError,
)
from desktopchat.protocol.messages import (
    SUBPROTOCOL,
    Ack,
    ChatMessage,
    ClientEvent,
    ErrorEvent,
    Hello,
    JsonValue,
    Kind,
    Presence,
    PresenceEvent,
    SendBinary,
    SendJson,
    SendText,
    ServerEvent,
    Welcome,
)
from desktopchat.protocol.names import clean_name, name_key, unique_name

__all__ = [
    "DEFAULT_LIMITS",
    "SUBPROTOCOL",
    "Ack",
    "ChatMessage",
    "ClientEvent",
    "CloseCode",
    "ErrorEvent",
    "Hello",
    "InvalidEnvelope",
    "InvalidFrame",
    "JsonValue",
    "Kind",
    "Limits",
    "LocalProtocolError",
    "MessageTooBig",
    "Presence",
    "PresenceEvent",
    "ProtocolError",
    "RemoteProtocolError",
    "SendBinary",
    "SendJson",
    "SendText",
    "ServerEvent",
    "Welcome",
    "clean_name",
    "decode_client",
    "decode_server",
    "describe_close",
    "dumps",
    "encode_client",
    "encode_raw",
    "encode_server",
    "loads",
    "name_key",
    "parse_raw",
    "unique_name",
]
