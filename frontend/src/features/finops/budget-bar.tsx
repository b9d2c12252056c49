import type { BudgetPublic } from "@/client/types.gen";
import { EnvLink } from "@/components/env-link";
import { Badge } from "@/components/ui/badge";
import { formatDateTime, formatRelative } from "@/lib/format";
import { cn } from "@/lib/utils";
import { FreezeButton } from "./budget-controls";
import { formatPercent, formatUsd, scopeText, stateView } from "./model";

const FILL = { success: "bg-emerald-600 dark:bg-emerald-500", warning: "bg-amber-500", danger: "bg-red-600 dark:bg-red-500" } as const;

/** The % of the cap spent, with a tick at each threshold (the bar stops at 100%; the label does not). */
export function UtilisationBar({ budget }: { budget: Pick<BudgetPublic, "name" | "percent" | "thresholds" | "state"> }) {
  const tone = stateView(budget.state).tone;
  const width = Math.max(0, Math.min(100, budget.percent));
  return (
    <div
      role="meter"
      aria-label={`${budget.name}: share of the cap spent`}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(Math.min(budget.percent, 100))}
      aria-valuetext={`${formatPercent(budget.percent, 1)} of the cap; thresholds at ${budget.thresholds.map((t) => `${t}%`).join(", ") || "none"}`}
      className="relative h-3 w-full overflow-hidden rounded-full bg-muted"
    >
      <div className={cn("h-full rounded-full", FILL[tone])} style={{ width: `${width}%` }} />
      {budget.thresholds
        .filter((t) => t > 0 && t < 100)
        .map((t) => (
          <span key={t} className="absolute inset-y-0 w-0.5 bg-foreground/70" style={{ left: `${t}%` }} title={`${t}% threshold`} aria-hidden="true" />
        ))}
    </div>
  );
}

export function BudgetBadges({ budget }: { budget: Pick<BudgetPublic, "state" | "frozen" | "slowed" | "downgraded" | "frozenReason" | "frozenBy"> }) {
  const s = stateView(budget.state);
  return (
    <span className="flex flex-wrap gap-1">
      <Badge variant={s.tone} data-testid="budget-state">
        {s.label}
      </Badge>
      {budget.frozen ? (
        <Badge variant="danger" title={budget.frozenReason ? `${budget.frozenReason} (${budget.frozenBy})` : undefined}>
          Frozen
        </Badge>
      ) : null}
      {budget.slowed ? <Badge variant="warning">Slowed</Badge> : null}
      {budget.downgraded ? <Badge variant="warning">Downgraded</Badge> : null}
    </span>
  );
}

/** One budget on the list: cap, spend, bar, burn rate, ETA to cap, tier and state, freeze control. */
export function BudgetBar({ budget, mayWrite }: { budget: BudgetPublic; mayWrite: boolean }) {
  const cap = budget.capUsd !== null ? formatUsd(budget.capUsd) : `${budget.capTokens ?? "—"} tokens`;
  return (
    <article className="grid gap-3 rounded-lg border bg-card p-4" aria-labelledby={`budget-${budget.id}`} data-testid="budget-bar">
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="grid gap-0.5">
          <h2 id={`budget-${budget.id}`} className="flex flex-wrap items-center gap-2 font-semibold">
            <EnvLink to={`/finops/budgets/${encodeURIComponent(budget.id)}`} className="underline underline-offset-4 hover:no-underline">
              {budget.name}
            </EnvLink>
            <Badge variant="outline" className="capitalize">
              {budget.tier}
            </Badge>
          </h2>
          <p className="text-sm text-muted-foreground">
            {scopeText(budget.scope)} · {budget.period}
          </p>
        </div>
        <div className="flex items-center gap-2">
          <BudgetBadges budget={budget} />
          {mayWrite ? <FreezeButton budget={budget} /> : null}
        </div>
      </div>
      <UtilisationBar budget={budget} />
      <dl className="grid grid-cols-2 gap-x-6 gap-y-1 text-sm sm:grid-cols-4">
        <div>
          <dt className="text-xs text-muted-foreground">Spent / cap</dt>
          <dd className="tabular-nums" data-testid="budget-spent">
            {formatUsd(budget.spentUsd)} / {cap} ({formatPercent(budget.percent, 1)})
          </dd>
        </div>
        <div>
          <dt className="text-xs text-muted-foreground">Burn rate</dt>
          <dd className="tabular-nums">{formatUsd(budget.burnPerHour)}/h</dd>
        </div>
        <div>
          <dt className="text-xs text-muted-foreground">Cap reached</dt>
          <dd title={budget.capEta ? formatDateTime(budget.capEta) : budget.forecastNote}>
            {budget.state === "breached" ? "Reached" : budget.capEta ? formatRelative(budget.capEta) : budget.forecastNote || "Not this period"}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-muted-foreground">Period ends</dt>
          <dd>{formatDateTime(budget.periodEnd)}</dd>
        </div>
      </dl>
      {budget.frozen ? (
        <p className="text-sm text-danger">
          Frozen by {budget.frozenBy || "the budget"}
          {budget.frozenAt ? ` ${formatRelative(budget.frozenAt)}` : ""}: {budget.frozenReason || "no reason given"}. New runs in scope are refused.
        </p>
      ) : null}
    </article>
  );
}
