import type { InfiniteData, QueryClient } from "@tanstack/react-query";
import { useCallback, useMemo } from "react";
import { useSearchParams } from "react-router";
import { runsListInfiniteOptions } from "@/client/@tanstack/react-query.gen";
import type {
  RunAction as RunActionBody,
  RunDetail,
  RunEventPayload,
  RunPublic,
  RunsListData,
  RunsListResponse,
  StepEventPayload,
  StepPublic,
} from "@/client/types.gen";
import { ENV_PARAM } from "@/lib/env";
import { byQueryId, queryIdOf } from "@/lib/query-keys";
import { cursorPaging } from "@/lib/url-state";
import { isTerminalRun } from "./format";

export type Run = RunPublic;
export type { RunDetail, StepPublic };
export type RunAction = RunActionBody["action"];

/** What the run's state allows (the API refuses the rest with a 409 anyway). */
export function allowedActions(run: Pick<RunDetail, "status" | "paused" | "steps">): Set<RunAction> {
  const out = new Set<RunAction>();
  if (isTerminalRun(run.status)) {
    out.add("rerun");
    if (run.status === "failed" || run.status === "cancelled") out.add("rerun-failed");
    return out;
  }
  out.add("cancel");
  if (run.paused || run.status === "paused") out.add("resume");
  else if (run.status !== "queued") out.add("pause");
  if (run.steps.some((s) => s.status === "waiting")) {
    out.add("approve");
    out.add("reject");
  }
  return out;
}

/**
 * The runs table's filters, all in the URL: `status` and `label` repeat (`?status=failed&status=
 * cancelled`, `?label=team=web`), the environment is the shell's `?env=` (the environment
 * switcher), the rest are single values. A URL like this is also what a saved view stores.
 */
export const RUN_FILTER_KEYS = ["status", "pipeline", "owner", "label", "branch", "cost_min", "cost_max", "q"] as const;
export type RunFilterKey = (typeof RUN_FILTER_KEYS)[number];
export const MULTI_KEYS = new Set<RunFilterKey>(["status", "label"]);

export interface RunFilters {
  status: string[];
  label: string[];
  pipeline: string;
  owner: string;
  branch: string;
  cost_min: string;
  cost_max: string;
  q: string;
  env: string;
}

export function readRunFilters(params: URLSearchParams): RunFilters {
  return {
    status: params.getAll("status").filter(Boolean),
    label: params.getAll("label").filter(Boolean),
    pipeline: params.get("pipeline") ?? "",
    owner: params.get("owner") ?? "",
    branch: params.get("branch") ?? "",
    cost_min: params.get("cost_min") ?? "",
    cost_max: params.get("cost_max") ?? "",
    q: params.get("q") ?? "",
    env: params.get(ENV_PARAM) ?? "",
  };
}

/** The filter part of the query string (the environment included), in a stable order. */
export function filtersToSearch(f: RunFilters): string {
  const out = new URLSearchParams();
  for (const s of f.status) out.append("status", s);
  for (const k of ["pipeline", "owner", "branch", "cost_min", "cost_max", "q"] as const) if (f[k]) out.set(k, f[k]);
  for (const l of f.label) out.append("label", l);
  if (f.env) out.set(ENV_PARAM, f.env);
  return out.toString();
}

export function activeFilterCount(f: RunFilters): number {
  return (
    f.status.length +
    f.label.length +
    (["pipeline", "owner", "branch", "cost_min", "cost_max", "q"] as const).filter((k) => f[k]).length
  );
}

export function useRunFilters() {
  const [params, setParams] = useSearchParams();
  const signature = [...RUN_FILTER_KEYS, ENV_PARAM].map((k) => `${k}=${params.getAll(k).join("|")}`).join("&");
  // eslint-disable-next-line react-hooks/exhaustive-deps -- `signature` is exactly what is read
  const filters = useMemo(() => readRunFilters(params), [signature]);
  const apply = useCallback(
    (next: Partial<RunFilters>) =>
      setParams((prev) => {
        const p = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(next) as [keyof RunFilters, string | string[]][]) {
          const key = k === "env" ? ENV_PARAM : k;
          p.delete(key);
          for (const x of Array.isArray(v) ? v : [v]) if (x) p.append(key, x);
        }
        return p;
      }),
    [setParams],
  );
  const clear = useCallback(
    () =>
      setParams((prev) => {
        const p = new URLSearchParams(prev);
        for (const k of RUN_FILTER_KEYS) p.delete(k);
        return p;
      }),
    [setParams],
  );
  return { filters, apply, clear, signature };
}

