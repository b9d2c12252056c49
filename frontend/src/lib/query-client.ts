import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { authMeQueryKey } from "@/client/@tanstack/react-query.gen";
import { ApiError } from "@/lib/api-error";
import { queryIdOf } from "@/lib/query-keys";

function sessionExpired(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}

/** One QueryClient: the single place server state lives (REST responses and SSE updates alike). */
export function createQueryClient(): QueryClient {
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      onError: (error, query) => {
        // A 401 anywhere but /auth/me means the session ended: re-check it, which sends the
        // user to /login through <RequireAuth>.
        if (sessionExpired(error) && queryIdOf(query) !== "authMe") {
          void client.invalidateQueries({ queryKey: authMeQueryKey() });
        }
      },
    }),
    mutationCache: new MutationCache({
      onError: (error) => {
        if (sessionExpired(error)) void client.invalidateQueries({ queryKey: authMeQueryKey() });
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        refetchOnWindowFocus: false,
        retry: (failureCount, error) => {
          if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
          return failureCount < 2;
        },
      },
      mutations: { retry: false },
    },
  });
  return client;
}

export const queryClient = createQueryClient();
