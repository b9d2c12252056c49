import { queryOptions } from "@tanstack/react-query";
import { readyGetQueryKey } from "@/client/@tanstack/react-query.gen";
import { readyGet } from "@/client/sdk.gen";
import type { ReadyGetResponse } from "@/client/types.gen";
import { ApiError } from "@/lib/api-error";

export type Readiness = ReadyGetResponse;
export type HealthLevel = "green" | "amber" | "red" | "unknown";

function looksLikeReadiness(body: unknown): body is Readiness {
  return typeof body === "object" && body !== null && "checks" in body && "status" in body;
}

/**
 * GET /api/ready. A 503 still carries the readiness body (status "degraded" with the failing
 * checks): that is data for the ribbon, not an error. The `system` SSE topic writes its
 * `health_changed` payloads under this same key.
 */
export function readinessQueryOptions() {
  return queryOptions({
    queryKey: readyGetQueryKey(),
    queryFn: async ({ signal }): Promise<Readiness> => {
      try {
        const { data } = await readyGet({ signal });
        return data;
      } catch (error) {
        if (error instanceof ApiError && error.status === 503 && looksLikeReadiness(error.body)) return error.body;
        throw error;
      }
    },
    retry: false,
  });
}

export function healthLevel(data: Readiness | undefined, error: unknown): HealthLevel {
  if (error) return "red";
  if (!data) return "unknown";
  const checks = Object.values(data.checks ?? {});
  const workersUp = (data.workers ?? []).every((w) => w.status === "up");
  if (data.status === "ok" && checks.every((c) => c?.status === "up") && workersUp) return "green";
  const dbDown = data.checks?.db?.status === "down";
  if (dbDown || (checks.length > 0 && checks.every((c) => c?.status === "down"))) return "red";
  return "amber";
}

/** Dependencies that are down, then workers nobody runs ("control worker", "runner pool default"). */
export function downChecks(data: Readiness | undefined): string[] {
  const deps = Object.entries(data?.checks ?? {})
    .filter(([, c]) => c?.status === "down")
    .map(([name]) => name);
  const workers = (data?.workers ?? [])
    .filter((w) => w.status === "down")
    .map((w) => (w.kind === "worker" ? "control worker" : `runner pool ${w.pool}`));
  return [...deps, ...workers];
}
