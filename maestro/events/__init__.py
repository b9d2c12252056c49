"""Event envelope, Redis Streams publisher/reader and SSE framing."""

from maestro.events.envelope import make_envelope
from maestro.events.payloads import Envelope, StreamEvent
from maestro.events.streams import TOPICS, publish, read_since, stream_key

__all__ = ["TOPICS", "Envelope", "StreamEvent", "make_envelope", "publish", "read_since", "stream_key"]
