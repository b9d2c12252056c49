import { RolloutStatus, type RolloutAction, type RolloutActionResult, type RolloutEventPayload, type RolloutPublic, type StepSpec } from "@/client/types.gen";
import { MIN_REASON_LENGTH } from "@/components/confirm-dialog";

/**
 * Pure rollout logic (no React): statuses, the steps as the workflow walks them, which controls
 * a status allows, the steps editor's JSON, and how a `rollouts` stream event patches a cached
 * rollout. Mirrors maestro/workflows/rollout.py (RolloutWorkflow) and maestro/api/routes/rollouts.py.
 */

export type Rollout = RolloutPublic;

/** Every status, in the API's order (for filters). */
export const ROLLOUT_STATUSES: readonly RolloutStatus[] = Object.values(RolloutStatus);

const FINISHED = new Set<string>([RolloutStatus.SUCCEEDED, RolloutStatus.ROLLED_BACK, RolloutStatus.ABORTED]);

/** succeeded, rolled_back and aborted are final: no control applies any more. */
export function isFinishedRollout(status: string): boolean {
  return FINISHED.has(status);
}

/** "rolled_back" → "rolled back" (for sentences). */
export function statusWords(status: string): string {
  return status.replace(/_/g, " ");
}

export function isRolloutStatus(value: string): value is RolloutStatus {
  return (ROLLOUT_STATUSES as readonly string[]).includes(value);
}

/** How a status looks: `live` is moving traffic now, `wait` held, `ok`/`bad` finished, `off` ended without a verdict. */
export type RolloutTone = "live" | "wait" | "bad-live" | "ok" | "bad" | "off";

/**
 * Every status the API has, with its words and tone. Keyed by the generated enum, so a status the
 * API adds fails to compile here until it is given a label.
 */
export const ROLLOUT_STATUS_META: Record<RolloutStatus, { label: string; tone: RolloutTone }> = {
  running: { label: "running", tone: "live" },
  paused: { label: "paused", tone: "wait" },
  // weight 0 is being applied (retried until the traffic provider answers): not over yet
  rolling_back: { label: "rolling back", tone: "bad-live" },
  succeeded: { label: "succeeded", tone: "ok" },
  rolled_back: { label: "rolled back", tone: "bad" },
  aborted: { label: "aborted", tone: "off" },
};

/** A status's words (an unknown one, from a newer API, as sent). */
export function statusLabel(status: string): string {
  return isRolloutStatus(status) ? ROLLOUT_STATUS_META[status].label : statusWords(status);
}

/** The status filter's options: the API's value, shown in words. */
export const ROLLOUT_STATUS_OPTIONS = ROLLOUT_STATUSES.map((s) => ({ value: s, label: ROLLOUT_STATUS_META[s].label }));

// ---- steps ---------------------------------------------------------------------------------

export interface AnalysisView {
  metric: string;
  provider: string;
  query: string;
  successCondition: string;
  interval: number | string;
  count: number;
}

export type StepView =
  | { kind: "setWeight"; weight: number }
  | { kind: "pause"; duration: number | string }
  | { kind: "analysis"; analysis: AnalysisView }
  | { kind: "unknown"; raw: Record<string, unknown> };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** One stored step (`{setWeight}`, `{pause}` or `{analysis}`), with the API's analysis defaults. */
export function parseStep(raw: Record<string, unknown>): StepView {
  if (typeof raw.setWeight === "number") return { kind: "setWeight", weight: raw.setWeight };
  if (typeof raw.pause === "number" || typeof raw.pause === "string") return { kind: "pause", duration: raw.pause };
  if (isRecord(raw.analysis)) {
    const a = raw.analysis;
    return {
      kind: "analysis",
      analysis: {
        metric: typeof a.metric === "string" ? a.metric : "error_rate",
        provider: typeof a.provider === "string" ? a.provider : "edge",
        query: typeof a.query === "string" ? a.query : "",
        successCondition: typeof a.successCondition === "string" ? a.successCondition : "< 0.05",
        interval: typeof a.interval === "number" || typeof a.interval === "string" ? a.interval : 10,
        count: typeof a.count === "number" ? a.count : 3,
      },
    };
  }
  return { kind: "unknown", raw };
}

/** Seconds (or a duration string such as "2m") as shown: 10 → "10s", "2m" → "2m". */
export function formatInterval(v: number | string): string {
  return typeof v === "number" ? `${v}s` : v;
}

