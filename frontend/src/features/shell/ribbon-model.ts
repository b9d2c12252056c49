import type { AlertPublic, BudgetPublic, RolloutPublic, SloPublic } from "@/client/types.gen";
import type { HealthLevel } from "./readiness";

/**
 * What each item of the status ribbon says and why it has its colour: readiness, firing alerts
 * and the error budget each have a level; the ribbon takes the worst of them.
 */

const RANK: Record<HealthLevel, number> = { unknown: 0, green: 1, amber: 2, red: 3 };

/** The worst known level (unknown only when nothing is known). */
export function worstLevel(levels: readonly HealthLevel[]): HealthLevel {
  return levels.reduce<HealthLevel>((worst, l) => (RANK[l] > RANK[worst] ? l : worst), "unknown");
}

const PAGING = new Set(["page", "critical"]);

/** None firing: green; any firing: amber; one that pages (page/critical): red. */
export function alertsLevel(firing: readonly Pick<AlertPublic, "severity" | "state">[] | undefined): HealthLevel {
  if (!firing) return "unknown";
  const live = firing.filter((a) => a.state === "firing");
  if (!live.length) return "green";
  return live.some((a) => PAGING.has(a.severity)) ? "red" : "amber";
}

type BudgetSlo = Pick<SloPublic, "name" | "errorBudgetRemaining" | "burnAlerts">;

/**
 * The SLO that is worst off: one with its budget overspent or a paging burn alert firing is red;
 * a budget under a quarter or any burn alert firing is amber.
 */
export function budgetLevel(slo: BudgetSlo | null | undefined): HealthLevel {
  if (!slo) return "unknown";
  const remaining = slo.errorBudgetRemaining;
  const burning = slo.burnAlerts.filter((b) => b.firing);
  if ((remaining !== null && remaining < 0) || burning.some((b) => PAGING.has(b.severity))) return "red";
  if ((remaining !== null && remaining < 0.25) || burning.length) return "amber";
  return remaining === null ? "unknown" : "green";
}

/** The SLO the ribbon names: the worst level first, then the least budget left. */
export function worstSlo<T extends BudgetSlo>(slos: readonly T[] | undefined): T | null {
  let worst: T | null = null;
  for (const s of slos ?? []) {
    if (budgetLevel(s) === "unknown") continue;
    if (!worst) {
      worst = s;
      continue;
    }
    const [a, b] = [RANK[budgetLevel(s)], RANK[budgetLevel(worst)]];
    const left = (x: BudgetSlo) => x.errorBudgetRemaining ?? Number.POSITIVE_INFINITY;
    if (a > b || (a === b && left(s) < left(worst))) worst = s;
  }
  return worst;
}

/** The newest rollout still in progress (running or paused): the release under way. */
export function newestActiveRollout<T extends Pick<RolloutPublic, "status" | "createdAt">>(rollouts: readonly T[]): T | null {
  let newest: T | null = null;
  for (const r of rollouts) {
    if (r.status !== "running" && r.status !== "paused") continue;
    if (!newest || r.createdAt > newest.createdAt) newest = r;
  }
  return newest;
}

type FrozenBudget = Pick<BudgetPublic, "frozen" | "scope">;

/**
 * The frozen budgets that stop runs in the environment on screen: those whose scope names it and
 * those with no environment (they cover every one). With no environment chosen, every frozen one.
 */
export function frozenBudgetsHere<T extends FrozenBudget>(budgets: readonly T[] | undefined, env: string | null): T[] {
  return (budgets ?? []).filter((b) => b.frozen && (!env || !b.scope.env || b.scope.env === env));
}
