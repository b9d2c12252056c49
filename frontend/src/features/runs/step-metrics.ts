import type { StepPublic } from "@/client/types.gen";
import { elapsedMs } from "./use-now";

/** The step fields the metrics read (a subset of the run detail's steps). */
export type MetricStep = Pick<
  StepPublic,
  "key" | "name" | "needs" | "pool" | "status" | "attempt" | "attempts" | "startedAt" | "finishedAt" | "durationMs" | "costUsd" | "logLines" | "kind"
>;

export interface RunTiming {
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
}

export interface StepMetric {
  key: string;
  name: string;
  status: string;
  pool: string;
  kind: string;
  /** The current attempt's duration (to `now` while it runs); null when it never started. */
  durationMs: number | null;
  /** Whether the duration still grows (the step runs or waits). */
  live: boolean;
  /** Attempts made so far (0 when the step never started). */
  attempts: number;
  /** Time spent in earlier, retried attempts. */
  retriedMs: number;
  costUsd: number;
  logLines: number;
  /** duration / the longest step's duration, 0..1 (0 without a duration). */
  share: number;
  /** On the run's critical path (the longest chain of `needs`). */
  critical: boolean;
}

export interface StepMetricsSummary {
  steps: number;
  /** Steps that started at least once. */
  started: number;
  /** Sum of every step's duration (current attempts only). */
  totalStepMs: number;
  /** Run start to finish (to `now` while it runs); null before it starts. */
  wallMs: number | null;
  /** The longest chain of dependent steps, by duration. */
  criticalPathMs: number;
  criticalPath: string[];
  /** totalStepMs / wallMs: how many steps ran at once on average; null without a wall time. */
  parallelism: number | null;
  /** Wall time not spent on the critical path (queueing, scheduling, approvals); null without a wall time. */
  overheadMs: number | null;
  /** Attempts beyond the first, over all steps. */
  retries: number;
  retriedSteps: number;
  /** Time spent in attempts that were retried. */
  retriedMs: number;
  costUsd: number;
  logLines: number;
  slowest: { key: string; name: string; durationMs: number } | null;
}

export interface StepMetrics {
  steps: StepMetric[];
  summary: StepMetricsSummary;
}

const LIVE = new Set(["running", "waiting"]);

/** A step's current-attempt duration: the recorded one, else measured from its timestamps. */
export function stepDuration(step: MetricStep, now: number): number | null {
  if (step.durationMs !== null && step.durationMs !== undefined) return step.durationMs;
  if (!step.startedAt) return null;
  if (!step.finishedAt && !LIVE.has(step.status)) return null;
  return elapsedMs(step.startedAt, step.finishedAt, now);
}

/** Attempts made: the highest of the step's attempt counter and its attempt history. */
export function attemptCount(step: Pick<MetricStep, "attempt" | "attempts">): number {
  const history = step.attempts ?? [];
  return Math.max(step.attempt || 0, history.length, ...history.map((a) => a.attempt || 0));
}

function retriedTime(step: MetricStep): number {
  let total = 0;
  for (const a of step.attempts ?? []) {
    if (a.attempt >= step.attempt) continue;
    const d = a.durationMs ?? elapsedMs(a.startedAt, a.finishedAt, NaN);
    if (d !== null && Number.isFinite(d)) total += d;
  }
  return total;
}

/**
 * The longest chain through the `needs` graph, weighing each step by its duration (steps that
 * never ran weigh nothing). `needs` name step keys; unknown keys and cycles are ignored.
 */
export function criticalPath(steps: readonly { key: string; needs: readonly string[] }[], duration: (key: string) => number): { ms: number; keys: string[] } {
  const byKey = new Map(steps.map((s) => [s.key, s]));
  const memo = new Map<string, { ms: number; keys: string[] }>();
  const visiting = new Set<string>();
  const longest = (key: string): { ms: number; keys: string[] } => {
    const hit = memo.get(key);
    if (hit) return hit;
    if (visiting.has(key)) return { ms: 0, keys: [] };
    visiting.add(key);
    let best: { ms: number; keys: string[] } = { ms: 0, keys: [] };
    for (const dep of byKey.get(key)?.needs ?? []) {
      if (!byKey.has(dep)) continue;
      const p = longest(dep);
      if (p.ms > best.ms || (p.ms === best.ms && p.keys.length > best.keys.length)) best = p;
    }
    visiting.delete(key);
    const out = { ms: best.ms + duration(key), keys: [...best.keys, key] };
    memo.set(key, out);
    return out;
  };
  let result: { ms: number; keys: string[] } = { ms: 0, keys: [] };
  for (const s of steps) {
    const p = longest(s.key);
    if (p.ms > result.ms) result = p;
  }
  return result;
}

/** Per-step figures and the run's summary, from the steps the run detail already carries. */
export function computeStepMetrics(steps: readonly MetricStep[], run: RunTiming, now: number): StepMetrics {
  const durations = new Map<string, number | null>(steps.map((s) => [s.key, stepDuration(s, now)]));
  const longest = Math.max(0, ...[...durations.values()].map((d) => d ?? 0));
  const path = criticalPath(steps, (key) => durations.get(key) ?? 0);
  // Steps that took no time (not run yet, skipped) add nothing to the path: leave them off it.
  const pathKeys = path.keys.filter((k) => (durations.get(k) ?? 0) > 0);
  const onPath = new Set(pathKeys);

  const metrics: StepMetric[] = steps.map((s) => {
    const d = durations.get(s.key) ?? null;
    return {
      key: s.key,
      name: s.name || s.key,
      status: s.status,
      pool: s.pool,
      kind: s.kind,
      durationMs: d,
      live: !s.finishedAt && LIVE.has(s.status),
      attempts: attemptCount(s),
      retriedMs: retriedTime(s),
      costUsd: s.costUsd || 0,
      logLines: s.logLines || 0,
      share: d !== null && longest > 0 ? d / longest : 0,
      critical: onPath.has(s.key),
    };
  });

  const totalStepMs = metrics.reduce((n, m) => n + (m.durationMs ?? 0), 0);
  const wallMs = run.durationMs ?? elapsedMs(run.startedAt, run.finishedAt, now);
  const retries = metrics.reduce((n, m) => n + Math.max(0, m.attempts - 1), 0);
  let slowest: StepMetricsSummary["slowest"] = null;
  for (const m of metrics) {
    if (m.durationMs !== null && (slowest === null || m.durationMs > slowest.durationMs)) {
      slowest = { key: m.key, name: m.name, durationMs: m.durationMs };
    }
  }
  return {
    steps: metrics,
    summary: {
      steps: metrics.length,
      started: metrics.filter((m) => m.attempts > 0 || m.durationMs !== null).length,
      totalStepMs,
      wallMs,
      criticalPathMs: path.ms,
      criticalPath: pathKeys,
      parallelism: wallMs !== null && wallMs > 0 && totalStepMs > 0 ? totalStepMs / wallMs : null,
      overheadMs: wallMs !== null ? Math.max(0, wallMs - path.ms) : null,
      retries,
      retriedSteps: metrics.filter((m) => m.attempts > 1).length,
      retriedMs: metrics.reduce((n, m) => n + m.retriedMs, 0),
      costUsd: metrics.reduce((n, m) => n + m.costUsd, 0),
      logLines: metrics.reduce((n, m) => n + m.logLines, 0),
      slowest,
    },
  };
}

/** "×1.8": average concurrency, one decimal. */
export function formatParallelism(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return "—";
  return `×${p.toFixed(1)}`;
}
