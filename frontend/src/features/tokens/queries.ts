import type { QueryClient } from "@tanstack/react-query";
import { byQueryId } from "@/lib/query-keys";

/** Every cached tokens list (any page size/cursor), after a create or revoke. */
export function invalidateTokens(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("tokensList") });
}
