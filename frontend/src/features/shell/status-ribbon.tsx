import { useQuery, useQueryClient } from "@tanstack/react-query";
import { cn } from "@/lib/utils";
import { useEventStream, type StreamEnvelope } from "@/lib/sse";
import { formatDateTime } from "@/lib/format";
import { useCan } from "@/features/auth/session";
import { EnvLink } from "@/components/env-link";
import { budgetView, lowestBudget } from "@/features/observability/format";
import { firingAlertsQueryOptions, sloQueryOptions, useAlertsLiveUpdates } from "@/features/observability/queries";
import { downChecks, healthLevel, readinessQueryOptions, type Readiness } from "./readiness";

const LEVEL_STYLE = {
  green: "bg-emerald-50 text-emerald-950 dark:bg-emerald-950 dark:text-emerald-50",
  amber: "bg-amber-100 text-amber-950 dark:bg-amber-950 dark:text-amber-50",
  red: "bg-red-100 text-red-950 dark:bg-red-950 dark:text-red-50",
  unknown: "bg-muted text-foreground",
} as const;

const DOT_STYLE = {
  green: "bg-emerald-600 dark:bg-emerald-400",
  amber: "bg-amber-500 dark:bg-amber-400",
  red: "bg-red-600 dark:bg-red-400",
  unknown: "bg-muted-foreground",
} as const;

/**
 * Live health from /api/ready: green (all up), amber (a dependency down), red (API unreachable
 * or the database down). Updated by `health_changed` events on the `system` stream; polls only
 * while the stream is not connected.
 */
export function StatusRibbon() {
  const queryClient = useQueryClient();
  const live = useCan("system:read");
  const stream = useEventStream(
    "system",
    {
      health_changed: (e: StreamEnvelope) => {
        queryClient.setQueryData(readinessQueryOptions().queryKey, e.payload as Readiness);
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
  const level = healthLevel(data, error);
  const alertsStream = useAlertsLiveUpdates(live);
  const down = downChecks(data);
  const message =
    level === "green"
      ? "All dependencies up" // readiness only: firing alerts and the error budget are shown beside it
      : level === "amber"
        ? `Degraded: ${down.join(", ") || "a dependency"} down`
        : level === "red"
          ? error
            ? "Maestro API unreachable"
            : `Unavailable: ${down.join(", ")} down`
          : "Checking health…";

  return (
    <div className={cn("flex h-7 items-center gap-3 px-4 text-xs", LEVEL_STYLE[level])} data-health={level}>
      <span className={cn("inline-block size-2 rounded-full", DOT_STYLE[level])} aria-hidden="true" />
      <span role="status" className="font-medium">
        {message}
      </span>
      {data ? (
        <span className="hidden gap-3 sm:flex">
          {Object.entries(data.checks ?? {}).map(([name, c]) => (
            <span key={name}>
              {name} {c?.status === "up" ? `${Math.round(c.latencyMs)} ms` : "down"}
            </span>
          ))}
        </span>
      ) : null}
      {live ? <ObservabilitySummary liveAlerts={alertsStream === "open"} /> : null}
      <span className="ml-auto hidden md:inline">
        {stream === "open" ? "Live" : "Polling"}
        {dataUpdatedAt ? ` · updated ${formatDateTime(new Date(dataUpdatedAt).toISOString(), true)}` : ""}
      </span>
    </div>
  );
}

/**
 * Firing alerts (kept live by the `alerts` topic, polled while it is down) and the lowest error
 * budget remaining among the SLOs.
 */
function ObservabilitySummary({ liveAlerts }: { liveAlerts: boolean }) {
  const firing = useQuery({ ...firingAlertsQueryOptions(), refetchInterval: liveAlerts ? false : 30_000 });
  const slos = useQuery({ ...sloQueryOptions(), refetchInterval: 60_000 });
  const count = firing.data?.items.length;
  const more = Boolean(firing.data?.nextCursor);
  const low = lowestBudget(slos.data?.items);
  return (
    <span className="flex items-center gap-3" data-testid="ribbon-observability">
      {count !== undefined ? (
        <EnvLink
          to={`/observability/alerts?state=firing`}
          className={cn("underline underline-offset-2 hover:no-underline", count > 0 && "font-semibold")}
          data-testid="ribbon-firing"
        >
          {count === 0 ? "No firing alerts" : `${count}${more ? "+" : ""} firing alert${count === 1 && !more ? "" : "s"}`}
        </EnvLink>
      ) : null}
      {low ? (
        <EnvLink to="/observability" className="hidden underline underline-offset-2 hover:no-underline sm:inline" data-testid="ribbon-budget">
          Lowest error budget: {budgetView(low.errorBudgetRemaining).label.toLowerCase()} ({low.name})
        </EnvLink>
      ) : null}
    </span>
  );
}
