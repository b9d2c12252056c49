import { useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import {
  routingCandidatesOptions,
  routingClassesGetOptions,
  routingClassesListOptions,
  routingKeysListOptions,
  routingKillsListOptions,
  routingProvidersListOptions,
  routingRequestsOptions,
} from "@/client/@tanstack/react-query.gen";
import type { RoutingEvent } from "@/client/types.gen";
import { byQueryId } from "@/lib/query-keys";
import { useEventStream, type StreamHandlers, type StreamState } from "@/lib/sse";
import { useThrottle } from "@/lib/use-throttle";
import { useCan } from "@/features/auth/session";

/** Live scores are re-reported by every gateway replica each refresh tick (1 s by default). */
export const CANDIDATES_POLL_MS = 2000;
/** The request log is read again this often while the traffic panel shows. */
export const REQUESTS_POLL_MS = 2000;

export const classesQueryOptions = () => routingClassesListOptions();
export const classQueryOptions = (name: string) => routingClassesGetOptions({ path: { name } });
export const providersQueryOptions = () => routingProvidersListOptions();
export const killsQueryOptions = () => routingKillsListOptions();
export const keysQueryOptions = () => routingKeysListOptions();

export function candidatesQueryOptions(cls: string) {
  return { ...routingCandidatesOptions({ query: { class: cls } }), refetchInterval: CANDIDATES_POLL_MS };
}

export function requestsQueryOptions(limit: number, cls?: string) {
  return { ...routingRequestsOptions({ query: { limit, ...(cls ? { class: cls } : {}) } }), refetchInterval: REQUESTS_POLL_MS };
}

/** Classes (list and each one), and the live scores that show pins and downgrades. */
export function invalidateClasses(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("routingClassesList", "routingClassesGet", "routingCandidates") });
}

export function invalidateProviders(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("routingProvidersList") });
}

export function invalidateKills(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("routingKillsList", "routingCandidates") });
}

export function invalidateKeys(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("routingKeysList") });
}

// ---- the live feed -----------------------------------------------------------------------------

export interface FeedItem {
  seq: number;
  event: RoutingEvent;
}

export interface RoutingFeed {
  /** Failovers, cooldowns, broken streams and changes (pins, kills, downgrades), newest first. */
  changes: FeedItem[];
  /** Sampled decisions (one per class per gateway refresh), newest first. */
  decisions: FeedItem[];
}

export const FEED_KEY = ["routing", "live-feed"] as const;
const MAX_CHANGES = 200;
const MAX_DECISIONS = 50;
const EMPTY_FEED: RoutingFeed = { changes: [], decisions: [] };
let seq = 0;

/** Puts one event at the top of the cached feed (the stream's only store is the query cache). */
export function addToFeed(queryClient: QueryClient, event: RoutingEvent): void {
  queryClient.setQueryData<RoutingFeed>(FEED_KEY, (old = EMPTY_FEED) => {
    const item = { seq: ++seq, event };
    return event.type === "routing_decision"
      ? { ...old, decisions: [item, ...old.decisions].slice(0, MAX_DECISIONS) }
      : { ...old, changes: [item, ...old.changes].slice(0, MAX_CHANGES) };
  });
}

/** The events received since the page opened (filled by useRoutingLiveUpdates). */
export function useRoutingFeed(): RoutingFeed {
  const q = useQuery({
    queryKey: FEED_KEY,
    queryFn: () => EMPTY_FEED,
    initialData: EMPTY_FEED,
    staleTime: Infinity,
    gcTime: 10 * 60_000,
  });
  return q.data;
}

/**
 * `/api/streams/routing` → the query cache: every event goes to the live feed; pins, downgrades
 * and kill switches refetch what they change (coalesced), failovers and cooldowns the live scores.
 */
export function useRoutingLiveUpdates(): StreamState {
  const queryClient = useQueryClient();
  const enabled = useCan("routing:read");
  const throttle = useThrottle(300);
  const add = (e: RoutingEvent) => addToFeed(queryClient, e);
  const classChanged = (e: RoutingEvent) => {
    add(e);
    throttle("classes", () => void invalidateClasses(queryClient));
  };
  const killChanged = (e: RoutingEvent) => {
    add(e);
    throttle("kills", () => void invalidateKills(queryClient));
  };
  const health = (e: RoutingEvent) => {
    add(e);
    throttle("scores", () => void queryClient.invalidateQueries({ predicate: byQueryId("routingCandidates") }));
  };
  const reload = () => {
    throttle("classes", () => void invalidateClasses(queryClient));
    throttle("kills", () => void invalidateKills(queryClient));
  };
  // Every routing event type (the compiler checks the list against the generated RoutingEvent).
  const handlers: Required<Pick<StreamHandlers, RoutingEvent["type"]>> & StreamHandlers = {
    routing_decision: add,
    routing_failover: health,
    routing_cooldown: health,
    routing_stream_broken: health,
    routing_pinned: classChanged,
    routing_unpinned: classChanged,
    routing_downgraded: classChanged,
    routing_restored: classChanged,
    routing_killed: killChanged,
    routing_revived: killChanged,
    open: reload,
    reset: reload,
  };
  return useEventStream("routing", handlers, enabled);
}
