import type { BudgetDetail, BudgetPublic, CostExplorerPublic, TierPublic } from "@/client/types.gen";

/** Test data shaped as the budgets and costs APIs return it. */
export function budget(over: Partial<BudgetPublic> = {}): BudgetPublic {
  return {
    id: "bud-1",
    name: "build-monthly",
    description: "",
    tier: "custom",
    scope: { pipeline: "build" },
    period: "monthly",
    capUsd: 100,
    capTokens: null,
    thresholds: [50, 80, 100],
    actions: [{ kind: "freeze", atPercent: 100, permitsPerMinute: 6, gatewayRpm: 60, classes: [] }],
    forecastDowngrade: false,
    state: "ok",
    percent: 12.5,
    frozen: false,
    frozenReason: "",
    frozenBy: "",
    frozenAt: null,
    slowed: false,
    downgraded: false,
    periodStart: "2026-11-01T00:00:00Z",
    periodEnd: "2026-12-01T00:00:00Z",
    spentUsd: 12.5,
    spentTokens: 0,
    burnPerHour: 0.5,
    forecastTotal: 150,
    forecastNote: "",
    capEta: "2026-11-20T10:00:00Z",
    firedThresholds: [],
    workflowId: "budget-bud-1",
    createdBy: "admin",
    createdAt: "2026-11-01T00:00:00Z",
    updatedAt: "2026-11-10T00:00:00Z",
    ...over,
  };
}

export function budgetDetail(over: Partial<BudgetDetail> = {}): BudgetDetail {
  return {
    ...budget(),
    history: [
      { id: 2, ts: "2026-11-10T12:00:00Z", kind: "frozen", actor: "alice", reason: "runaway eval job", detail: {} },
      { id: 1, ts: "2026-11-01T00:00:00Z", kind: "created", actor: "admin", reason: "", detail: {} },
    ],
    burndown: [
      { ts: "2026-11-01T00:00:00Z", spentUsd: 0, remainingUsd: 100 },
      { ts: "2026-11-10T00:00:00Z", spentUsd: 12.5, remainingUsd: 87.5 },
    ],
    forecast: [{ ts: "2026-11-30T00:00:00Z", expected: 150, low: 120, high: 180 }],
    forecastMethod: "linear",
    ...over,
  };
}

export const silver: TierPublic = {
  name: "silver",
  capUsd: 2000,
  capTokens: 50000000,
  thresholds: [50, 80, 100],
  actions: [
    { kind: "notify", atPercent: 80, permitsPerMinute: 6, gatewayRpm: 60, classes: [] },
    { kind: "slowdown", atPercent: 90, permitsPerMinute: 3, gatewayRpm: 60, classes: [] },
    { kind: "freeze", atPercent: 100, permitsPerMinute: 6, gatewayRpm: 60, classes: [] },
  ],
  forecastDowngrade: false,
};

export function explorerAnswer(over: Partial<CostExplorerPublic> = {}): CostExplorerPublic {
  return {
    from: "2026-11-01T00:00:00Z",
    to: "2026-11-30T13:00:00Z",
    step: "1d",
    groupBy: ["pipeline"],
    series: [
      { key: { pipeline: "build" }, points: [{ ts: "2026-11-02T00:00:00Z", usd: 30, tokens: 0 }], totalUsd: 30, totalTokens: 0 },
      { key: { pipeline: "" }, points: [{ ts: "2026-11-03T00:00:00Z", usd: 12.25, tokens: 900 }], totalUsd: 12.25, totalTokens: 900 },
    ],
    totalUsd: 42.25,
    totalTokens: 900,
    truncated: false,
    ...over,
  };
}
