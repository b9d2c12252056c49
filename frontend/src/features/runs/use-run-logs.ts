import { useCallback, useEffect, useRef, useState } from "react";
import { runsLogs } from "@/client/sdk.gen";
import { readNdjson } from "@/lib/ndjson";
import { useEventStream } from "@/lib/sse";
import { LogBuffer } from "./log-model";

export type LogLoadState = "loading" | "ready" | "error";

/** GET /api/runs/{id}/logs through the generated client, read as a stream of NDJSON batches. */
async function fetchLogs(
  runId: string,
  query: { step?: string; since?: string; q?: string },
  onBatch: (values: unknown[]) => void,
  signal: AbortSignal,
): Promise<void> {
  const { data } = await runsLogs({ path: { run_id: runId }, query, parseAs: "stream", signal });
  // parseAs "stream": the body (NDJSON of LogLine, the type the client gives `data`) as it arrives
  await readNdjson<unknown>(data as unknown as ReadableStream<Uint8Array> | null, onBatch, signal);
}

/**
 * A run's log: history from `runs-logs` (durable storage), then — while `live` — new lines from
 * the `logs` SSE topic. Both feed one LogBuffer that drops duplicates; when the live stream
 * shows a gap (a line number skipped, e.g. around the moment it connected), the missing range is
 * fetched with `step` + `since`; when the run ends, the tail is fetched once more by time. With a
 * search term the server filters (`q=`) and nothing is live.
 *
 * The buffer is mutable and outside React state on purpose (100k+ lines): `version` changes, at
 * most once per animation frame, whenever lines were added.
 */
export function useRunLogs(runId: string, { live, q }: { live: boolean; q: string }) {
  const key = `${runId}\u0000${q}`;
  const [session, setSession] = useState(() => ({ key, buffer: new LogBuffer(), state: "loading" as LogLoadState, error: null as unknown }));
  let current = session;
  if (session.key !== key) {
    // Another run or search: start over with an empty buffer (state adjusted during render).
    current = { key, buffer: new LogBuffer(), state: "loading", error: null };
    setSession(current);
  }
  const { buffer, state, error } = current;
  const [version, setVersion] = useState(0);
  const frame = useRef<number | null>(null);
  const historyDone = useRef(false);
  const tried = useRef(new Set<string>());
  const abort = useRef<AbortController | null>(null);
  const wasLive = useRef(live);
  const gapTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  /** Live lines that arrived before the history finished: appended after it, in order. */
  const pending = useRef<unknown[]>([]);

  const bump = useCallback(() => {
    if (frame.current !== null) return;
    const raf = typeof requestAnimationFrame === "function" ? requestAnimationFrame : (f: () => void) => setTimeout(f, 16);
    frame.current = raf(() => {
      frame.current = null;
      setVersion((v) => v + 1);
    }) as number;
  }, []);

  const add = useCallback(
    (buf: LogBuffer, values: unknown[]) => {
      if (buf.add(values)) bump();
    },
    [bump],
  );

  const fillGaps = useCallback(
    (buf: LogBuffer) => {
      const ctl = abort.current;
      if (!ctl || q) return;
      for (const gap of buf.gaps()) {
        const key = `${gap.step}\u0000${gap.attempt}\u0000${gap.after}`;
        if (tried.current.has(key)) continue;
        tried.current.add(key);
        void fetchLogs(
          runId,
          { step: gap.step, since: String(gap.after) },
          (values) => add(buf, values.filter((v) => (v as { attempt?: number }).attempt === gap.attempt)),
          ctl.signal,
        ).catch(() => undefined);
      }
    },
    [add, q, runId],
  );

  // History (and, with q, the whole filtered result).
  useEffect(() => {
    const buf = buffer;
    const ctl = new AbortController();
    abort.current = ctl;
    historyDone.current = false;
    pending.current = [];
    tried.current = new Set();
    fetchLogs(runId, q ? { q } : {}, (values) => add(buf, values), ctl.signal)
      .then(() => {
        if (ctl.signal.aborted) return;
        historyDone.current = true;
        add(buf, pending.current);
        pending.current = [];
        setSession((s) => (s.buffer === buf ? { ...s, state: "ready" } : s));
        bump();
        fillGaps(buf);
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted) return;
        setSession((s) => (s.buffer === buf ? { ...s, state: "error", error: e } : s));
      });
    return () => {
      ctl.abort();
      if (gapTimer.current) clearTimeout(gapTimer.current);
      gapTimer.current = null;
    };
    // One buffer per runId+q; fillGaps/add/bump are stable for them.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [buffer]);

  // The run just finished while we followed it: fetch the last seconds once more by time.
  useEffect(() => {
    if (wasLive.current && !live && !q && abort.current) {
      const buf = buffer;
      const latest = buf.latestTs();
      const since = latest ? new Date(Date.parse(latest) - 30_000).toISOString() : undefined;
      void fetchLogs(runId, since ? { since } : {}, (values) => add(buf, values), abort.current.signal)
        .then(() => fillGaps(buf))
        .catch(() => undefined);
    }
    wasLive.current = live;
  }, [live, q, runId, buffer, add, fillGaps]);

  const stream = useEventStream(
    "logs",
    {
      log_line: (e) => {
        if (!historyDone.current) {
          pending.current.push(e.payload);
          return;
        }
        add(buffer, [e.payload]);
        if (historyDone.current && !gapTimer.current) {
          gapTimer.current = setTimeout(() => {
            gapTimer.current = null;
            fillGaps(buffer);
          }, 1500);
        }
      },
      reset: () => {
        if (historyDone.current) fillGaps(buffer);
      },
    },
    live && !q,
    { run: runId },
  );

  return { buffer, lines: buffer.lines, version, state, error, stream };
}
