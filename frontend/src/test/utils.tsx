import { QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter } from "react-router";
import { authMeQueryKey } from "@/client/@tanstack/react-query.gen";
import { client } from "@/client/client.gen";
import type { AuthMeResponse } from "@/client/types.gen";
import { configureApiClient } from "@/lib/api";
import { createQueryClient } from "@/lib/query-client";

export const adminSession: AuthMeResponse = {
  user: {
    id: "u-admin",
    username: "admin",
    displayName: "Ada Admin",
    email: "admin@example.test",
    isActive: true,
    createdAt: "2025-01-01T00:00:00Z",
  },
  csrfToken: "csrf-123",
  permissions: ["admin:*"],
  auth: "session",
};

export interface MockRoute {
  method?: string;
  path: string;
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Replaces fetch with a router over `routes`; returns the recorded requests. */
export function mockApi(routes: MockRoute[]) {
  const calls: Request[] = [];
  const fetchMock = vi.fn(async (input: Request) => {
    calls.push(input.clone());
    const url = new URL(input.url);
    const route = routes.find((r) => (r.method ?? "GET") === input.method && r.path === url.pathname);
    if (!route) {
      return new Response(JSON.stringify({ title: "Not found", status: 404, detail: `no mock for ${input.method} ${url.pathname}` }), {
        status: 404,
        headers: { "Content-Type": "application/problem+json" },
      });
    }
    const status = route.status ?? 200;
    return new Response(status === 204 ? null : JSON.stringify(route.body ?? {}), {
      status,
      headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json", ...route.headers },
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}

/** Renders `ui` with a fresh QueryClient (optionally signed in) and a router at `route`. */
export function renderWithProviders(ui: ReactElement, { route = "/", session }: { route?: string; session?: AuthMeResponse } = {}) {
  // jsdom's fetch needs absolute URLs; the app itself uses same-origin relative ones.
  client.setConfig({ baseUrl: "http://maestro.test" });
  const queryClient = createQueryClient();
  configureApiClient(queryClient);
  if (session) queryClient.setQueryData(authMeQueryKey(), session);
  const result = render(
    <QueryClientProvider client={queryClient}>
      <MemoryRouter initialEntries={[route]}>{ui}</MemoryRouter>
    </QueryClientProvider>,
  );
  return { ...result, queryClient };
}
