import type { QueryClient } from "@tanstack/react-query";
import { hubGetOptions, hubGetQueryKey } from "@/client/@tanstack/react-query.gen";

/** The hub's figures are computed on every request; a poll keeps them current. */
export const HUB_REFETCH_MS = 10_000;

export function hubQueryOptions() {
  return { ...hubGetOptions(), refetchInterval: HUB_REFETCH_MS, staleTime: 0 } as const;
}

export function invalidateHub(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ queryKey: hubGetQueryKey() });
}
