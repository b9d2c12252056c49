import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { rolloutsListOptions } from "@/client/@tanstack/react-query.gen";
import { cn } from "@/lib/utils";
import { useEventStream } from "@/lib/sse";
import { formatDateTime } from "@/lib/format";
import { useCan } from "@/features/auth/session";
import { EnvLink } from "@/components/env-link";
import { budgetView } from "@/features/observability/format";
import { firingAlertsQueryOptions, sloQueryOptions, useAlertsLiveUpdates } from "@/features/observability/queries";
import { downChecks, healthLevel, readinessQueryOptions, type HealthLevel } from "./readiness";
import { useCurrentEnv } from "@/lib/env";
import { budgetsQueryOptions } from "@/features/finops/queries";
import { alertsLevel, budgetLevel, frozenBudgetsHere, newestActiveRollout, worstLevel, worstSlo } from "./ribbon-model";

const LEVEL_STYLE = {
  green: "bg-emerald-50 text-emerald-950 dark:bg-emerald-950 dark:text-emerald-50",
  amber: "bg-amber-100 text-amber-950 dark:bg-amber-950 dark:text-amber-50",
  red: "bg-red-100 text-red-950 dark:bg-red-950 dark:text-red-50",
  unknown: "bg-muted text-foreground",
} as const;

/** An item on the ribbon: its own tint, so a green item reads green on an amber ribbon. */
const ITEM_STYLE = {
  green: "bg-emerald-100 text-emerald-950 dark:bg-emerald-900 dark:text-emerald-50",
  amber: "bg-amber-200 text-amber-950 dark:bg-amber-900 dark:text-amber-50",
  red: "bg-red-200 text-red-950 dark:bg-red-900 dark:text-red-50",
  unknown: "text-foreground",
} as const;

const DOT_STYLE = {
  green: "bg-emerald-600 dark:bg-emerald-400",
  amber: "bg-amber-500 dark:bg-amber-400",
  red: "bg-red-600 dark:bg-red-400",
  unknown: "bg-muted-foreground",
} as const;

/**
 * One line, three signals and the release under way, each an item with its own colour that says
 * why, each linking to its page: readiness (/api/ready: green all up, amber a dependency or worker
 * down, red API unreachable or the database down), firing alerts (amber any, red one that pages),
 * the worst SLO's error budget (amber low or burning, red overspent or a paging burn); the ribbon
 * takes the worst of them. Readiness follows `health_changed` events on the `system` stream and
 * alerts the `alerts` stream; both poll only while their stream is not connected.
 */
export function StatusRibbon() {
  const queryClient = useQueryClient();
  const live = useCan("system:read");
  const mayReadRollouts = useCan("rollouts:read");
  const mayReadBudgets = useCan("budgets:read");
  const stream = useEventStream(
    "system",
    {
      health_changed: (e) => {
        queryClient.setQueryData(readinessQueryOptions().queryKey, e.payload);
      },
      // The server trimmed events we missed: refetch the state instead.
      reset: () => void queryClient.invalidateQueries({ queryKey: readinessQueryOptions().queryKey }),
    },
    live,
  );
  const { data, error, dataUpdatedAt } = useQuery({
    ...readinessQueryOptions(),
    refetchInterval: stream === "open" ? false : 15_000,
  });
  const alertsStream = useAlertsLiveUpdates(live);
  const firing = useQuery({ ...firingAlertsQueryOptions(), refetchInterval: alertsStream === "open" ? false : 30_000, enabled: live });
  const slos = useQuery({ ...sloQueryOptions(), refetchInterval: 60_000, enabled: live });

  const health = healthLevel(data, error);
  const alerts = live ? alertsLevel(firing.data?.items) : "unknown";
  const slo = live ? worstSlo(slos.data?.items) : null;
  const budget = budgetLevel(slo);
  const level = worstLevel([health, alerts, budget]);
  const down = downChecks(data);
  const message =
    health === "green"
      ? "All dependencies up"
      : health === "amber"
        ? `Degraded: ${down.join(", ") || "a dependency"} down`
        : health === "red"
          ? error
            ? "Maestro API unreachable"
            : `Unavailable: ${down.join(", ")} down`
          : "Checking health…";
  const latencies = data
    ? Object.entries(data.checks ?? {})
        .map(([name, c]) => `${name} ${c?.status === "up" ? `${Math.round(c.latencyMs)} ms` : "down"}`)
        .join(", ")
    : "";
  const count = firing.data?.items.length;
  const more = Boolean(firing.data?.nextCursor);

  return (
    <div className={cn("flex h-7 items-center gap-1.5 overflow-hidden px-2 text-xs sm:px-4", LEVEL_STYLE[level])} data-level={level}>
      <RibbonItem to="/" level={health} title={latencies ? `Readiness: ${latencies}` : "Readiness"} data-health={health}>
        <span role="status" className="font-medium">
          {message}
        </span>
      </RibbonItem>
      {live && count !== undefined ? (
        <RibbonItem to="/observability/alerts?state=firing" level={alerts} title="Firing alerts" data-testid="ribbon-firing">
          {count === 0 ? "No firing alerts" : `${count}${more ? "+" : ""} firing alert${count === 1 && !more ? "" : "s"}`}
        </RibbonItem>
      ) : null}
      {slo ? (
        <RibbonItem
          to="/observability"
          level={budget}
          className="max-sm:hidden"
          title={`Worst error budget: ${slo.name}`}
          data-testid="ribbon-budget"
        >
          Lowest error budget: {budgetView(slo.errorBudgetRemaining).label.toLowerCase()} ({slo.name})
        </RibbonItem>
      ) : null}
      {mayReadBudgets ? <FrozenBudget /> : null}
      {mayReadRollouts ? <CurrentRelease /> : null}
      <span className="ml-auto hidden shrink-0 whitespace-nowrap md:inline">
        {stream === "open" ? "Live" : "Polling"}
        {dataUpdatedAt ? ` · updated ${formatDateTime(new Date(dataUpdatedAt).toISOString(), true)}` : ""}
      </span>
    </div>
  );
}

