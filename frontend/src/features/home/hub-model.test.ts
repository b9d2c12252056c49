import type { Compliance, Kpis } from "@/client/types.gen";
import {
  complianceFigures,
  formatErrorRate,
  formatHours,
  formatPct,
  formatRequests,
  healthVariant,
  isErrorRateHigh,
  kpiFigures,
  parseHotCold,
  releaseActions,
} from "./hub-model";

const KPIS: Kpis = {
  buildSuccessPct: 93.456,
  runs7d: 42,
  leadTimeToProdHours: 3.25,
  p95BuildMs: 125_000,
  worstBurnRate1h: 2.5,
  lowestErrorBudget: 0.42,
  spend24hUsd: 12.5,
  spend7dUsd: 80,
  queueDepth: 3,
};

const COMPLIANCE: Compliance = {
  successfulRuns7d: 10,
  runsWithProvenance7d: 8,
  signedArtifacts7d: 14,
  sbomRunsChecked: 4,
  sbomDiffsOk: 4,
  policyDenials24h: 2,
  evidenceBundles7d: 5,
  evidenceBundlesFailed7d: 1,
};

const byId = <T extends { id: string }>(xs: T[], id: string) => xs.find((x) => x.id === id)!;

describe("releaseActions", () => {
  it("keeps exactly the known actions the API offers, in button order", () => {
    expect(releaseActions(["abort", "promote", "pause", "rollback"])).toEqual(["pause", "promote", "rollback", "abort"]);
    expect(releaseActions(["resume", "promote-full", "restart"])).toEqual(["resume"]);
    expect(releaseActions([])).toEqual([]);
  });
});

describe("release traffic", () => {
  it("says 'no traffic' without requests and the 5xx ratio otherwise", () => {
    expect(formatErrorRate(null, 0)).toBe("no traffic");
    expect(formatErrorRate(0, 0)).toBe("no traffic");
    expect(formatErrorRate(0.0734, 120)).toBe("7.34% errors");
    expect(formatErrorRate(0, 5)).toBe("0% errors");
    expect(formatRequests(1)).toBe("1 request");
    expect(formatRequests(12_345)).toBe("12,345 requests");
  });

  it("flags error rates above the 5% the hub calls degraded", () => {
    expect(isErrorRateHigh(0.05)).toBe(false);
    expect(isErrorRateHigh(0.051)).toBe(true);
    expect(isErrorRateHigh(null)).toBe(false);
  });

  it("colours health by what it means", () => {
    expect(healthVariant("healthy")).toBe("success");
    expect(healthVariant("degraded")).toBe("danger");
    expect(healthVariant("idle")).toBe("secondary");
    expect(healthVariant("unknown")).toBe("outline");
  });
});

describe("formatting", () => {
  it("formats percentages that are already percentages", () => {
    expect(formatPct(93.456)).toBe("93.5%");
    expect(formatPct(100)).toBe("100%");
    expect(formatPct(null)).toBe("—");
  });

  it("formats hours as hours", () => {
    expect(formatHours(0)).toBe("0 h");
    expect(formatHours(0.054)).toBe("0.05 h");
    expect(formatHours(3.25)).toBe("3.3 h");
    expect(formatHours(27.6)).toBe("28 h");
    expect(formatHours(1234)).toBe("1,234 h");
    expect(formatHours(null)).toBe("—");
  });
});

describe("kpiFigures", () => {
  it("gives each tile its figure and hint", () => {
    const f = kpiFigures(KPIS);
    expect(f.map((x) => x.id)).toEqual(["build-success", "lead-time", "p95-build", "burn", "spend", "queue"]);
    expect(byId(f, "build-success")).toMatchObject({ value: "93.5%", hint: "of 42 finished runs in the last 7 days", tone: "warn" });
    expect(byId(f, "lead-time")).toMatchObject({ value: "3.3 h" });
    expect(byId(f, "p95-build")).toMatchObject({ value: "2 m 5 s" });
    expect(byId(f, "burn")).toMatchObject({ value: "2.5×", hint: "lowest error budget: 42% left", tone: "warn" });
    expect(byId(f, "spend")).toMatchObject({ value: "$12.50", hint: "$80.00 in the last 7 days" });
    expect(byId(f, "queue")).toMatchObject({ value: "3", hint: "steps of active runs not finished yet" });
  });

  it("says what is missing when there is no data yet", () => {
    const f = kpiFigures({
      ...KPIS,
      buildSuccessPct: null,
      runs7d: 0,
      leadTimeToProdHours: null,
      p95BuildMs: null,
      worstBurnRate1h: null,
      lowestErrorBudget: null,
      queueDepth: 1,
    });
    expect(byId(f, "build-success")).toMatchObject({ value: "—", hint: "no finished runs in the last 7 days", tone: "neutral" });
    expect(byId(f, "lead-time")).toMatchObject({ value: "—", hint: "no prod rollout yet" });
    expect(byId(f, "p95-build")).toMatchObject({ value: "—" });
    expect(byId(f, "burn")).toMatchObject({ value: "—", hint: "no SLO has data yet", tone: "neutral" });
    expect(byId(f, "queue").hint).toBe("step of an active run not finished yet");
  });

  it("takes the worse of burn rate and budget for the tone", () => {
    expect(byId(kpiFigures({ ...KPIS, worstBurnRate1h: 0.2, lowestErrorBudget: -0.1 }), "burn")).toMatchObject({
      hint: "lowest error budget: overspent by 10%",
      tone: "bad",
    });
    expect(byId(kpiFigures({ ...KPIS, worstBurnRate1h: 20, lowestErrorBudget: 0.9 }), "burn").tone).toBe("bad");
    expect(byId(kpiFigures({ ...KPIS, worstBurnRate1h: 0.5, lowestErrorBudget: 0.9 }), "burn").tone).toBe("ok");
  });
});