export function describeStep(step: StepView): string {
  switch (step.kind) {
    case "setWeight":
      return `Set the canary weight to ${step.weight}%`;
    case "pause":
      return step.duration === 0 || step.duration === "0"
        ? "Pause until resumed or promoted"
        : `Pause for ${formatInterval(step.duration)}`;
    case "analysis": {
      const a = step.analysis;
      const what = a.metric === "promql" ? a.query || "PromQL" : a.metric;
      return `Analysis: ${what} ${a.successCondition.trim()} (${a.count} × ${formatInterval(a.interval)}, ${a.provider})`;
    }
    default:
      return JSON.stringify(step.raw);
  }
}

export type StepState = "done" | "current" | "pending" | "stopped" | "skipped";

/**
 * Where each step stands. The workflow's `stepIndex` is the step it is on; after the last step it
 * equals the number of steps. A promotion to 100% leaves the remaining steps skipped; a rollback
 * or abort stops the step it was on and skips the rest.
 */
export function stepStates(count: number, stepIndex: number, status: string): StepState[] {
  const idx = Math.max(0, stepIndex);
  return Array.from({ length: count }, (_, i): StepState => {
    if (i < idx) return "done";
    if (status === "succeeded") return "skipped";
    if (status === "rolled_back" || status === "rolling_back" || status === "aborted") return i === idx ? "stopped" : "skipped";
    return i === idx ? "current" : "pending";
  });
}

/** "step x/y" for tables: the step being walked (1-based); all of them once succeeded. */
export function stepPosition(count: number, stepIndex: number, status: string): { current: number; total: number } {
  if (count === 0) return { current: 0, total: 0 };
  if (status === "succeeded") return { current: count, total: count };
  return { current: Math.min(Math.max(0, stepIndex) + 1, count), total: count };
}

/** What the weight means in a status where the number alone misleads (0 after a promotion). */
export function weightNote(status: string, canaryUrl: string): string | null {
  if (status === "succeeded") return `The canary is now the stable version: ${canaryUrl} takes all the traffic.`;
  if (status === "rolled_back" || status === "aborted") return "All traffic is back on the stable version.";
  if (status === "rolling_back")
    return "Rolling back: all traffic is being sent to the stable version; retried until the traffic provider confirms.";
  if (status === "paused") return "Held at this weight while paused.";
  return null;
}

// ---- controls ------------------------------------------------------------------------------

export type RolloutControl = "pause" | "resume" | "promote" | "promote-full" | "rollback" | "abort";

export interface ControlMeta {
  /** The button's and the confirm button's accessible name. */
  label: string;
  action: RolloutAction["action"];
  full: boolean;
  destructive: boolean;
  /** What happens, for the confirmation dialog. */
  description: string;
  /** The success toast's title. */
  done: string;
  /** The confirmation dialog's title. */
  question: (service: string) => string;
}

/**
 * What Resume does (RolloutWorkflow): it ends a `pause: 0` step, so the rollout moves on; a step a
 * person paused midway continues; an analysis that paused on an inconclusive measurement measures again.
 */
export const RESUME_WORDS =
  "The rollout goes on from where it stopped: a pause-until-resumed step ends and the next one starts, a step paused by a person continues, an inconclusive analysis measures again.";

/** The steps card's line while paused. */
export const PAUSED_STEPS_WORDS =
  "Paused. Resume: the rollout goes on from where it stopped (a pause step ends, an analysis measures again). Promote skips the current step.";

export const CONTROLS: Record<RolloutControl, ControlMeta> = {
  pause: {
    label: "Pause",
    action: "pause",
    full: false,
    destructive: false,
    description: "The canary keeps its current weight and no further step starts until someone resumes or promotes it.",
    done: "Rollout paused",
    question: (s) => `Pause the rollout of ${s}?`,
  },
  resume: {
    label: "Resume",
    action: "resume",
    full: false,
    destructive: false,
    description: RESUME_WORDS,
    done: "Rollout resumed",
    question: (s) => `Resume the rollout of ${s}?`,
  },
  promote: {
    label: "Promote",
    action: "promote",
    full: false,
    destructive: false,
    description:
      "The current step ends now and the rollout moves on to the next one. The promote policies judge it first; a failing analysis refuses it.",
    done: "Rollout promoted to the next step",
    question: (s) => `Promote the rollout of ${s} to its next step?`,
  },
  "promote-full": {
    label: "Promote to 100%",
    action: "promote",
    full: true,
    destructive: false,
    description:
      "The remaining steps are skipped: the canary gets 100% of the traffic and becomes the stable version. The promote policies judge it first.",
    done: "Rollout promoted to 100%",
    question: (s) => `Promote the rollout of ${s} to 100%?`,
  },
  rollback: {
    label: "Roll back",
    action: "rollback",
    full: false,
    destructive: true,
    description:
      "All traffic goes back to the stable version at once, an alert fires and an evidence snapshot of the rollout is kept.",
    done: "Rollout rolled back",
    question: (s) => `Roll back the rollout of ${s}?`,
  },
  abort: {
    label: "Abort",
    action: "abort",
    full: false,
    destructive: true,
    description: "All traffic goes back to the stable version and the rollout ends, without a rollback alert.",
    done: "Rollout aborted",
    question: (s) => `Abort the rollout of ${s}?`,
  },
};

