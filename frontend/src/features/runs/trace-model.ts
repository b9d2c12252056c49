/**
 * The Trace tab's model: spans (as `GET /api/runs/{run_id}/trace` returns them, sorted by start)
 * turned into a tree in waterfall order, and each span's bar on the trace's time axis.
 * Pure functions, no React: tested in trace-model.test.ts.
 */

/** The fields of a span the waterfall reads (the generated `RunsTraceResponse["spans"][number]` fits). */
export interface SpanLike {
  spanId: string;
  parentId: string | null;
  name: string;
  service: string;
  startTime: string;
  endTime: string;
  durationMs: number;
  status: string;
}

export interface TraceNode<S extends SpanLike = SpanLike> {
  span: S;
  /** 0 for a root. */
  depth: number;
  children: TraceNode<S>[];
}

export interface TraceBounds {
  /** Epoch ms of the earliest start. */
  start: number;
  /** Epoch ms of the latest end. */
  end: number;
  /** end - start, at least 1 ms so that positions never divide by zero. */
  total: number;
}

export interface BarGeometry {
  /** Percent of the axis width, 0–100. */
  left: number;
  /** Percent of the axis width, 0–(100 - left). */
  width: number;
  /** Ms from the trace's start to the span's start. */
  offsetMs: number;
}

const parse = (iso: string) => Date.parse(iso);

/** A span's start and end in epoch ms; the end falls back to start + durationMs when unparsable. */
export function spanTimes(span: Pick<SpanLike, "startTime" | "endTime" | "durationMs">): { start: number; end: number } {
  const start = parse(span.startTime);
  let end = parse(span.endTime);
  if (Number.isNaN(end)) end = start + (Number.isFinite(span.durationMs) ? span.durationMs : 0);
  return { start, end: Math.max(start, end) };
}

function byStart<S extends SpanLike>(a: { span: S; index: number }, b: { span: S; index: number }): number {
  const sa = parse(a.span.startTime);
  const sb = parse(b.span.startTime);
  if (sa !== sb) {
    if (Number.isNaN(sa)) return 1;
    if (Number.isNaN(sb)) return -1;
    return sa - sb;
  }
  // Same start: the longer span first (it usually encloses the other), then the API's order.
  const da = Number.isFinite(a.span.durationMs) ? a.span.durationMs : 0;
  const db = Number.isFinite(b.span.durationMs) ? b.span.durationMs : 0;
  return db - da || a.index - b.index;
}

/**
 * The spans as a forest: a span whose parent is missing from the list (or is itself) is a root;
 * roots and every node's children are sorted by start. Spans caught in a parent cycle (bad data)
 * become roots rather than disappearing, so every span appears exactly once.
 */
export function buildTraceTree<S extends SpanLike>(spans: readonly S[]): TraceNode<S>[] {
  const entries = spans.map((span, index) => ({ span, index }));
  const ids = new Set<string>();
  const unique = entries.filter((e) => {
    if (ids.has(e.span.spanId)) return false; // a duplicate id: the first one wins
    ids.add(e.span.spanId);
    return true;
  });
  const childrenOf = new Map<string, typeof unique>();
  const roots: typeof unique = [];
  for (const e of unique) {
    const p = e.span.parentId;
    if (p && p !== e.span.spanId && ids.has(p)) {
      const list = childrenOf.get(p);
      if (list) list.push(e);
      else childrenOf.set(p, [e]);
    } else {
      roots.push(e);
    }
  }
  for (const list of childrenOf.values()) list.sort(byStart);

  const placed = new Set<string>();
  const grow = (e: (typeof unique)[number], depth: number): TraceNode<S> => {
    placed.add(e.span.spanId);
    const node: TraceNode<S> = { span: e.span, depth, children: [] };
    for (const c of childrenOf.get(e.span.spanId) ?? []) {
      if (!placed.has(c.span.spanId)) node.children.push(grow(c, depth + 1));
    }
    return node;
  };
  const forest = roots.sort(byStart).map((r) => grow(r, 0));
  // Whatever a parent cycle kept unreachable from any root.
  for (const e of unique.sort(byStart)) if (!placed.has(e.span.spanId)) forest.push(grow(e, 0));
  return forest;
}

/**
 * Spans whose parent is named but not (yet) in the list. Each process exports its spans in
 * batches, so a child can arrive before its parent: right after a run ends, such orphans mean the
 * trace is still settling.
 */
export function orphanCount(spans: readonly SpanLike[]): number {
  const ids = new Set(spans.map((s) => s.spanId));
  return spans.filter((s) => s.parentId && s.parentId !== s.spanId && !ids.has(s.parentId)).length;
}

/** The tree depth-first (a parent, then its children in start order): the waterfall's rows. */
export function flattenTree<S extends SpanLike>(forest: readonly TraceNode<S>[]): TraceNode<S>[] {
  const out: TraceNode<S>[] = [];
  const walk = (nodes: readonly TraceNode<S>[]) => {
    for (const n of nodes) {
      out.push(n);
      walk(n.children);
    }
  };
  walk(forest);
  return out;
}

/** The trace's overall time span: earliest start to latest end (spans with no parsable start are ignored). */
export function traceBounds(spans: readonly SpanLike[]): TraceBounds | null {
  let start = Infinity;
  let end = -Infinity;
  for (const s of spans) {
    const t = spanTimes(s);
    if (Number.isNaN(t.start)) continue;
    start = Math.min(start, t.start);
    end = Math.max(end, t.end);
  }
  if (start === Infinity) return null;
  return { start, end, total: Math.max(1, end - start) };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Where a span's bar sits on the trace's axis, in percent of its width. */
export function barGeometry(span: Pick<SpanLike, "startTime" | "endTime" | "durationMs">, bounds: TraceBounds): BarGeometry {
  const t = spanTimes(span);
  if (Number.isNaN(t.start)) return { left: 0, width: 0, offsetMs: 0 };
  const left = clamp(((t.start - bounds.start) / bounds.total) * 100, 0, 100);
  const width = clamp(((t.end - t.start) / bounds.total) * 100, 0, 100 - left);
  return { left, width, offsetMs: Math.max(0, t.start - bounds.start) };
}

/** Span durations are often well under a millisecond: keep a useful precision there. */
export function formatSpanDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "—";
  if (ms === 0) return "0 ms";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  return `${m} m ${Math.round(s % 60)} s`;
}
