import type { BudgetAction, BudgetCreate, TierPublic } from "@/client/types.gen";
import { serverFieldErrors, type FieldErrors } from "@/lib/form";

/** What the FinOps screens show, computed from the budgets and cost APIs' answers. */

export const SCOPE_DIMS = ["project", "env", "pipeline", "provider", "model"] as const;
export type ScopeDim = (typeof SCOPE_DIMS)[number];

const usd2 = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usd4 = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 4 });
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/** Dollars with cents (and up to 4 decimals under a dollar, where sub-cent spend is common). */
export function formatUsd(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return Math.abs(v) < 1 && v !== 0 ? usd4.format(v) : usd2.format(v);
}

export function formatTokens(v: number | null | undefined): string {
  return v === null || v === undefined ? "—" : integer.format(v);
}

export function formatPercent(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return `${v.toFixed(digits)}%`;
}

/** "pipeline build, env prod" — or the whole tenant when no dimension is set. */
export function scopeText(scope: Record<string, string> | undefined): string {
  const parts = SCOPE_DIMS.filter((d) => scope?.[d]).map((d) => `${d} ${scope?.[d]}`);
  return parts.length ? parts.join(", ") : "the whole tenant";
}

export type BudgetTone = "success" | "warning" | "danger";

/** ok → green, warning (a threshold fired) → amber, breached (at or over the cap) → red. */
export function stateView(state: string): { label: string; tone: BudgetTone } {
  if (state === "breached") return { label: "Breached", tone: "danger" };
  if (state === "warning") return { label: "Warning", tone: "warning" };
  return { label: "OK", tone: "success" };
}

export function actionText(a: BudgetAction): string {
  const at = `at ${a.atPercent ?? 100}%`;
  switch (a.kind) {
    case "freeze":
      return `Freeze ${at}`;
    case "slowdown":
      return `Slow down ${at} (${a.permitsPerMinute ?? 6} runs/min, gateway ${a.gatewayRpm ?? 60} rpm)`;
    case "downgrade":
      return `Downgrade ${(a.classes ?? []).join(", ") || "routing classes"} ${at}`;
    default:
      return `Notify ${at}`;
  }
}

// ---- the new-budget form -----------------------------------------------------------------------

export interface ActionDraft {
  kind: BudgetAction["kind"];
  atPercent: string;
  permitsPerMinute: string;
  classes: string;
}

export interface BudgetDraft {
  name: string;
  description: string;
  tier: NonNullable<BudgetCreate["tier"]>;
  scope: Record<ScopeDim, string>;
  period: "monthly" | "quarterly";
  capUsd: string;
  capTokens: string;
  thresholds: string;
  actions: ActionDraft[];
  forecastDowngrade: boolean;
}

export function emptyDraft(): BudgetDraft {
  return {
    name: "",
    description: "",
    tier: "custom",
    scope: { project: "", env: "", pipeline: "", provider: "", model: "" },
    period: "monthly",
    capUsd: "",
    capTokens: "",
    thresholds: "50, 80, 100",
    actions: [{ kind: "freeze", atPercent: "100", permitsPerMinute: "6", classes: "" }],
    forecastDowngrade: false,
  };
}

export function actionDraft(a: BudgetAction): ActionDraft {
  return {
    kind: a.kind,
    atPercent: String(a.atPercent ?? 100),
    permitsPerMinute: String(a.permitsPerMinute ?? 6),
    classes: (a.classes ?? []).join(", "),
  };
}

/** A tier fills in its caps, thresholds and actions (the fields stay editable). */
export function applyTier(draft: BudgetDraft, tier: TierPublic | undefined, name: BudgetDraft["tier"]): BudgetDraft {
  if (!tier) return { ...draft, tier: name };
  return {
    ...draft,
    tier: name,
    capUsd: String(tier.capUsd),
    capTokens: String(tier.capTokens),
    thresholds: tier.thresholds.join(", "),
    actions: tier.actions.map(actionDraft),
    forecastDowngrade: tier.forecastDowngrade,
  };
}

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function num(v: string): number | null {
  const t = v.trim();
  if (!t) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : Number.NaN;
}

