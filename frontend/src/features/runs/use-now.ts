import { useEffect, useState } from "react";

/** The current time, ticking every `ms` while `active` (live durations of running things). */
export function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [active, ms]);
  return now;
}

/** Elapsed milliseconds between two instants (the end defaults to `now`). */
export function elapsedMs(start: string | null | undefined, end: string | null | undefined, now: number): number | null {
  if (!start) return null;
  const a = Date.parse(start);
  const b = end ? Date.parse(end) : now;
  return Number.isNaN(a) || Number.isNaN(b) ? null : Math.max(0, b - a);
}
