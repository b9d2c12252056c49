import type { RoutingEvent } from "@/client/types.gen";
import { ApiError } from "@/lib/api-error";
import {
  apiFieldErrors,
  buildClassBody,
  describeEvent,
  draftFromClass,
  formatUsd,
  percentile,
  trafficWindow,
  type RequestRecord,
  type RoutingClass,
} from "./model";

function req(over: Partial<RequestRecord>): RequestRecord {
  return {
    id: "1-0",
    ts: "2025-06-01T10:00:00Z",
    key: "k1",
    project: "",
    env: "prod",
    routeClass: "chat",
    provider: "prov-a",
    model: "sim-large",
    requested: "fast",
    status: 200,
    promptTokens: 10,
    completionTokens: 20,
    estimated: false,
    usd: 0.001,
    upstreamMs: 40,
    addedMs: 0.5,
    attempts: 1,
    reason: "best score",
    broken: false,
    traceId: "t",
    ...over,
  };
}

describe("percentile", () => {
  it("takes the nearest rank", () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(xs, 50)).toBe(5);
    expect(percentile(xs, 95)).toBe(10);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });
});

describe("trafficWindow", () => {
  it("groups the window by candidate with success, latency percentiles, tokens, spend and rates", () => {
    const rows = [
      req({ id: "4", ts: "2025-06-01T10:01:00Z", provider: "prov-b", model: "sim-small", upstreamMs: 10, addedMs: 0, usd: 0.0001, attempts: 2 }),
      req({ id: "3", ts: "2025-06-01T10:00:40Z", upstreamMs: 30, addedMs: 0 }),
      req({ id: "2", ts: "2025-06-01T10:00:20Z", status: 502, upstreamMs: 5, addedMs: 0, promptTokens: 10, completionTokens: 0, estimated: true }),
      req({ id: "1", ts: "2025-06-01T10:00:00Z", upstreamMs: 50, addedMs: 0 }),
    ];
    const w = trafficWindow(rows);
    expect(w.requests).toBe(4);
    expect(w.seconds).toBe(60);
    expect(w.tokens).toBe(30 + 10 + 30 + 30);
    expect(w.tokensPerSecond).toBeCloseTo(100 / 60);
    expect(w.usdPerMinute).toBeCloseTo(0.0031);
    const [a, b] = w.candidates;
    expect(a).toMatchObject({ key: "prov-a/sim-large", requests: 3, succeeded: 2, p50: 30, p95: 50, tokens: 70, estimated: true, failedOver: 0, share: 0.75 });
    expect(a.successRate).toBeCloseTo(2 / 3);
    expect(b).toMatchObject({ key: "prov-b/sim-small", requests: 1, succeeded: 1, successRate: 1, p50: 10, p95: 10, failedOver: 1, share: 0.25 });
  });

  it("has no rates for an empty window or a single instant", () => {
    expect(trafficWindow([])).toMatchObject({ requests: 0, from: null, tokensPerSecond: null, usdPerMinute: null, candidates: [] });
    expect(trafficWindow([req({})]).tokensPerSecond).toBeNull();
  });
});

describe("formatUsd", () => {
  it("keeps the digits a single request's cost needs", () => {
    expect(formatUsd(0)).toBe("$0");
    expect(formatUsd(12.345)).toBe("$12.35");
    expect(formatUsd(0.0312)).toBe("$0.0312");
    expect(formatUsd(0.0000316)).toBe("$0.000032");
  });
});

