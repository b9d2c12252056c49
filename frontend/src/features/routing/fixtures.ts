import type { CandidatesPublic, ModelProviderPublic } from "@/client/types.gen";
import type { RoutingClass } from "./model";

/** Test data shaped as the routing API returns it. */
export function provider(name: string, over: Partial<ModelProviderPublic> = {}): ModelProviderPublic {
  return {
    name,
    kind: "openai",
    baseUrl: `http://${name}.test/v1`,
    region: "",
    timeoutSeconds: 60,
    keySet: true,
    keySealedWith: "k1",
    keySetAt: "2025-06-01T10:00:00Z",
    createdBy: "admin",
    updatedAt: "2025-06-01T10:00:00Z",
    ...over,
  };
}

export function routingClass(over: Partial<RoutingClass> = {}): RoutingClass {
  return {
    name: "chat",
    description: "",
    priority: 100,
    match: { models: ["fast"] },
    candidates: [
      { provider: "prov-a", model: "sim-large", price: { input: 3, output: 15 } },
      { provider: "prov-b", model: "sim-small", price: { input: 0.15, output: 0.6 } },
    ],
    downgradeTo: "prov-b/sim-small",
    downgraded: false,
    downgradeReason: null,
    pin: null,
    createdBy: "admin",
    updatedAt: "2025-06-01T10:00:00Z",
    ...over,
  };
}

export function candidatesView(over: Partial<CandidatesPublic> = {}): CandidatesPublic {
  return {
    routeClass: "chat",
    replicas: 1,
    reportedAt: "2025-06-01T10:00:00Z",
    ranking: ["prov-b/sim-small", "prov-a/sim-large"],
    winner: "prov-b/sim-small",
    why: "best score 0.950, ahead of prov-a/sim-large (0.700) mostly on cost",
    candidates: [
      {
        provider: "prov-a",
        model: "sim-large",
        allowed: true,
        total: 0.7,
        latency: 0.5,
        cost: 0.04,
        reliability: 0.9,
        policy: 1,
        latencyMs: 42,
        errorRate: 0.1,
        requests: 30,
        failures: 3,
        coolingSeconds: 12.4,
        killed: null,
      },
      {
        provider: "prov-b",
        model: "sim-small",
        allowed: true,
        total: 0.95,
        latency: 1,
        cost: 1,
        reliability: 1,
        policy: 1,
        latencyMs: 21,
        errorRate: 0,
        requests: 50,
        failures: 0,
        coolingSeconds: 0,
        killed: null,
      },
    ],
    ...over,
  };
}
