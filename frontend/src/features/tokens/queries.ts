import type { QueryClient } from "@tanstack/react-query";

/** Every cached tokens list (any page size/cursor), after a create or revoke. */
export function invalidateTokens(queryClient: QueryClient) {
  return queryClient.invalidateQueries({
    predicate: (q) => (q.queryKey[0] as { _id?: string } | undefined)?._id === "tokensList",
  });
}