/**
 * The toast's sentence after a control: how the rollout stands *after* it. Pause, resume, rollback
 * and abort answer once done, so their `status` and `weight` are already the new state. Promote
 * answers as soon as the current step has ended (`stepIndex` is that step), before the workflow
 * applies the next one: its weight is still the old one, so say where the rollout goes instead.
 */
export function controlOutcome(control: RolloutControl, service: string, res: RolloutActionResult): string {
  if (control === "promote-full" && !isFinishedRollout(res.status)) {
    return `${service}: the canary goes to 100% and then becomes the stable version.`;
  }
  if (control === "promote" && !isFinishedRollout(res.status)) {
    // (an answer without the rollout's steps still says which step ended)
    const raw: unknown = (res.rollout as Partial<Rollout> | undefined)?.steps;
    const steps = Array.isArray(raw) ? (raw as Record<string, unknown>[]).map(parseStep) : [];
    const next = res.stepIndex + 1;
    if (!steps.length) return `${service}: step ${res.stepIndex + 1} ended; the rollout moves on to the next one.`;
    if (next >= steps.length) return `${service}: the last step ended; the canary goes to 100% and then becomes the stable version.`;
    return `${service}: step ${res.stepIndex + 1} of ${steps.length} ended; now step ${next + 1} of ${steps.length}: ${describeStep(steps[next])}.`;
  }
  return `${service}: ${statusLabel(res.status)}, canary at ${res.weight}%.`;
}

/** The controls a status allows, in button order (the workflow refuses the rest with a 409 anyway). */
export function allowedControls(status: string): RolloutControl[] {
  if (status === "running") return ["pause", "promote", "promote-full", "rollback", "abort"];
  if (status === "paused") return ["resume", "promote", "promote-full", "rollback", "abort"];
  return [];
}

// ---- the steps editor ----------------------------------------------------------------------

/** The API's default steps (maestro/api/routes/rollouts.py DEFAULT_STEPS). */
export const DEFAULT_STEPS: StepSpec[] = [
  { setWeight: 10 },
  { analysis: {} },
  { setWeight: 25 },
  { analysis: {} },
  { setWeight: 50 },
  { analysis: {} },
  { setWeight: 100 },
];

/** A JSON array with one step per line: easy to read and to edit in a textarea. */
export function formatStepsJson(steps: readonly unknown[]): string {
  if (!steps.length) return "[]";
  return `[\n${steps.map((s) => `  ${JSON.stringify(s)}`).join(",\n")}\n]`;
}

export const DEFAULT_STEPS_JSON = formatStepsJson(DEFAULT_STEPS);

const STEP_KEYS = ["setWeight", "pause", "analysis"] as const;
export const MAX_STEPS = 50;

export type ParsedSteps = { ok: true; steps: StepSpec[] } | { ok: false; error: string };

