import { useQuery } from "@tanstack/react-query";
import { ArrowLeftIcon } from "lucide-react";
import { useState } from "react";
import { useParams } from "react-router";
import type { BudgetDetail, BudgetHistoryEntry } from "@/client/types.gen";
import { DataTable, type Column } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { formatDateTime } from "@/lib/format";
import { RequirePermission } from "@/features/auth/require-permission";
import { useCan } from "@/features/auth/session";
import { StreamBadge } from "@/features/routing/event-feed";
import { BudgetBadges, UtilisationBar } from "./budget-bar";
import { DeleteBudgetDialog, FreezeButton, RaiseCapDialog } from "./budget-controls";
import { BurndownChart } from "./burndown-chart";
import { actionText, formatPercent, formatTokens, formatUsd, scopeText } from "./model";
import { budgetQueryOptions, useBudgetsLiveUpdates } from "./queries";

const KIND_TONE: Record<string, "danger" | "warning" | "success" | "secondary"> = {
  breached: "danger",
  frozen: "danger",
  refused: "danger",
  threshold: "warning",
  slowed: "warning",
  downgraded: "warning",
  unfrozen: "success",
  restored: "success",
  cap_raised: "success",
};

const historyColumns: Column<BudgetHistoryEntry>[] = [
  { id: "ts", header: "Time", cell: (e) => <span className="whitespace-nowrap">{formatDateTime(e.ts, true)}</span> },
  { id: "kind", header: "What", cell: (e) => <Badge variant={KIND_TONE[e.kind] ?? "secondary"}>{e.kind.replace(/_/g, " ")}</Badge> },
  { id: "actor", header: "Who", cell: (e) => <span className="font-mono text-xs">{e.actor || "—"}</span> },
  { id: "reason", header: "Why", cell: (e) => <span className="text-sm">{e.reason || "—"}</span> },
];

function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div className="grid gap-0.5">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="text-lg font-semibold tabular-nums" title={hint}>
        {value}
      </dd>
    </div>
  );
}

function Numbers({ b }: { b: BudgetDetail }) {
  const eta = b.state === "breached" ? "Reached" : b.capEta ? formatDateTime(b.capEta) : b.forecastTotal === null ? "No forecast yet" : "Not this period";
  return (
    <dl className="grid grid-cols-2 gap-4 sm:grid-cols-3 lg:grid-cols-6" data-testid="budget-numbers">
      <Stat label="Spent" value={formatUsd(b.spentUsd)} />
      <Stat label="Cap" value={b.capUsd !== null ? formatUsd(b.capUsd) : `${formatTokens(b.capTokens)} tokens`} />
      <Stat label="Used" value={formatPercent(b.percent, 1)} />
      <Stat label="Burn rate" value={`${formatUsd(b.burnPerHour)}/h`} />
      <Stat label="Forecast at period end" value={b.forecastTotal !== null ? formatUsd(b.forecastTotal) : "—"} hint={b.forecastNote} />
      <Stat label="Cap reached" value={eta} />
    </dl>
  );
}