function RibbonItem({
  to,
  level,
  className,
  children,
  ...rest
}: { to: string; level: HealthLevel; className?: string; children: ReactNode; title: string } & Record<`data-${string}`, string>) {
  return (
    <EnvLink
      to={to}
      className={cn(
        "flex min-w-0 shrink items-center gap-1.5 rounded px-1.5 py-0.5 underline-offset-2 outline-none hover:underline focus-visible:ring-2 focus-visible:ring-ring",
        ITEM_STYLE[level],
        className,
      )}
      data-level={level}
      {...rest}
    >
      <span className={cn("inline-block size-2 shrink-0 rounded-full", DOT_STYLE[level])} aria-hidden="true" />
      <span className="truncate">{children}</span>
    </EnvLink>
  );
}

/**
 * A frozen budget that stops runs in the current environment (its scope names it, or no env):
 * red, linking to the budget (to the list when several are frozen).
 */
function FrozenBudget() {
  const env = useCurrentEnv();
  const budgets = useQuery(budgetsQueryOptions());
  const frozen = frozenBudgetsHere(budgets.data?.items, env);
  const first = frozen[0];
  if (!first) return null;
  const more = frozen.length - 1;
  return (
    <RibbonItem
      to={more ? "/finops" : `/finops/budgets/${encodeURIComponent(first.id)}`}
      level="red"
      title={`Budget ${first.name} is frozen: ${first.frozenReason || "cap reached"} (new runs in its scope are refused)`}
      data-testid="ribbon-frozen-budget"
    >
      Budget {first.name} frozen{more ? ` (+${more} more)` : ""}
    </RibbonItem>
  );
}

/** The newest rollout in progress (service, environment, canary share), or nothing. */
function CurrentRelease() {
  const running = useQuery({ ...rolloutsListOptions({ query: { status: "running", limit: 1 } }), refetchInterval: 30_000 });
  const paused = useQuery({ ...rolloutsListOptions({ query: { status: "paused", limit: 1 } }), refetchInterval: 30_000 });
  const r = newestActiveRollout([...(running.data?.items ?? []), ...(paused.data?.items ?? [])]);
  if (!r) return null;
  return (
    <EnvLink
      to={`/rollouts/${r.id}`}
      className="flex min-w-0 shrink items-center gap-1.5 rounded px-1.5 py-0.5 underline underline-offset-2 outline-none hover:no-underline focus-visible:ring-2 focus-visible:ring-ring max-md:hidden"
      title={`Current release: ${r.service} in ${r.env}, canary at ${r.weight}% (${r.status})`}
      data-testid="ribbon-release"
    >
      <span className="truncate">
        Releasing {r.service} → {r.env} · canary {r.weight}%{r.status === "paused" ? " (paused)" : ""}
      </span>
    </EnvLink>
  );
}
