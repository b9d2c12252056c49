import { authMeQueryKey } from "@/client/@tanstack/react-query.gen";
import { client } from "@/client/client.gen";
import type { AuthMeResponse } from "@/client/types.gen";
import { toApiError } from "@/lib/api-error";
import type { QueryClient } from "@tanstack/react-query";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Wires the generated client to the session: same-origin cookies, the CSRF token (taken from the
 * cached /api/auth/me or login response) on every mutating request, and problem+json errors
 * turned into ApiError.
 */
export function configureApiClient(queryClient: QueryClient): void {
  client.setConfig({ credentials: "same-origin", throwOnError: true });
  client.interceptors.request.clear();
  client.interceptors.error.clear();
  client.interceptors.request.use((request) => {
    if (!SAFE_METHODS.has(request.method.toUpperCase())) {
      const session = queryClient.getQueryData<AuthMeResponse>(authMeQueryKey());
      if (session?.csrfToken) request.headers.set("X-CSRF-Token", session.csrfToken);
    }
    return request;
  });
  client.interceptors.error.use((error, response) => toApiError(error, response));
}