/** key=value pairs typed as "team=web, tier=1" (or one per line). */
export function parseLabels(text: string): { labels: string[]; bad: string[] } {
  const labels: string[] = [];
  const bad: string[] = [];
  for (const part of text.split(/[,\n]/)) {
    const t = part.trim();
    if (!t) continue;
    const at = t.indexOf("=");
    if (at <= 0) bad.push(t);
    else labels.push(`${t.slice(0, at).trim()}=${t.slice(at + 1).trim()}`);
  }
  return { labels, bad };
}

export function runsQueryFor(f: RunFilters): NonNullable<RunsListData["query"]> {
  const q: NonNullable<RunsListData["query"]> = { limit: 50 };
  if (f.status.length) q.status = f.status;
  if (f.label.length) q.label = f.label;
  if (f.pipeline) q.pipeline = f.pipeline;
  if (f.owner) q.owner = f.owner;
  if (f.branch) q.branch = f.branch;
  if (f.env) q.env = f.env;
  if (f.q) q.q = f.q;
  const min = Number(f.cost_min);
  const max = Number(f.cost_max);
  if (f.cost_min && Number.isFinite(min)) q.cost_min = min;
  if (f.cost_max && Number.isFinite(max)) q.cost_max = max;
  return q;
}

export function runsListQuery(f: RunFilters) {
  return { ...runsListInfiniteOptions({ query: runsQueryFor(f) }), ...cursorPaging };
}

/** Every cached runs list (any filter, any page). */
export function invalidateRunLists(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("runsList") });
}

/** The cached detail of a run (keyed by id or workflow id, whichever the URL used). */
export function invalidateRun(queryClient: QueryClient, runId: string) {
  return queryClient.invalidateQueries({
    predicate: (q) => queryIdOf(q) === "runsGet" && (q.state.data as RunDetail | undefined)?.id === runId,
  });
}

function patchRun<T extends RunPublic>(run: T, p: RunEventPayload): T {
  if (run.id !== p.runId) return run;
  return {
    ...run,
    status: p.status,
    paused: p.paused,
    costUsd: p.costUsd,
    ...(p.durationMs !== null ? { durationMs: p.durationMs } : {}),
    stepsDone: p.stepsDone,
    stepsTotal: p.stepsTotal,
    ...(p.error ? { error: p.error } : {}),
  };
}

/**
 * Writes a run event into every cached list page and the run's cached detail. Returns whether a
 * cached list row changed status (server-side status filters may then no longer match it).
 */
export function applyRunEvent(queryClient: QueryClient, p: RunEventPayload): boolean {
  let statusChanged = false;
  queryClient.setQueriesData<InfiniteData<RunsListResponse>>({ predicate: byQueryId("runsList") }, (old) => {
    if (!old?.pages) return old;
    let changed = false;
    const pages = old.pages.map((page) => {
      const row = page.items.find((r) => r.id === p.runId);
      if (!row) return page;
      changed = true;
      if (p.status !== row.status) statusChanged = true;
      return { ...page, items: page.items.map((r) => patchRun(r, p)) };
    });
    return changed ? { ...old, pages } : old;
  });
  queryClient.setQueriesData<RunDetail>({ predicate: byQueryId("runsGet") }, (old) =>
    old && old.id === p.runId ? patchRun(old, p) : old,
  );
  return statusChanged;
}

/** Writes a step event into the run's cached detail (new steps come with the next refetch). */
export function applyStepEvent(queryClient: QueryClient, p: StepEventPayload): void {
  queryClient.setQueriesData<RunDetail>({ predicate: byQueryId("runsGet") }, (old) => {
    if (!old || old.id !== p.runId) return old;
    return {
      ...old,
      steps: old.steps.map((s) =>
        s.key !== p.key
          ? s
          : {
              ...s,
              status: p.status,
              attempt: p.attempt,
              exitCode: p.exitCode,
              durationMs: p.durationMs,
              message: p.message,
              // the runner's clock, not this browser's (the current attempt's start and end)
              ...(p.startedAt ? { startedAt: p.startedAt } : {}),
              ...(p.finishedAt ? { finishedAt: p.finishedAt } : {}),
            },
      ),
    };
  });
}
