import { useQuery } from "@tanstack/react-query";
import { ChartColumnIcon, PiggyBankIcon, PlusIcon } from "lucide-react";
import { useNavigate } from "react-router";
import { EmptyState } from "@/components/empty-state";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { useEnvHref } from "@/lib/env";
import { useOpenFromUrl } from "@/lib/url-state";
import { RequirePermission } from "@/features/auth/require-permission";
import { useCan } from "@/features/auth/session";
import { StreamBadge } from "@/features/routing/event-feed";
import { BudgetBar } from "./budget-bar";
import { BudgetDialog } from "./budget-dialog";
import { budgetsQueryOptions, useBudgetsLiveUpdates } from "./queries";

function BudgetsView() {
  const mayWrite = useCan("budgets:write");
  const stream = useBudgetsLiveUpdates();
  const list = useQuery(budgetsQueryOptions());
  const [creating, setCreating] = useOpenFromUrl("new");
  const navigate = useNavigate();
  const href = useEnvHref();
  const newButton = mayWrite ? (
    <Button onClick={() => setCreating(true)}>
      <PlusIcon aria-hidden="true" />
      New budget
    </Button>
  ) : null;

  return (
    <>
      <PageHeader
        title="Budgets"
        description="Caps on spend per scope for the month or quarter: spend so far, burn rate, when the cap is reached at this rate, and what happens at each threshold (alerts, freeze, slowdown, routing downgrade)."
        actions={
          <div className="flex flex-wrap items-center gap-2">
            <StreamBadge state={stream} />
            <Button variant="outline" asChild>
              <EnvLink to="/finops/costs">
                <ChartColumnIcon aria-hidden="true" />
                Cost explorer
              </EnvLink>
            </Button>
            {list.data?.items.length ? newButton : null}
          </div>
        }
      />
      {list.isPending ? (
        <div className="grid gap-3" aria-busy="true" aria-label="Loading budgets">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} className="h-36 w-full" />
          ))}
        </div>
      ) : list.error ? (
        <ErrorState error={list.error} title="Could not load the budgets" onRetry={() => void list.refetch()} />
      ) : list.data.items.length === 0 ? (
        <EmptyState
          icon={PiggyBankIcon}
          title="No budgets yet"
          description={
            mayWrite
              ? "Create a budget on a scope (a pipeline, an environment, a provider…) with a cap for the month or quarter, the thresholds that alert and what happens at the cap."
              : "Someone with the budgets:write permission creates budgets here."
          }
          action={newButton ?? undefined}
        />
      ) : (
        <section className="grid gap-3" aria-label="Budgets">
          {list.data.items.map((b) => (
            <BudgetBar key={b.id} budget={b} mayWrite={mayWrite} />
          ))}
        </section>
      )}
      {mayWrite ? (
        <BudgetDialog open={creating} onOpenChange={setCreating} onSaved={(b) => navigate(href(`/finops/budgets/${encodeURIComponent(b.id)}`))} />
      ) : null}
    </>
  );
}

export function BudgetsPage() {
  return (
    <RequirePermission anyOf={["budgets:read"]} title="Budgets">
      <BudgetsView />
    </RequirePermission>
  );
}

export const Component = BudgetsPage;
