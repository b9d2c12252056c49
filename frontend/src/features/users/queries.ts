import type { QueryClient } from "@tanstack/react-query";

function byId(...ids: string[]) {
  return (q: { queryKey: readonly unknown[] }) => ids.includes((q.queryKey[0] as { _id?: string } | undefined)?._id ?? "");
}

export function invalidateUsers(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byId("usersList", "usersGet") });
}

export function invalidateBindings(queryClient: QueryClient) {
  return queryClient.invalidateQueries({ predicate: byId("usersRoleBindingsList") });
}
