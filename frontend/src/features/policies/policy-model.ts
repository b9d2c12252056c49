import { ApiError } from "@/lib/api-error";

/** Where a policy is evaluated (maestro/api/routes/policies.py Point). */
export const POLICY_POINTS = ["admission", "run_start", "promote"] as const;
export type PolicyPoint = (typeof POLICY_POINTS)[number];

export const POINT_INFO: Record<PolicyPoint, { label: string; description: string }> = {
  admission: { label: "Admission", description: "A pipeline version is registered (input: pipeline, spec)." },
  run_start: { label: "Run start", description: "A run is started (input: pipeline, version, env, inputs, ref)." },
  promote: {
    label: "Promote",
    description: "Artifacts are promoted to an environment at `uses: policy` steps (input: env, artifacts with path, sha256 and signed, sbom).",
  },
};

export const isPoint = (v: string): v is PolicyPoint => (POLICY_POINTS as readonly string[]).includes(v);

export function pointLabel(point: string): string {
  return isPoint(point) ? POINT_INFO[point].label : point;
}

/** A valid rego.v1 admission policy: what the Create policy dialog starts from. */
export const EXAMPLE_POLICY = `package maestro.admission.example

import rego.v1

deny contains msg if {
\tsome step in input.spec.steps
\tcontains(step.run, "curl | sh")
\tmsg := sprintf("step %s pipes a download into a shell", [step.id])
}
`;

/** Names are lowercase letters, digits and dashes (as the API checks them). */
export const POLICY_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface CompileError {
  line: number | null;
  column: number | null;
  message: string;
}

const AT_LINE = /^line (\d+), column (\d+):\s*([\s\S]*)$/;

/** `line 5, column 3: rego_parse_error: …` → {line: 5, column: 3, message: "rego_parse_error: …"}. */
export function parseCompileMessage(message: string): CompileError {
  const m = AT_LINE.exec(message.trim());
  if (!m) return { line: null, column: null, message: message.trim() };
  return { line: Number(m[1]), column: Number(m[2]), message: m[3] };
}

/** The compile errors of a refused create or update (422 problem whose errors name `source`). */
export function compileErrors(error: unknown): CompileError[] {
  if (!(error instanceof ApiError) || error.status !== 422) return [];
  return (error.errors ?? []).filter((e) => e.field.replace(/^body\./, "") === "source").map((e) => parseCompileMessage(e.message));
}

/** Character offsets [start, end) of 1-based `line` in `text` (clamped to the last line). */
export function lineRange(text: string, line: number): [number, number] {
  const lines = text.split("\n");
  const i = Math.min(Math.max(1, line), lines.length) - 1;
  const start = lines.slice(0, i).reduce((n, l) => n + l.length + 1, 0);
  return [start, start + lines[i].length];
}

/** The source split into numbered lines (a trailing newline does not add an empty last line). */
export function numberedLines(source: string): { n: number; text: string }[] {
  const lines = source.replace(/\n$/, "").split("\n");
  return lines.map((text, i) => ({ n: i + 1, text }));
}

/** The decision log's `?allowed=` (true / false / anything else = both). */
export function allowedParam(value: string): boolean | undefined {
  return value === "true" ? true : value === "false" ? false : undefined;
}

/** The `points` a form sends, in the API's order, without repeats. */
export function orderedPoints(points: Iterable<string>): PolicyPoint[] {
  const set = new Set(points);
  return POLICY_POINTS.filter((p) => set.has(p));
}
