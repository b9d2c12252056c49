"""Publishing the routing snapshot: what the control plane writes for every gateway replica to read.

Order matters with several publishers (API replicas): a publisher takes a version number first
(`INCR`), then reads the configuration, then writes the snapshot only if no newer one was written
meanwhile (a Lua compare). A snapshot written later therefore always holds every change committed before
its version was taken, and an older one never overwrites it.
"""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis

from maestro.gateway.server import SNAPSHOT_KEY, VERSION_KEY
from maestro.gateway.spec import Snapshot

_SET_IF_NEWER = """
local cur = redis.call('GET', KEYS[2])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
return 1
"""


def publish(redis: Redis, build: Callable[[int], Snapshot]) -> int:
    """Take a version, build the snapshot (reading configuration after taking it), write it if newest.
    Returns the version. Gateways poll VERSION_KEY, which moves with the snapshot (one script)."""
    version = int(redis.incr(f"{VERSION_KEY}:next"))
    snap = build(version)
    data = snap.model_dump_json(by_alias=True)
    redis.eval(_SET_IF_NEWER, 2, SNAPSHOT_KEY, VERSION_KEY, str(version), data)  # type: ignore[no-untyped-call]
    return version
