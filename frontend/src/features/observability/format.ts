/** Burn-rate windows in the order the API computes them (maestro/observability/slo.py). */
export const BURN_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] as const;

export const SLI_KINDS = [
  { value: "availability", label: "Availability (API requests not answered 5xx)" },
  { value: "run_success", label: "Run success (runs that succeed)" },
  { value: "run_duration", label: "Run duration (runs that finish within a threshold)" },
] as const;
export type SliKind = (typeof SLI_KINDS)[number]["value"];

export const ALERT_STATES = ["firing", "resolved"] as const;
export const ALERT_SEVERITIES = ["page", "ticket", "info"] as const;

/** 0.99 → "99%", 0.9995 → "99.95%" (up to two decimals, trailing zeros dropped). */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return "—";
  const pct = Math.round(ratio * 10_000) / 100;
  return `${pct.toString()}%`;
}

export type BudgetLevel = "ok" | "low" | "spent" | "overspent" | "none";

export interface BudgetView {
  /** Width of the bar, 0–100 (negative budgets show as an empty bar). */
  width: number;
  /** What the bar says in words. */
  label: string;
  level: BudgetLevel;
}

/**
 * The error budget remaining as a bar: 1 = untouched, 0 = spent, negative = overspent (the bar is
 * clamped to 0–100% and the words say by how much), null = no events yet.
 */
export function budgetView(remaining: number | null | undefined): BudgetView {
  if (remaining === null || remaining === undefined || !Number.isFinite(remaining)) {
    return { width: 0, label: "No data yet", level: "none" };
  }
  const width = Math.max(0, Math.min(100, Math.round(remaining * 100)));
  if (remaining < 0) return { width: 0, label: `Overspent by ${formatPercent(-remaining)}`, level: "overspent" };
  if (remaining === 0) return { width: 0, label: "Spent (0% left)", level: "spent" };
  return { width, label: `${formatPercent(remaining)} left`, level: remaining < 0.25 ? "low" : "ok" };
}

/** 14.4 → "14.4×", 0.0123 → "0.01×", null → "—". */
export function formatBurnRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return "—";
  // one decimal from 1× up (2.5×, 14.4×, 96×) keeps seven windows side by side on a card; two below (0.25×)
  const rounded = rate >= 100 ? Math.round(rate) : rate >= 1 ? Math.round(rate * 10) / 10 : Math.round(rate * 100) / 100;
  return `${rounded.toString()}×`;
}

/** The windows that take part in a firing burn-rate alert (long and short of each firing pair). */
export function firingWindows(alerts: readonly { long: string; short: string; firing: boolean }[]): Set<string> {
  const out = new Set<string>();
  for (const a of alerts) {
    if (!a.firing) continue;
    out.add(a.long);
    out.add(a.short);
  }
  return out;
}

/** The lowest error budget remaining among SLOs that have data (null when none has). */
export function lowestBudget<T extends { name: string; errorBudgetRemaining: number | null }>(slos: readonly T[] | undefined): T | null {
  let low: T | null = null;
  for (const s of slos ?? []) {
    if (s.errorBudgetRemaining === null) continue;
    if (!low || s.errorBudgetRemaining < (low.errorBudgetRemaining as number)) low = s;
  }
  return low;
}

export function severityVariant(severity: string): "danger" | "warning" | "secondary" {
  return severity === "page" || severity === "critical" ? "danger" : severity === "ticket" || severity === "warning" ? "warning" : "secondary";
}

/** The objective is typed as a percentage (99.5) and sent as a ratio (0.995). */
export function objectiveFromPercent(text: string): number | null {
  const t = text.trim().replace(/%$/, "");
  if (!t) return null;
  const n = Number(t);
  return Number.isFinite(n) ? Math.round(n * 1000) / 100_000 : null;
}
