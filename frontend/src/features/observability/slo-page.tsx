import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { GaugeIcon, PlusIcon, Trash2Icon } from "lucide-react";
import { useCallback, useState } from "react";
import { useSearchParams } from "react-router";
import { sloDeleteMutation } from "@/client/@tanstack/react-query.gen";
import type { SloPublic } from "@/client/types.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { formatDateTime } from "@/lib/format";
import { formatDuration } from "@/features/runs/format";
import { cn } from "@/lib/utils";
import { toast } from "@/lib/toast";
import { useCan } from "@/features/auth/session";
import { RequirePermission } from "@/features/auth/require-permission";
import { BudgetBar } from "./budget-bar";
import { BurnTable } from "./burn-table";
import { DefineSloDialog } from "./define-slo-dialog";
import { formatPercent } from "./format";
import { invalidateSlos, sloQueryOptions } from "./queries";

const SLI_LABEL: Record<string, string> = {
  availability: "Availability",
  run_success: "Run success",
  run_duration: "Run duration",
};

function SloCard({ slo, onDelete, focused = false }: { slo: SloPublic; onDelete?: () => void; focused?: boolean }) {
  const firing = slo.burnAlerts.some((a) => a.firing);
  // `?slo=<id>` (an alert's slo_url) points at this card: bring it into view, outlined.
  const scrollTo = useCallback((el: HTMLElement | null) => el?.scrollIntoView({ block: "center" }), []);
  return (
    <Card
      aria-labelledby={`slo-${slo.id}-title`}
      data-testid="slo-card"
      className={cn(focused && "ring-2 ring-ring ring-offset-2 ring-offset-background")}
      {...(focused ? { "aria-current": "true" as const, "data-focused": "true", ref: scrollTo } : {})}
    >
      <CardHeader>
        <div className="flex items-start justify-between gap-2">
          <CardTitle id={`slo-${slo.id}-title`}>{slo.name}</CardTitle>
          <div className="flex shrink-0 items-center gap-1.5">
            {firing ? <Badge variant="danger">Burning</Badge> : null}
            {slo.builtin ? <Badge variant="secondary">Built-in</Badge> : null}
            {onDelete ? (
              <Button variant="ghost" size="icon" onClick={onDelete} aria-label={`Delete SLO ${slo.name}`}>
                <Trash2Icon aria-hidden="true" />
              </Button>
            ) : null}
          </div>
        </div>
        <CardDescription>
          {SLI_LABEL[slo.sliKind] ?? slo.sliKind}
          {slo.pipeline ? ` · pipeline ${slo.pipeline}` : ""}
          {slo.thresholdMs !== null ? ` · within ${formatDuration(slo.thresholdMs)}` : ""} · {slo.windowDays}-day window
        </CardDescription>
        {slo.description ? <p className="text-sm">{slo.description}</p> : null}
      </CardHeader>
      <CardContent className="grid gap-4">
        <dl className="grid grid-cols-3 gap-2 text-sm">
          <div>
            <dt className="text-muted-foreground">SLI</dt>
            <dd className="text-lg font-semibold tabular-nums">{formatPercent(slo.sli)}</dd>
          </div>
          <div>
            <dt className="text-muted-foreground">Objective</dt>
            <dd className="text-lg font-semibold tabular-nums">{formatPercent(slo.objective)}</dd>
          </div>
          <div>
            <dt className="text-muted-foreground">Good / total</dt>
            <dd className="text-lg font-semibold tabular-nums">
              {slo.good} / {slo.total}
            </dd>
          </div>
        </dl>
        <BudgetBar remaining={slo.errorBudgetRemaining} name={slo.name} />
        <BurnTable name={slo.name} burnRates={slo.burnRates} burnAlerts={slo.burnAlerts} />
        <p className="text-xs text-muted-foreground">Evaluated {formatDateTime(slo.evaluatedAt, true)}</p>
      </CardContent>
    </Card>
  );
}

function SloView() {
  const queryClient = useQueryClient();
  const mayWrite = useCan("alerts:write");
  const [defining, setDefining] = useState(false);
  const [deleting, setDeleting] = useState<SloPublic | null>(null);
  const list = useQuery({ ...sloQueryOptions(), refetchInterval: 30_000 });
  const [params] = useSearchParams();
  const focus = params.get("slo");
  const remove = useMutation({ ...sloDeleteMutation(), onSettled: () => invalidateSlos(queryClient) });
  const slos = list.data?.items;

  return (
    <>
      <PageHeader
        title="Service levels"
        description="Each SLO's current SLI, the error budget left in its window and how fast it burns. Burn-rate alerts fire when a long and a short window both burn too fast."
        actions={
          mayWrite ? (
            <Button onClick={() => setDefining(true)}>
              <PlusIcon aria-hidden="true" />
              Define SLO
            </Button>
          ) : null
        }
      />
      {list.error && !slos ? (
        <ErrorState error={list.error} title="Could not load the SLOs" onRetry={() => void list.refetch()} />
      ) : !slos ? (
        <div className="grid gap-4 lg:grid-cols-2 xl:grid-cols-3" aria-busy="true">
          <span className="sr-only" role="status">
            Loading SLOs…
          </span>
          {Array.from({ length: 3 }, (_, i) => (
            <Skeleton key={i} className="h-72 w-full rounded-xl" />
          ))}
        </div>
      ) : slos.length === 0 ? (
        <EmptyState
          icon={GaugeIcon}
          title="No SLOs defined"
          description="Define one for what your users rely on (deploys succeed, runs finish in time) to get error budgets and burn-rate alerts."
          action={mayWrite ? <Button onClick={() => setDefining(true)}>Define SLO</Button> : undefined}
        />
      ) : (
        <div className="grid gap-4 lg:grid-cols-2 xl:grid-cols-3">
          {slos.map((slo) => (
            <SloCard
              key={slo.id}
              slo={slo}
              focused={slo.id === focus}
              onDelete={mayWrite && !slo.builtin ? () => setDeleting(slo) : undefined}
            />
          ))}
        </div>
      )}
      <DefineSloDialog open={defining} onOpenChange={setDefining} />
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(open) => {
          if (!open) setDeleting(null);
        }}
        title={`Delete the SLO ${deleting?.name ?? ""}?`}
        description="Its error budget and burn-rate alerts stop being evaluated. Alerts it already fired stay in the alert history."
        confirmLabel="Delete SLO"
        destructive
        requireReason
        reasonHint="Say why, for whoever reviews the service levels later."
        onConfirm={async (reason) => {
          if (!deleting) return;
          await remove.mutateAsync({ path: { slo_id: deleting.id }, query: { reason } });
          toast({ title: "SLO deleted", description: deleting.name, variant: "success" });
        }}
      />
    </>
  );
}

export function SloPage() {
  return (
    <RequirePermission anyOf={["system:read"]} title="Service levels">
      <SloView />
    </RequirePermission>
  );
}

export const Component = SloPage;