describe("complianceFigures", () => {
  it("shows shares, counts and the link to denied decisions", () => {
    const f = complianceFigures(COMPLIANCE);
    expect(byId(f, "provenance")).toMatchObject({ value: "8 / 10", tone: "warn" });
    expect(byId(f, "provenance").hint).toContain("80%");
    expect(byId(f, "signed").value).toBe("14");
    expect(byId(f, "sbom")).toMatchObject({ value: "4 / 4", tone: "ok" });
    expect(byId(f, "denials")).toMatchObject({ value: "2", href: "/policies/decisions?allowed=false", tone: "warn" });
    expect(byId(f, "evidence")).toMatchObject({ value: "5", hint: "generated; 1 bundle failed", tone: "bad" });
  });

  it("reads sensibly with nothing to count", () => {
    const f = complianceFigures({
      successfulRuns7d: 0,
      runsWithProvenance7d: 0,
      signedArtifacts7d: 0,
      sbomRunsChecked: 0,
      sbomDiffsOk: 0,
      policyDenials24h: 0,
      evidenceBundles7d: 0,
      evidenceBundlesFailed7d: 0,
    });
    expect(byId(f, "provenance")).toMatchObject({ value: "0 / 0", hint: "no successful runs in the last 7 days", tone: "neutral" });
    expect(byId(f, "sbom").hint).toBe("no recent successful run has an SBOM yet");
    expect(byId(f, "denials").tone).toBe("ok");
    expect(byId(f, "evidence").hint).toBe("generated; none failed");
  });
});

describe("parseHotCold", () => {
  it("keeps well-formed rows and drops the rest", () => {
    const hot = parseHotCold({
      since: "2025-06-01T00:00:00Z",
      flakyTests: [{ pipeline: "web", test: "t::a", commits: 2 }, { pipeline: "web", commits: 1 }, "junk"],
      flakyPipelines: [{ pipeline: "web", commits: 3 }],
      slowestSteps: [{ pipeline: "web", step: "e2e", p95Ms: 1000, samples: 4 }, { pipeline: "web", step: "x", p95Ms: "slow", samples: 1 }],
      noisyAlerts: [{ fingerprint: "fp", name: "SloBurnRate", fires: 3, firesPerDay: 0.43 }],
      topCostCenters: [{ dimension: "env", value: "prod", costUsd: 1.5 }, { dimension: "env", value: "dev", costUsd: null }],
    });
    expect(hot.since).toBe("2025-06-01T00:00:00Z");
    expect(hot.flakyTests).toEqual([{ pipeline: "web", test: "t::a", commits: 2 }]);
    expect(hot.flakyPipelines).toHaveLength(1);
    expect(hot.slowestSteps).toEqual([{ pipeline: "web", step: "e2e", p95Ms: 1000, samples: 4 }]);
    expect(hot.noisyAlerts).toHaveLength(1);
    expect(hot.topCostCenters).toEqual([{ dimension: "env", value: "prod", costUsd: 1.5 }]);
  });

  it("copes with a missing or odd object", () => {
    expect(parseHotCold(undefined)).toEqual({
      since: null,
      flakyTests: [],
      flakyPipelines: [],
      slowestSteps: [],
      noisyAlerts: [],
      topCostCenters: [],
    });
    expect(parseHotCold({ flakyTests: "none" }).flakyTests).toEqual([]);
  });
});
