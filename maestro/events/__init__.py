"""Event envelope, Redis Streams publisher/reader and SSE framing."""

from maestro.events.envelope import Envelope, make_envelope
from maestro.events.streams import TOPICS, publish, read_since, stream_key

__all__ = ["TOPICS", "Envelope", "make_envelope", "publish", "read_since", "stream_key"]
