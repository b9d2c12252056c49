"""RPM and TPM limits shared by every gateway replica, without a Redis round trip per request.

Each limit is a per-minute window in Redis (`INCRBY` on `maestro:gateway:rl:<name>:<minute>`). A replica
admits a request while (the window's total as of its last sync) + (what it admitted since) stays under
the limit, and adds its local count to Redis once per refresh interval (one pipeline for every window).

Bound on overshoot: between two syncs a replica does not see what the others admitted, and ticks are not
aligned, so its view of another replica can be up to two refresh intervals old: a window can exceed its
limit by at most what the *other* replicas admitted in two refresh intervals — with R replicas each taking
q requests (or tokens) per interval, at most 2 · (R - 1) · q. With one replica the limit is exact. While
Redis is unreachable each replica counts alone (the total can reach R × the limit).

Tokens are known only when a response ends, so TPM is checked before a request (tokens
used so far in the window) and charged after it: one request may take a window past its TPM limit,
and the next one is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

KEY = "maestro:gateway:rl:{name}:{minute}"


@dataclass(slots=True)
class Window:
    minute: int
    known: int = 0  # the window's total in Redis at the last sync (every replica's)
    pending: int = 0  # admitted here since the last sync


class Limiter:
    def __init__(self) -> None:
        self.windows: dict[str, Window] = {}

    def _window(self, name: str, now: float) -> Window:
        minute = int(now // 60)
        w = self.windows.get(name)
        if w is None or w.minute != minute:
            w = self.windows[name] = Window(minute)
        return w

    def over(self, name: str, limit: int, now: float) -> float | None:
        """Seconds until the window resets when `name` has reached `limit`, else None."""
        w = self._window(name, now)
        if w.known + w.pending >= limit:
            return 60 - now % 60
        return None

    def charge(self, name: str, amount: int, now: float) -> None:
        if amount > 0:
            self._window(name, now).pending += amount

    async def sync(self, redis: Redis, now: float) -> None:
        """Send local counts, learn every replica's totals (one round trip); old windows are dropped."""
        minute = int(now // 60)
        names = [n for n, w in self.windows.items() if w.minute == minute]
        for n in [n for n, w in self.windows.items() if w.minute != minute]:
            del self.windows[n]
        if not names:
            return
        sent = [self.windows[n].pending for n in names]
        pipe = redis.pipeline(transaction=False)
        for n, amount in zip(names, sent, strict=True):
            key = KEY.format(name=n, minute=minute)
            pipe.incrby(key, amount)
            pipe.expire(key, 120)
        results = await pipe.execute()
        for i, n in enumerate(names):
            w = self.windows.get(n)
            if w is not None and w.minute == minute:
                w.known = int(results[2 * i])
                w.pending -= sent[i]
