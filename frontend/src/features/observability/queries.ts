import { useQueryClient, type InfiniteData, type QueryClient } from "@tanstack/react-query";
import { alertsListOptions, sloListOptions } from "@/client/@tanstack/react-query.gen";
import type { AlertEvent, AlertEventPayload, AlertPublic, AlertsListResponse } from "@/client/types.gen";
import { byQueryId, queryIdOf } from "@/lib/query-keys";
import { useEventStream, type StreamState } from "@/lib/sse";
import { useThrottle } from "@/lib/use-throttle";
import { useCan } from "@/features/auth/session";

export type Alert = AlertPublic;

/** The firing alerts the status ribbon counts (also kept live by the `alerts` topic). */
export function firingAlertsQueryOptions() {
  return alertsListOptions({ query: { state: "firing", limit: 100 } });
}

export function sloQueryOptions() {
  return sloListOptions();
}

/** Every cached alerts list (plain or infinite, any filter). */
export function invalidateAlertLists(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("alertsList") });
}

export function invalidateAlert(queryClient: QueryClient, id: string) {
  return queryClient.invalidateQueries({
    predicate: (q) => queryIdOf(q) === "alertsGet" && (q.state.data as Alert | undefined)?.id === id,
  });
}

export function invalidateSlos(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("sloList") });
}

function patch(a: Alert, p: AlertEventPayload): Alert {
  return a.id === p.id ? { ...a, ...p } : a;
}

/** Writes an alert event into every cached list row and the alert's cached detail. */
export function applyAlertEvent(queryClient: QueryClient, p: AlertEventPayload): void {
  queryClient.setQueriesData<InfiniteData<AlertsListResponse> | AlertsListResponse>(
    { predicate: byQueryId("alertsList") },
    (old) => {
      if (!old) return old;
      if ("pages" in old) {
        if (!old.pages.some((page) => page.items.some((a) => a.id === p.id))) return old;
        return { ...old, pages: old.pages.map((page) => ({ ...page, items: page.items.map((a) => patch(a, p)) })) };
      }
      if (!old.items.some((a) => a.id === p.id)) return old;
      return { ...old, items: old.items.map((a) => patch(a, p)) };
    },
  );
  queryClient.setQueriesData<Alert>({ predicate: byQueryId("alertsGet") }, (old) => (old ? patch(old, p) : old));
}

/**
 * `/api/streams/alerts` → the TanStack Query cache. Each event patches cached rows and details at
 * once, then a (coalesced) refetch brings new rows and the fields events do not carry (ack,
 * assignee, notify status). Mounted once, by the status ribbon, for everyone with system:read.
 */
export function useAlertsLiveUpdates(enabled = true): StreamState {
  const queryClient = useQueryClient();
  const allowed = useCan("system:read");
  const throttle = useThrottle(300);
  const refetchSoon = (id: string | null) => {
    throttle("lists", () => void invalidateAlertLists(queryClient));
    if (id) throttle(`alert:${id}`, () => void invalidateAlert(queryClient, id));
  };
  const onAlert = (e: AlertEvent) => {
    applyAlertEvent(queryClient, e.payload);
    refetchSoon(e.payload.id);
  };
  return useEventStream(
    "alerts",
    {
      alert_fired: onAlert,
      alert_resolved: onAlert,
      alert_acked: onAlert,
      alert_assigned: onAlert,
      // The server trimmed events we missed: reload what is shown.
      reset: () => {
        refetchSoon(null);
        void queryClient.invalidateQueries({ predicate: byQueryId("alertsGet") });
      },
    },
    enabled && allowed,
  );
}

