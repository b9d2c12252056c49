import { useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { rolloutsGetOptions, servicesListOptions, servicesProvidersOptions } from "@/client/@tanstack/react-query.gen";
import type { ProviderPublic, RolloutEvent, RolloutEventPayload, RolloutsListResponse, ServicePublic } from "@/client/types.gen";
import { byQueryId, queryIdOf, queryKeyOf } from "@/lib/query-keys";
import { useEventStream, type StreamHandlers, type StreamState } from "@/lib/sse";
import { useThrottle } from "@/lib/use-throttle";
import { useCan } from "@/features/auth/session";
import { patchRollout, type Rollout } from "./model";

export function servicesQueryOptions() {
  return servicesListOptions();
}

/** The traffic providers the API offers (they change only with a deploy). */
export function providersQueryOptions() {
  return { ...servicesProvidersOptions(), staleTime: 5 * 60_000 };
}

/** The chosen service and its traffic provider's description (GET /api/services/providers), once known. */
export function useServiceProvider(name: string): { service?: ServicePublic; provider?: ProviderPublic } {
  const services = useQuery(servicesQueryOptions());
  const providers = useQuery(providersQueryOptions());
  const service = name ? services.data?.items.find((s) => s.name === name) : undefined;
  const provider = service ? providers.data?.items.find((p) => p.name === service.provider) : undefined;
  return { service, provider };
}

export function rolloutQueryOptions(id: string) {
  return rolloutsGetOptions({ path: { rollout_id: id } });
}

/** Every cached rollouts list (any filter). */
export function invalidateRolloutLists(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("rolloutsList") });
}

export function invalidateServices(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("servicesList") });
}

/** The cached detail of one rollout. */
export function invalidateRollout(queryClient: QueryClient, id: string) {
  return queryClient.invalidateQueries({
    predicate: (q) =>
      queryIdOf(q) === "rolloutsGet" && (queryKeyOf(q)?.path?.rollout_id === id || (q.state.data as Rollout | undefined)?.id === id),
  });
}

/** Puts a rollout the API just returned (create, action) into its detail cache. */
export function storeRollout(queryClient: QueryClient, rollout: Rollout) {
  queryClient.setQueryData(rolloutQueryOptions(rollout.id).queryKey, rollout);
}

/** Writes an event into every cached list row and the rollout's cached detail. */
export function applyRolloutEvent(queryClient: QueryClient, p: RolloutEventPayload, at: string): void {
  queryClient.setQueriesData<RolloutsListResponse>({ predicate: byQueryId("rolloutsList") }, (old) => {
    if (!old?.items.some((r) => r.id === p.id)) return old;
    return { ...old, items: old.items.map((r) => patchRollout(r, p, at)) };
  });
  queryClient.setQueriesData<Rollout>({ predicate: byQueryId("rolloutsGet") }, (old) =>
    old ? patchRollout(old, p, at) : old,
  );
}

/**
 * `/api/streams/rollouts` → the TanStack Query cache. Each event patches the cached rows and the
 * rollout's detail at once; a coalesced refetch then brings the lists (new rollouts, status
 * filters), the services' live routing and the full record (weights, snapshot, finish time).
 */
export function useRolloutsLiveUpdates(): StreamState {
  const queryClient = useQueryClient();
  const enabled = useCan("rollouts:read");
  const throttle = useThrottle(300);
  const refetchSoon = (id: string | null) => {
    throttle("lists", () => {
      void invalidateRolloutLists(queryClient);
      void invalidateServices(queryClient);
    });
    if (id) throttle(`rollout:${id}`, () => void invalidateRollout(queryClient, id));
  };
  const onEvent = (e: RolloutEvent) => {
    applyRolloutEvent(queryClient, e.payload, e.ts);
    refetchSoon(e.payload.id);
  };
  const reload = () => {
    refetchSoon(null);
    void queryClient.invalidateQueries({ predicate: byQueryId("rolloutsGet") });
  };
  // Every rollout event type (the compiler checks the list against the generated RolloutEvent).
  const handlers: Required<Pick<StreamHandlers, RolloutEvent["type"]>> & StreamHandlers = {
    rollout_started: onEvent,
    rollout_step: onEvent,
    analysis_completed: onEvent,
    rollout_paused: onEvent,
    rollout_resumed: onEvent,
    rollout_promoted: onEvent,
    rollout_rolled_back: onEvent,
    rollout_aborted: onEvent,
    // (Re)connected: events published before the subscription started are not replayed, so reload
    // what is shown once; after that the events keep it current.
    open: reload,
    // The server trimmed events we missed: reload what is shown.
    reset: reload,
  };
  return useEventStream("rollouts", handlers, enabled);
}
