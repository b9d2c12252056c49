import { queryOptions, type QueryClient } from "@tanstack/react-query";
import { pipelinesValidate } from "@/client/sdk.gen";
import type { PipelineDetail, ValidationResult } from "@/client/types.gen";
import { byQueryId } from "@/lib/query-keys";

export type { PipelineDetail, ValidationResult };

/** One node of a pipeline's plan (maestro/api/routes/pipelines.py plan_public). */
export interface PlanStep {
  key: string;
  stepId: string;
  name: string;
  kind: string;
  needs: string[];
  pool?: string;
}

export function planSteps(plan: unknown): PlanStep[] {
  if (!Array.isArray(plan)) return [];
  return plan
    .filter((p): p is Record<string, unknown> => typeof p === "object" && p !== null && typeof (p as { key?: unknown }).key === "string")
    .map((p) => ({
      key: String(p.key),
      stepId: typeof p.stepId === "string" ? p.stepId : String(p.key),
      name: typeof p.name === "string" ? p.name : String(p.key),
      kind: typeof p.kind === "string" ? p.kind : "run",
      needs: Array.isArray(p.needs) ? p.needs.filter((n): n is string => typeof n === "string") : [],
      pool: typeof p.pool === "string" ? p.pool : undefined,
    }));
}

/** The steps of a stored spec (`spec.steps[]` with `id` and `needs`), for version graphs. */
export function specSteps(spec: unknown): { id: string; name: string; needs: string[]; uses?: string }[] {
  const steps = (spec as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return [];
  return steps
    .filter((s): s is Record<string, unknown> => typeof s === "object" && s !== null && typeof (s as { id?: unknown }).id === "string")
    .map((s) => ({
      id: String(s.id),
      name: typeof s.name === "string" ? s.name : String(s.id),
      needs: Array.isArray(s.needs) ? s.needs.filter((n): n is string => typeof n === "string") : [],
      uses: typeof s.uses === "string" ? s.uses : undefined,
    }));
}

/**
 * POST /api/pipelines/validate as a read: it changes nothing, so the editor caches results by
 * the spec text and re-asks only when the (debounced) text changes.
 */
export function validateSpecOptions(text: string) {
  return queryOptions<ValidationResult>({
    queryKey: [{ _id: "pipelinesValidate", body: { spec: text } }],
    queryFn: async ({ signal }) => (await pipelinesValidate({ body: { spec: text }, signal })).data,
    staleTime: Infinity,
    enabled: text.trim().length > 0,
  });
}

export function invalidatePipelines(queryClient: QueryClient) {
  return queryClient.invalidateQueries({
    predicate: byQueryId("pipelinesList", "pipelinesGet", "pipelinesVersionsList"),
  });
}

/** `steps[2](build).needs` → the step id and the field inside it (as pipelines-validate names them). */
export function parseSpecField(field: string): { step: string | null; index: number | null; path: string } {
  const f = field.replace(/^spec\./, "");
  const m = /^steps\[(\d+)\](?:\(([^)]*)\))?\.?(.*)$/.exec(f);
  if (m) return { index: Number(m[1]), step: m[2] || null, path: m[3] || "" };
  return { step: null, index: null, path: f };
}

/** The 1-based line of a step (`- id: build` or `id: build`) in YAML/JSON text, or null. */
export function lineOfStep(text: string, step: string | null, index: number | null): number | null {
  const lines = text.split("\n");
  if (step) {
    const esc = step.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const re = new RegExp(`^\\s*(?:-\\s*)?["']?id["']?\\s*:\\s*["']?${esc}["']?\\s*,?\\s*$`);
    const at = lines.findIndex((l) => re.test(l));
    if (at >= 0) return at + 1;
  }
  if (index !== null) {
    // The index-th list item under `steps:` (YAML block style).
    const start = lines.findIndex((l) => /^steps\s*:/.test(l));
    if (start >= 0) {
      let seen = -1;
      for (let i = start + 1; i < lines.length; i++) {
        if (/^\S/.test(lines[i])) break;
        if (/^\s*-\s/.test(lines[i]) && lines[i].search(/\S/) === lines[start + 1]?.search(/\S/)) {
          seen++;
          if (seen === index) return i + 1;
        }
      }
    }
  }
  return null;
}

/** The line a YAML parse error names ("at line 4, column 3"), or null. */
export function lineOfMessage(message: string): number | null {
  const m = /line (\d+)/.exec(message);
  return m ? Number(m[1]) : null;
}