/** The request body, or the fields to fix first (keyed like the API's 422 `errors`). */
export function buildBudgetBody(d: BudgetDraft): { body: BudgetCreate; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const name = d.name.trim();
  if (!name) errors.name = "Give the budget a name.";
  else if (!NAME_RE.test(name)) errors.name = "Lowercase letters, digits and dashes, starting and ending with a letter or digit.";
  const capUsd = num(d.capUsd);
  const capTokens = num(d.capTokens);
  if (capUsd !== null && !(capUsd > 0)) errors.capUsd = "A positive amount of dollars.";
  if (capTokens !== null && !(Number.isInteger(capTokens) && capTokens > 0)) errors.capTokens = "A positive whole number of tokens.";
  if (capUsd === null && capTokens === null && d.tier === "custom") errors.capUsd = "Give a USD cap, a token cap or both (or pick a tier).";
  const thresholds: number[] = [];
  for (const part of d.thresholds.split(",").map((s) => s.trim()).filter(Boolean)) {
    const n = Number(part);
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      errors.thresholds = "Whole percents of the cap between 1 and 1000, separated by commas.";
      break;
    }
    thresholds.push(n);
  }
  const actions: BudgetAction[] = d.actions.map((a, i) => {
    const at = Number(a.atPercent);
    if (!Number.isInteger(at) || at < 1 || at > 1000) errors[`actions.${i}.atPercent`] = "A whole percent between 1 and 1000.";
    const out: BudgetAction = { kind: a.kind, atPercent: at };
    if (a.kind === "slowdown") {
      const p = Number(a.permitsPerMinute);
      if (!Number.isInteger(p) || p < 1 || p > 6000) errors[`actions.${i}.permitsPerMinute`] = "Runs per minute, 1 to 6000.";
      out.permitsPerMinute = p;
    }
    if (a.kind === "downgrade") {
      const classes = a.classes.split(",").map((s) => s.trim()).filter(Boolean);
      if (!classes.length) errors[`actions.${i}.classes`] = "Name the routing classes it downgrades.";
      out.classes = classes;
    }
    return out;
  });
  const scope: Record<string, string> = {};
  for (const k of SCOPE_DIMS) if (d.scope[k].trim()) scope[k] = d.scope[k].trim();
  const body: BudgetCreate = {
    name,
    description: d.description.trim(),
    tier: d.tier,
    scope,
    period: d.period,
    capUsd,
    capTokens,
    thresholds,
    actions,
    forecastDowngrade: d.forecastDowngrade,
  };
  return { body, errors };
}

/** The API's 422 `errors` keyed like the form (`actions[0].classes` → `actions.0.classes`). */
export function apiFieldErrors(error: unknown): FieldErrors {
  const out: FieldErrors = {};
  for (const [field, message] of Object.entries(serverFieldErrors(error))) {
    out[field.replace(/\[(\d+)\]/g, ".$1")] ??= message;
  }
  return out;
}

// ---- cost explorer -----------------------------------------------------------------------------

export const GROUP_DIMS = ["pipeline", "env", "project", "provider", "model", "source"] as const;
export const FILTER_DIMS = ["source", "project", "env", "pipeline", "provider", "model"] as const;
export type FilterDim = (typeof FILTER_DIMS)[number];
export const RANGES = [
  { value: "7d", label: "Last 7 days" },
  { value: "30d", label: "Last 30 days" },
  { value: "month", label: "This month" },
  { value: "custom", label: "Custom" },
] as const;

const HOUR = 3_600_000;

/** The range's `from`/`to` (whole hours, so the query keys stay stable within the hour). */
export function rangeBounds(range: string, customFrom: string, customTo: string, now: number): { from?: string; to?: string } {
  const floorHour = (t: number) => new Date(Math.floor(t / HOUR) * HOUR).toISOString();
  if (range === "7d") return { from: floorHour(now - 7 * 24 * HOUR) };
  if (range === "30d") return { from: floorHour(now - 30 * 24 * HOUR) };
  if (range === "custom") return { from: customFrom || undefined, to: customTo || undefined };
  const d = new Date(now);
  return { from: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).toISOString() };
}

/** "pipeline build · env prod", or "(none)" for spend without those dimensions. */
export function seriesLabel(key: Record<string, string>): string {
  const parts = Object.entries(key).map(([k, v]) => `${k} ${v || "(none)"}`);
  return parts.length ? parts.join(" · ") : "All spend";
}

/** The bucket (of `step`) an hour falls in, as the series' `ts` keys are written. */
export function bucketOf(ts: string, step: string): number {
  const t = new Date(ts).getTime();
  const size = step === "1d" ? 24 * HOUR : HOUR;
  return Math.floor(t / size) * size;
}
