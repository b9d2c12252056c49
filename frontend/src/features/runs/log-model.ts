/**
 * The log viewer's data model, kept free of React so it can be tested on its own: an append-only
 * buffer of log lines that drops duplicates (history and the live stream overlap), finds gaps
 * (lines the live stream never delivered), the step and field filters, "find in log" matches and
 * line permalinks.
 */
import type { LogLine as GeneratedLogLine } from "@/client/types.gen";
import { stripAnsi } from "@/lib/ansi";

/** One stored or streamed line (GET /api/runs/{id}/logs NDJSON, `log_line` events). */
export type LogLine = GeneratedLogLine;

/** A line's identity: a re-execution's lines are new lines, not duplicates of the first execution's. */
export const lineKey = (l: Pick<LogLine, "step" | "attempt" | "n" | "execution">) =>
  `${l.step}\u0000${l.attempt}\u0000${l.execution ?? 1}\u0000${l.n}`;

export function isLogLine(v: unknown): v is LogLine {
  if (typeof v !== "object" || v === null) return false;
  const l = v as Record<string, unknown>;
  return typeof l.step === "string" && typeof l.line === "string" && typeof l.n === "number";
}

export interface LogGap {
  step: string;
  attempt: number;
  /** Fetch lines after this number (the last one before the first missing line). */
  after: number;
}

export class LogBuffer {
  readonly lines: LogLine[] = [];
  private readonly keys = new Set<string>();
  /** Per step+attempt: how many lines are held and the highest line number seen. */
  private readonly groups = new Map<string, { step: string; attempt: number; execution: number; count: number; max: number }>();

  /** Appends the lines not held yet (in the order given); returns how many were new. */
  add(batch: readonly unknown[]): number {
    let added = 0;
    for (const raw of batch) {
      if (!isLogLine(raw)) continue;
      const l: LogLine = { ...raw, attempt: typeof raw.attempt === "number" ? raw.attempt : 1, stream: raw.stream ?? "stdout", ts: raw.ts ?? "" };
      const key = lineKey(l);
      if (this.keys.has(key)) continue;
      this.keys.add(key);
      this.lines.push(l);
      const execution = l.execution ?? 1;
      const g = `${l.step}\u0000${l.attempt}\u0000${execution}`;
      const group = this.groups.get(g) ?? { step: l.step, attempt: l.attempt, execution, count: 0, max: 0 };
      group.count++;
      group.max = Math.max(group.max, l.n);
      this.groups.set(g, group);
      added++;
    }
    return added;
  }

  get size(): number {
    return this.lines.length;
  }

  /** Step+attempt groups whose line numbers are not contiguous from 1: something was missed. */
  gaps(): LogGap[] {
    const out: LogGap[] = [];
    for (const g of this.groups.values()) {
      if (g.count >= g.max) continue;
      const seen = new Set<number>();
      for (const l of this.lines) if (l.step === g.step && l.attempt === g.attempt && (l.execution ?? 1) === g.execution) seen.add(l.n);
      let n = 1;
      while (seen.has(n)) n++;
      out.push({ step: g.step, attempt: g.attempt, after: n - 1 });
    }
    return out;
  }

  /** The latest timestamp held (ISO strings compare in time order). */
  latestTs(): string {
    let max = "";
    for (const l of this.lines) if (l.ts > max) max = l.ts;
    return max;
  }
}

/** Indices (into `lines`) of the lines shown for a step filter; null = every line. */
export function filterLines(lines: readonly LogLine[], step: string | null | undefined): number[] | null {
  if (!step) return null;
  const out: number[] = [];
  for (let i = 0; i < lines.length; i++) if (lines[i].step === step) out.push(i);
  return out;
}

/**
 * Line permalinks: `#L<step>-<n>` (the step key URI-encoded, since matrix keys hold brackets and
 * commas), with `@<attempt>` added for lines of a retried step's later attempts.
 */
export function lineAnchor(l: Pick<LogLine, "step" | "n" | "attempt">): string {
  return `L${encodeURIComponent(l.step)}-${l.n}${l.attempt > 1 ? `@${l.attempt}` : ""}`;
}

export function parseLineAnchor(hash: string): { step: string; n: number; attempt: number | null } | null {
  const m = /^#?L(.+)-(\d+)(?:@(\d+))?$/.exec(hash);
  if (!m) return null;
  let step: string;
  try {
    step = decodeURIComponent(m[1]);
  } catch {
    return null;
  }
  return { step, n: Number(m[2]), attempt: m[3] ? Number(m[3]) : null };
}

/** Index of the line a permalink names (no attempt = attempt 1, else the first attempt holding it). */
export function findAnchored(lines: readonly LogLine[], a: { step: string; n: number; attempt: number | null }): number {
  const want = a.attempt ?? 1;
  let fallback = -1;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.step !== a.step || l.n !== a.n) continue;
    if (l.attempt === want) return i;
    if (a.attempt === null && (fallback < 0 || l.attempt < lines[fallback].attempt)) fallback = i;
  }
  return fallback;
}

/**
 * Indices (into `lines`) of the lines shown for a step filter and an extra predicate (the field
 * filter); null = every line.
 */
export function visibleLines(
  lines: readonly LogLine[],
  step: string | null | undefined,
  keep?: ((l: LogLine) => boolean) | null,
): number[] | null {
  if (!keep) return filterLines(lines, step);
  const out: number[] = [];
  for (let i = 0; i < lines.length; i++) if ((!step || lines[i].step === step) && keep(lines[i])) out.push(i);
  return out;
}

const plainCache = new WeakMap<LogLine, string>();

/** A line's text without ANSI codes, lower-cased (what "find in log" compares against). */
export function plainLower(l: LogLine): string {
  let s = plainCache.get(l);
  if (s === undefined) {
    s = stripAnsi(l.line).toLowerCase();
    plainCache.set(l, s);
  }
  return s;
}

/** Indices (into `lines`) of the shown lines that contain `query` (case-insensitive), in order. */
export function findMatches(lines: readonly LogLine[], visible: readonly number[] | null, query: string): number[] {
  const q = query.toLowerCase();
  if (!q) return [];
  const out: number[] = [];
  const n = visible ? visible.length : lines.length;
  for (let k = 0; k < n; k++) {
    const i = visible ? visible[k] : k;
    if (plainLower(lines[i]).includes(q)) out.push(i);
  }
  return out;
}

/** The match to go to from `current` (an index into `matches`, or -1 for none yet) by `step` (±1), wrapping. */
export function stepMatch(count: number, current: number, step: 1 | -1): number {
  if (count === 0) return -1;
  if (current < 0) return step === 1 ? 0 : count - 1;
  return (current + step + count) % count;
}