function DetailView({ id }: { id: string }) {
  const mayWrite = useCan("budgets:write");
  const stream = useBudgetsLiveUpdates();
  const q = useQuery(budgetQueryOptions(id));
  const [raising, setRaising] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const back = (
    <Button variant="ghost" size="sm" asChild>
      <EnvLink to="/finops">
        <ArrowLeftIcon aria-hidden="true" />
        Budgets
      </EnvLink>
    </Button>
  );
  if (q.isPending) {
    return (
      <div className="grid gap-4" aria-busy="true" aria-label="Loading the budget">
        {back}
        <Skeleton className="h-10 w-64" />
        <Skeleton className="h-20 w-full" />
        <Skeleton className="h-72 w-full" />
      </div>
    );
  }
  if (q.error) {
    return (
      <div className="grid gap-4">
        {back}
        <ErrorState error={q.error} title="Could not load the budget" onRetry={() => void q.refetch()} />
      </div>
    );
  }
  const b = q.data;
  return (
    <>
      {back}
      <PageHeader
        title={`Budget ${b.name}`}
        description={`${scopeText(b.scope)} · ${b.period}, ${formatDateTime(b.periodStart)} – ${formatDateTime(b.periodEnd)} · tier ${b.tier}${b.description ? ` · ${b.description}` : ""}`}
        actions={
          <div className="flex flex-wrap items-center gap-2">
            <StreamBadge state={stream} />
            <BudgetBadges budget={b} />
            {mayWrite ? (
              <>
                <FreezeButton budget={b} size="default" />
                <Button variant="outline" onClick={() => setRaising(true)}>
                  Raise cap
                </Button>
                <Button variant="outline" onClick={() => setDeleting(true)}>
                  Delete
                </Button>
              </>
            ) : null}
          </div>
        }
      />
      <div className="grid gap-6">
        {b.frozen ? (
          <p className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-950 dark:border-red-800 dark:bg-red-950 dark:text-red-50" role="status">
            Frozen by {b.frozenBy || "the budget"} {b.frozenAt ? `at ${formatDateTime(b.frozenAt)}` : ""}: {b.frozenReason || "no reason given"}. New runs in
            scope are refused with a 409 naming this budget.
          </p>
        ) : null}
        <section aria-labelledby="numbers-h" className="grid gap-3">
          <h2 id="numbers-h" className="sr-only">
            Spend this period
          </h2>
          <UtilisationBar budget={b} />
          <Numbers b={b} />
          {b.forecastTotal === null && b.forecastNote ? <p className="text-sm text-muted-foreground">Forecast: {b.forecastNote}</p> : null}
        </section>
        <section aria-labelledby="burndown-h" className="grid gap-2">
          <h2 id="burndown-h" className="text-base font-semibold">
            Burndown
          </h2>
          <BurndownChart budget={b} />
        </section>
        <section aria-labelledby="rules-h" className="grid gap-2">
          <h2 id="rules-h" className="text-base font-semibold">
            Thresholds &amp; actions
          </h2>
          <dl className="grid gap-2 text-sm sm:grid-cols-2">
            <div>
              <dt className="text-xs text-muted-foreground">Thresholds (alert once per period)</dt>
              <dd>
                {b.thresholds.length
                  ? b.thresholds.map((t) => `${t}%${b.firedThresholds.includes(t) ? " (fired)" : ""}`).join(", ")
                  : "None"}
              </dd>
            </div>
            <div>
              <dt className="text-xs text-muted-foreground">Actions</dt>
              <dd>
                {b.actions.length ? (
                  <ul className="list-inside list-disc">
                    {b.actions.map((a, i) => (
                      <li key={i}>{actionText(a)}</li>
                    ))}
                  </ul>
                ) : (
                  "None"
                )}
                {b.forecastDowngrade ? <p className="text-muted-foreground">Downgrades before the breach when the forecast reaches the cap.</p> : null}
              </dd>
            </div>
          </dl>
        </section>
        <section aria-labelledby="history-h" className="grid gap-2">
          <h2 id="history-h" className="text-base font-semibold">
            History
          </h2>
          <DataTable
            caption="Budget history, newest first"
            columns={historyColumns}
            rows={b.history}
            rowKey={(e) => String(e.id)}
            isPending={false}
            empty={{ title: "No history yet", description: "Thresholds, freezes, unfreezes, raised caps and refused runs show here." }}
          />
        </section>
      </div>
      {mayWrite ? <RaiseCapDialog key={String(raising)} budget={b} open={raising} onOpenChange={setRaising} /> : null}
      {mayWrite ? <DeleteBudgetDialog budget={b} open={deleting} onOpenChange={setDeleting} /> : null}
    </>
  );
}

export function BudgetDetailPage() {
  const { budgetId = "" } = useParams();
  return (
    <RequirePermission anyOf={["budgets:read"]} title="Budget">
      <DetailView id={budgetId} />
    </RequirePermission>
  );
}

export const Component = BudgetDetailPage;
