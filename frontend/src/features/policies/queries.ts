import type { QueryClient } from "@tanstack/react-query";
import { policiesGetOptions } from "@/client/@tanstack/react-query.gen";
import type { PolicyDetail } from "@/client/types.gen";
import { byQueryId } from "@/lib/query-keys";

/** After a create or update: the list, and the decision lists (a new revision changes what is shown). */
export function invalidatePolicyLists(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("policiesList") });
}

/** Puts a policy returned by create/update into the cache under both its id and its name. */
export function storePolicy(queryClient: QueryClient, policy: PolicyDetail) {
  queryClient.setQueryData(policiesGetOptions({ path: { policy_id: policy.id } }).queryKey, policy);
  queryClient.setQueryData(policiesGetOptions({ path: { policy_id: policy.name } }).queryKey, policy);
}
