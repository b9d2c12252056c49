import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import {
  budgetsGetOptions,
  budgetsListOptions,
  budgetsTiersOptions,
  costsAnomaliesOptions,
  costsForecastOptions,
  costsPerArtifactOptions,
  costsSeriesOptions,
  costsTopOptions,
} from "@/client/@tanstack/react-query.gen";
import type { CostsSeriesData } from "@/client/types.gen";
import { byQueryId } from "@/lib/query-keys";
import { useEventStream, type StreamHandlers, type StreamState } from "@/lib/sse";
import { useThrottle } from "@/lib/use-throttle";
import { useCan } from "@/features/auth/session";

/** Spend moves with every finished step; the budgets are read again this often besides the stream. */
export const BUDGETS_POLL_MS = 30_000;

export const budgetsQueryOptions = () => ({ ...budgetsListOptions(), refetchInterval: BUDGETS_POLL_MS });
export const budgetQueryOptions = (id: string) => ({ ...budgetsGetOptions({ path: { budget_id: id } }), refetchInterval: BUDGETS_POLL_MS });
export const tiersQueryOptions = () => ({ ...budgetsTiersOptions(), staleTime: Infinity });

/** The explorer's shared parameters: range and dimension filters (every cost query takes them). */
export type CostQuery = NonNullable<CostsSeriesData["query"]>;
type Filters = Pick<CostQuery, "from" | "to" | "source" | "project" | "env" | "pipeline" | "provider" | "model">;

export const seriesQueryOptions = (q: CostQuery) => costsSeriesOptions({ query: q });
export const topQueryOptions = (q: Filters, dimension: string) => costsTopOptions({ query: { ...q, dimension, k: 10 } });
export const anomaliesQueryOptions = (q: Filters, groupBy: string) => costsAnomaliesOptions({ query: { ...q, group_by: groupBy } });
export const forecastQueryOptions = (q: Omit<Filters, "from" | "to">) => costsForecastOptions({ query: q });
export const perArtifactQueryOptions = (q: Pick<Filters, "from" | "to" | "pipeline">) => costsPerArtifactOptions({ query: q });

/** Budgets (list and each one) — and the ribbon, which reads the same list. */
export function invalidateBudgets(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("budgetsList", "budgetsGet") });
}

/**
 * `/api/streams/budgets` → the query cache: every budget event (a threshold, a freeze, an
 * unfreeze, a raised cap, a refused run) refetches the budgets, coalesced.
 */
export function useBudgetsLiveUpdates(): StreamState {
  const queryClient = useQueryClient();
  const enabled = useCan("budgets:read");
  const throttle = useThrottle(300);
  const reload = () => throttle("budgets", () => void invalidateBudgets(queryClient));
  const handlers: Required<
    Pick<
      StreamHandlers,
      | "budget_warning"
      | "budget_breached"
      | "budget_frozen"
      | "budget_unfrozen"
      | "budget_slowed"
      | "budget_slowdown_lifted"
      | "budget_downgraded"
      | "budget_restored"
      | "budget_cap_raised"
      | "budget_refused"
      | "budget_period_closed"
    >
  > &
    StreamHandlers = {
    budget_warning: reload,
    budget_breached: reload,
    budget_frozen: reload,
    budget_unfrozen: reload,
    budget_slowed: reload,
    budget_slowdown_lifted: reload,
    budget_downgraded: reload,
    budget_restored: reload,
    budget_cap_raised: reload,
    budget_refused: reload,
    budget_period_closed: reload,
    open: reload,
    reset: reload,
  };
  return useEventStream("budgets", handlers, enabled);
}
