import { useCallback, useEffect, useMemo, useState } from "react";
import { useSearchParams } from "react-router";

/**
 * Filters that live in the URL query string, so a filtered view can be linked, reloaded and
 * navigated back to. Other parameters (e.g. `env`) are kept untouched.
 */
export function useUrlFilters<K extends string>(keys: readonly K[]) {
  const [params, setParams] = useSearchParams();
  const signature = keys.map((k) => `${k}=${params.get(k) ?? ""}`).join("&");

  const values = useMemo(() => {
    const out = {} as Record<K, string>;
    for (const k of keys) out[k] = params.get(k) ?? "";
    return out;
    // `signature` captures exactly the parts of `params` read here.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [signature]);

  const set = useCallback(
    (patch: Partial<Record<K, string | null | undefined>>) => {
      setParams((prev) => {
        const next = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(patch) as [K, string | null | undefined][]) {
          if (v === null || v === undefined || v === "") next.delete(k);
          else next.set(k, v);
        }
        return next;
      });
    },
    [setParams],
  );

  const clear = useCallback(() => {
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      for (const k of keys) next.delete(k);
      return next;
    });
  }, [keys, setParams]);

  const active = keys.some((k) => values[k] !== "");
  return { values, set, clear, active, signature };
}

/** The query object for the generated client: only the filters that are set. */
export function definedOnly<T extends Record<string, string | number | undefined | null>>(obj: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined && v !== null && v !== "") (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** Cursor paging for the generated `*InfiniteOptions` helpers (pages answer `{items, nextCursor}`). */
export const cursorPaging = {
  initialPageParam: {},
  getNextPageParam: (last: { nextCursor?: string | null }) =>
    last.nextCursor ? { query: { cursor: last.nextCursor } } : undefined,
} as const;

/**
 * Dialog open state that a link can request with `?{name}=1` (the command palette's actions do):
 * the flag opens the dialog once and is then removed from the URL.
 */
export function useOpenFromUrl(name: string): [boolean, (open: boolean) => void] {
  const [params, setParams] = useSearchParams();
  const flagged = params.get(name) === "1";
  const [open, setOpen] = useState(flagged);
  const [seen, setSeen] = useState(flagged);
  if (flagged !== seen) {
    setSeen(flagged);
    if (flagged) setOpen(true);
  }
  useEffect(() => {
    if (!flagged) return;
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        next.delete(name);
        return next;
      },
      { replace: true },
    );
  }, [flagged, name, setParams]);
  return [open, setOpen];
}