/** Checks the editor's text the way the API will: an array of 1–50 steps, each exactly one kind. */
export function parseStepsJson(text: string): ParsedSteps {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `Not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!Array.isArray(value)) return { ok: false, error: "Write a JSON array of steps, e.g. [{\"setWeight\": 10}]." };
  if (value.length === 0) return { ok: false, error: "Give at least one step." };
  if (value.length > MAX_STEPS) return { ok: false, error: `At most ${MAX_STEPS} steps (this has ${value.length}).` };
  for (const [i, step] of value.entries()) {
    const n = i + 1;
    if (!isRecord(step)) return { ok: false, error: `Step ${n} is not an object.` };
    const unknown = Object.keys(step).filter((k) => !(STEP_KEYS as readonly string[]).includes(k));
    if (unknown.length) return { ok: false, error: `Step ${n}: unknown key “${unknown[0]}” (use setWeight, pause or analysis).` };
    const kinds = STEP_KEYS.filter((k) => step[k] !== undefined && step[k] !== null);
    if (kinds.length !== 1) return { ok: false, error: `Step ${n} must be exactly one of setWeight, pause or analysis.` };
    const w = step.setWeight;
    if (kinds[0] === "setWeight" && (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 100)) {
      return { ok: false, error: `Step ${n}: setWeight is a whole number from 0 to 100.` };
    }
    const p = step.pause;
    if (kinds[0] === "pause" && !((typeof p === "number" && p >= 0) || (typeof p === "string" && p.trim() !== ""))) {
      return { ok: false, error: `Step ${n}: pause is seconds (0 waits for resume or promote) or a duration such as "2m".` };
    }
    if (kinds[0] === "analysis" && !isRecord(step.analysis)) {
      return { ok: false, error: `Step ${n}: analysis is an object, e.g. {"metric": "error_rate", "successCondition": "< 0.05"}.` };
    }
  }
  return { ok: true, steps: value as StepSpec[] };
}

/** A measured value: up to 4 significant digits, like the workflow's own messages. */
export function formatValue(v: number | null): string {
  if (v === null) return "—";
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

export function outcomeVariant(outcome: string): "success" | "danger" | "warning" | "outline" {
  if (outcome === "passed") return "success";
  if (outcome === "failed") return "danger";
  if (outcome === "inconclusive") return "warning";
  return "outline";
}

const DONE_WORDS: Record<string, string> = {
  pause: "paused",
  resume: "resumed",
  promote: "promoted",
  "promote-full": "promoted to 100%",
  rollback: "rolled back",
  abort: "aborted",
};

/**
 * History actions as what happened, in the words the status and the toasts use ("rollback" →
 * "rolled back", "promote-full" → "promoted to 100%"); an action a newer API adds, as sent.
 */
export function actionWords(action: string): string {
  return DONE_WORDS[action] ?? action.replace(/[_-]/g, " ");
}

/** The policy decision a refusal names (`?batch=` in a remediation, or "(decision <id>)"). */
export function decisionBatchOf(...texts: (string | undefined)[]): string | null {
  for (const t of texts) {
    if (!t) continue;
    const m = /[?&]batch=([A-Za-z0-9_-]+)/.exec(t) ?? /\(decision ([A-Za-z0-9_-]+)\)/.exec(t);
    if (m) return m[1];
  }
  return null;
}

// ---- live events ---------------------------------------------------------------------------

const sameRecord = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A cached rollout with an event applied: status, step, weight and message, plus the history
 * entry or measurement it carries (once), and a weight point when the weight changed. `at` is
 * the event's time. A refetch follows and brings the authoritative record.
 */
export function patchRollout(r: Rollout, p: RolloutEventPayload, at: string): Rollout {
  if (r.id !== p.id) return r;
  const next: Rollout = { ...r };
  next.status = p.status;
  next.stepIndex = p.stepIndex;
  if (p.message) next.message = p.message;
  if (p.weight !== r.weight) {
    next.weight = p.weight;
    next.weights = [...r.weights, { at, weight: p.weight }];
  }
  if (p.history && !r.history.some((h) => sameRecord(h, p.history!))) next.history = [...r.history, p.history];
  if (p.analysis && !r.analyses.some((a) => sameRecord(a, p.analysis!))) next.analyses = [...r.analyses, p.analysis];
  return next;
}

/** Only the rows of one environment (the shell's `?env=`), or all of them. */
export function inEnv<T extends { env: string }>(rows: readonly T[], env: string | null): T[] {
  return env ? rows.filter((r) => r.env === env) : [...rows];
}

// ---- form checks (the API's own rules, with sentences people can act on) -------------------

export const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const STICKY = /^(header|cookie):[A-Za-z0-9_-]{1,100}$/;

/** An http(s) URL with a host, as the API requires for stable and canary upstreams. */
export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === "http:" || u.protocol === "https:") && u.host !== "";
  } catch {
    return false;
  }
}

export function upstreamError(value: string, what: string): string | undefined {
  const v = value.trim();
  if (!v) return `Give the ${what}, e.g. http://10.0.0.5:8080.`;
  if (!isHttpUrl(v)) return `The ${what} must be an http(s) URL with a host, e.g. http://10.0.0.5:8080.`;
  return undefined;
}

/** The checks both ways of starting a rollout share: a service, a canary URL, a reason for the audit log. */
export function canaryFormErrors(
  form: { service: string; canaryUrl: string; reason: string },
  noService: string,
): Partial<Record<"service" | "canaryUrl" | "reason", string>> {
  const out: Partial<Record<"service" | "canaryUrl" | "reason", string>> = {};
  if (!form.service) out.service = noService;
  const urlError = upstreamError(form.canaryUrl, "canary URL");
  if (urlError) out.canaryUrl = urlError;
  if (form.reason.trim().length < MIN_REASON_LENGTH) out.reason = `Give a reason of at least ${MIN_REASON_LENGTH} characters.`;
  return out;
}
