import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { BellOffIcon, PlayIcon, SearchXIcon, ZapIcon } from "lucide-react";
import { alertsEvaluateMutation, alertsListInfiniteOptions, alertsSyntheticMutation } from "@/client/@tanstack/react-query.gen";
import { DataTable, type Column } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { PageHeader } from "@/components/page-header";
import { FilterGroup, SelectFilter } from "@/components/select-filters";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { formatDateTime } from "@/lib/format";
import { toast } from "@/lib/toast";
import { cursorPaging, definedOnly, useUrlFilters } from "@/lib/url-state";
import { useCan } from "@/features/auth/session";
import { RequirePermission } from "@/features/auth/require-permission";
import { AlertStateBadge } from "./alert-state-badge";
import { ALERT_SEVERITIES, ALERT_STATES, severityVariant } from "./format";
import { invalidateAlertLists, invalidateSlos, type Alert } from "./queries";

const FILTERS = ["state", "severity"] as const;

const columns: Column<Alert>[] = [
  {
    id: "name",
    header: "Alert",
    cell: (a) => (
      <span className="grid gap-0.5">
        <EnvLink to={`/observability/alerts/${encodeURIComponent(a.id)}`} className="font-medium underline underline-offset-4 hover:no-underline">
          {a.name}
        </EnvLink>
        {a.annotations.summary ? <span className="text-xs text-muted-foreground">{a.annotations.summary}</span> : null}
      </span>
    ),
  },
  { id: "state", header: "State", cell: (a) => <AlertStateBadge state={a.state} /> },
  { id: "severity", header: "Severity", cell: (a) => <Badge variant={severityVariant(a.severity)}>{a.severity}</Badge> },
  { id: "startsAt", header: "Started", cell: (a) => <span className="whitespace-nowrap">{formatDateTime(a.startsAt, true)}</span> },
  {
    id: "owner",
    header: "Acked / assignee",
    cell: (a) => (
      <span className="grid text-xs">
        <span>{a.ackedBy ? `acked by ${a.ackedBy}` : "not acked"}</span>
        <span className="text-muted-foreground">{a.assignee ? `assigned to ${a.assignee}` : "unassigned"}</span>
      </span>
    ),
  },
  { id: "notify", header: "Notify", cell: (a) => <span className="font-mono text-xs">{a.notifyStatus}</span> },
];

function AlertActions() {
  const queryClient = useQueryClient();
  const settled = () => {
    void invalidateAlertLists(queryClient);
    void invalidateSlos(queryClient);
  };
  const evaluate = useMutation({
    ...alertsEvaluateMutation(),
    onSuccess: (r) =>
      toast({
        title: "Evaluation finished",
        description: `${r.fired.length} fired, ${r.resolved.length} resolved, ${r.firing} firing now.`,
        variant: "success",
      }),
    onError: (e) => toast({ title: "Could not evaluate the alerts", description: e.message, variant: "destructive" }),
    onSettled: settled,
  });
  const synthetic = useMutation({
    ...alertsSyntheticMutation(),
    onSuccess: (a) => toast({ title: "Synthetic alert fired", description: a.annotations.summary ?? a.name, variant: "success" }),
    onError: (e) => toast({ title: "Could not fire the synthetic alert", description: e.message, variant: "destructive" }),
    onSettled: settled,
  });
  return (
    <>
      <Button variant="outline" onClick={() => evaluate.mutate({})} disabled={evaluate.isPending}>
        <PlayIcon aria-hidden="true" />
        {evaluate.isPending ? "Evaluating…" : "Evaluate now"}
      </Button>
      <Button variant="outline" onClick={() => synthetic.mutate({})} disabled={synthetic.isPending}>
        <ZapIcon aria-hidden="true" />
        {synthetic.isPending ? "Firing…" : "Fire synthetic alert"}
      </Button>
    </>
  );
}

function AlertsView() {
  const mayWrite = useCan("alerts:write");
  const filters = useUrlFilters(FILTERS);
  const { state, severity } = filters.values;
  const list = useInfiniteQuery({
    ...alertsListInfiniteOptions({ query: { limit: 50, ...definedOnly({ state, severity }) } }),
    ...cursorPaging,
  });
  const rows = list.data?.pages.flatMap((p) => p.items);

  return (
    <>
      <PageHeader
        title="Alerts"
        description="Burn-rate and synthetic alerts, newest first. New alerts, acks and assignments appear live."
        actions={mayWrite ? <AlertActions /> : null}
      />
      <div className="grid grid-cols-1 gap-4">
        <FilterGroup label="Filter the alerts" active={filters.active} onClear={filters.clear}>
          <SelectFilter
            label="State"
            className="w-40"
            value={state}
            onChange={(v) => filters.set({ state: v })}
            anyLabel="Any state"
            options={ALERT_STATES}
          />
          <SelectFilter
            label="Severity"
            className="w-40"
            value={severity}
            onChange={(v) => filters.set({ severity: v })}
            anyLabel="Any severity"
            options={[...new Set([...ALERT_SEVERITIES, ...(severity ? [severity] : [])])]}
          />
        </FilterGroup>
        <DataTable
          caption="Alerts, newest first"
          columns={columns}
          rows={rows}
          rowKey={(a) => a.id}
          isPending={list.isPending}
          error={list.error}
          errorTitle="Could not load the alerts"
          onRetry={() => void list.refetch()}
          hasNextPage={list.hasNextPage}
          isFetchingNextPage={list.isFetchingNextPage}
          onLoadMore={() => void list.fetchNextPage()}
          filtered={filters.active}
          empty={{
            icon: BellOffIcon,
            title: "No alerts yet",
            description: mayWrite
              ? "Alerts fire when an SLO burns its error budget too fast. Fire a synthetic alert to check that delivery works."
              : "Alerts fire when an SLO burns its error budget too fast. Nothing has burned so far.",
          }}
          filteredEmpty={{
            icon: SearchXIcon,
            title: "No alerts match these filters",
            description: "Choose another state or severity, or clear the filters.",
            action: (
              <Button variant="outline" onClick={filters.clear}>
                Clear filters
              </Button>
            ),
          }}
        />
      </div>
    </>
  );
}

export function AlertsPage() {
  return (
    <RequirePermission anyOf={["system:read"]} title="Alerts">
      <AlertsView />
    </RequirePermission>
  );
}

export const Component = AlertsPage;
