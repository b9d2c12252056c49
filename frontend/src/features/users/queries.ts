import type { QueryClient } from "@tanstack/react-query";
import { byQueryId } from "@/lib/query-keys";

export function invalidateUsers(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("usersList", "usersGet") });
}

export function invalidateBindings(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byQueryId("usersRoleBindingsList") });
}
