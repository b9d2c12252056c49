import { useEffect, useRef } from "react";

/**
 * Coalesces refetches: events can arrive by the dozen per second, so each kind of refetch runs
 * at most once per `ms` (the cache is patched from the event itself right away). Jobs run in the
 * order their keys were first queued; a later job under the same key replaces the earlier one.
 */
export function useThrottle(ms: number) {
  const pending = useRef(new Map<string, () => void>());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  return (key: string, run: () => void) => {
    pending.current.set(key, run);
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      const jobs = [...pending.current.values()];
      pending.current.clear();
      for (const job of jobs) job();
    }, ms);
  };
}