describe("the class form", () => {
  const providers = ["prov-a", "prov-b"];
  it("builds the PUT body from the form, with the prices as numbers and the matched models split", () => {
    const d = draftFromClass(null, providers[0]);
    d.name = "chat";
    d.models = "fast, gpt-4o*  fast";
    d.candidates = [
      { provider: "prov-a", model: "sim-large", priceInput: "3", priceOutput: "15" },
      { provider: "prov-b", model: " sim-small ", priceInput: "0.15", priceOutput: "0.6" },
    ];
    d.downgradeTo = "prov-b/sim-small";
    d.weights.cost = "0";
    const { body, errors } = buildClassBody(d, null);
    expect(errors).toEqual({});
    expect(body).toEqual({
      description: "",
      priority: 100,
      match: { models: ["fast", "gpt-4o*"] },
      candidates: [
        { provider: "prov-a", model: "sim-large", price: { input: 3, output: 15 } },
        { provider: "prov-b", model: "sim-small", price: { input: 0.15, output: 0.6 } },
      ],
      weights: { latency: 1, cost: 0, reliability: 2, policy: 1 },
      downgradeTo: "prov-b/sim-small",
    });
  });

  it("names each field the API would refuse", () => {
    const d = draftFromClass(null, "");
    d.name = "Chat!";
    d.candidates = [
      { provider: "", model: "", priceInput: "-1", priceOutput: "x" },
      { provider: "prov-a", model: "m", priceInput: "0", priceOutput: "0" },
      { provider: "prov-a", model: "m", priceInput: "0", priceOutput: "0" },
    ];
    d.weights.policy = "101";
    const { errors } = buildClassBody(d, null);
    expect(Object.keys(errors).sort()).toEqual([
      "candidates.0.model",
      "candidates.0.price.input",
      "candidates.0.price.output",
      "candidates.0.provider",
      "candidates.2.model",
      "name",
      "weights.policy",
    ]);
    expect(errors["candidates.2.model"]).toBe("prov-a/m is already a candidate of this class.");
  });

  it("keeps what the form does not edit when a class is changed", () => {
    const cls: RoutingClass = {
      name: "chat",
      description: "d",
      priority: 5,
      match: { models: ["fast"], headers: { "x-team": "a" } },
      candidates: [
        { provider: "prov-a", model: "m1", price: { input: 1, output: 2 }, weight: 70 },
        { provider: "prov-b", model: "m2", price: { input: 1, output: 2 }, weight: 30 },
      ],
      failover: { maxAttempts: 2, cooldownSeconds: 60 },
      policy: { regions: ["eu"] },
      sticky: "x-user",
      downgradeTo: null,
      downgraded: false,
      downgradeReason: null,
      pin: null,
      createdBy: "admin",
      updatedAt: "2025-06-01T10:00:00Z",
    };
    // fields newer than the generated client (a Rego policy, capture settings) are kept too
    const newer = { ...cls, rego: "package x", capture: { enabled: true, sampleRate: 0.1 } } as RoutingClass;
    const { body, errors } = buildClassBody(draftFromClass(newer), newer);
    expect(errors).toEqual({});
    for (const k of ["name", "downgraded", "downgradeReason", "pin", "createdBy", "updatedAt"]) expect(body).not.toHaveProperty(k);
    expect(body).toMatchObject({
      rego: "package x",
      capture: { enabled: true, sampleRate: 0.1 },
      failover: { maxAttempts: 2, cooldownSeconds: 60 },
      policy: { regions: ["eu"] },
      sticky: "x-user",
      priority: 5,
      match: { models: ["fast"], headers: { "x-team": "a" } },
      candidates: [
        { provider: "prov-a", model: "m1", weight: 70 },
        { provider: "prov-b", model: "m2", weight: 30 },
      ],
    });
  });
});

describe("apiFieldErrors", () => {
  it("puts the API's errors on the form's fields, whichever way the API names them", () => {
    const e = new ApiError({
      status: 422,
      title: "Invalid request",
      detail: "…",
      errors: [
        { field: "candidates[1].provider", message: "unknown provider" },
        { field: "candidates.0.price.input", message: "Input should be greater than or equal to 0" },
        { field: "body", message: "downgradeTo: 'x/y' is not one of the candidates ['a/b']" },
        { field: "path.name", message: "String should match pattern" },
      ],
    });
    expect(apiFieldErrors(e)).toEqual({
      "candidates.1.provider": "unknown provider",
      "candidates.0.price.input": "Input should be greater than or equal to 0",
      downgradeTo: "'x/y' is not one of the candidates ['a/b']",
      name: "String should match pattern",
    });
  });
});

describe("describeEvent", () => {
  const base = { ts: "2025-06-01T10:00:00Z", id: "", entity: "routing_class" };
  it("says where a failover went and why", () => {
    const e: RoutingEvent = {
      ...base,
      type: "routing_failover",
      payload: { routeClass: "chat", provider: "prov-a", model: "sim-large", status: 503, message: "overloaded", to: "prov-b/sim-large", attempt: 1 },
    };
    expect(describeEvent(e)).toEqual({
      title: "Failover from prov-a/sim-large to prov-b/sim-large",
      detail: "class chat: answered 503: overloaded (attempt 1)",
      tone: "danger",
    });
  });

  it("says who pinned and downgraded a class, and why", () => {
    const pinned: RoutingEvent = {
      ...base,
      type: "routing_pinned",
      payload: { routeClass: "chat", provider: "prov-a", model: "sim-large", message: "eval", actor: "admin", until: null },
    };
    expect(describeEvent(pinned)).toEqual({ title: "Class chat pinned to prov-a/sim-large", detail: "until unpinned: eval (by admin)", tone: "info" });
    const down: RoutingEvent = {
      ...base,
      type: "routing_downgraded",
      payload: { routeClass: "chat", provider: "prov-b", model: "sim-small", message: "budget 80%", actor: "admin" },
    };
    expect(describeEvent(down)).toEqual({ title: "Class chat downgraded to prov-b/sim-small", detail: "budget 80% (by admin)", tone: "warning" });
  });
});
