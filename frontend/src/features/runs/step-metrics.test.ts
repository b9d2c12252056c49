import { attemptCount, computeStepMetrics, criticalPath, formatParallelism, stepDuration, type MetricStep } from "./step-metrics";

const T0 = Date.parse("2025-06-01T10:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

function step(key: string, over: Partial<MetricStep> = {}): MetricStep {
  return {
    key,
    name: "",
    kind: "run",
    needs: [],
    pool: "default",
    status: "succeeded",
    attempt: 1,
    attempts: [],
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    costUsd: 0,
    logLines: 0,
    ...over,
  };
}

describe("stepDuration", () => {
  it("prefers the recorded duration, else measures the timestamps", () => {
    expect(stepDuration(step("a", { durationMs: 1234, startedAt: at(0), finishedAt: at(9999) }), T0)).toBe(1234);
    expect(stepDuration(step("a", { startedAt: at(0), finishedAt: at(2500) }), T0)).toBe(2500);
  });

  it("runs to now while the step runs, and is unknown for a step that never started", () => {
    expect(stepDuration(step("a", { status: "running", startedAt: at(0) }), T0 + 4000)).toBe(4000);
    expect(stepDuration(step("a", { status: "pending", attempt: 0 }), T0 + 4000)).toBeNull();
    // Started, then cancelled without a finish time: no made-up duration.
    expect(stepDuration(step("a", { status: "cancelled", startedAt: at(0) }), T0 + 4000)).toBeNull();
  });
});

describe("attemptCount", () => {
  it("takes the highest of the counter and the attempt history", () => {
    expect(attemptCount({ attempt: 0, attempts: [] })).toBe(0);
    expect(attemptCount({ attempt: 1, attempts: undefined })).toBe(1);
    expect(
      attemptCount({
        attempt: 2,
        attempts: [
          { attempt: 1, status: "failed" },
          { attempt: 2, status: "failed" },
          { attempt: 3, status: "succeeded" },
        ],
      }),
    ).toBe(3);
  });
});

describe("criticalPath", () => {
  it("follows the heaviest chain of needs, not the longest single step", () => {
    // build(2) → test(5) → deploy(1) = 8, against lint(6) alone.
    const steps = [
      { key: "build", needs: [] },
      { key: "lint", needs: [] },
      { key: "test", needs: ["build"] },
      { key: "deploy", needs: ["test", "lint"] },
    ];
    const d: Record<string, number> = { build: 2, lint: 6, test: 5, deploy: 1 };
    expect(criticalPath(steps, (k) => d[k])).toEqual({ ms: 8, keys: ["build", "test", "deploy"] });
  });

  it("ignores unknown needs and survives a cycle", () => {
    const steps = [
      { key: "a", needs: ["b", "ghost"] },
      { key: "b", needs: ["a"] },
    ];
    const p = criticalPath(steps, () => 1);
    expect(p.ms).toBe(2);
    expect(p.keys).toHaveLength(2);
  });
});

describe("computeStepMetrics", () => {
  const steps: MetricStep[] = [
    step("build", { startedAt: at(0), finishedAt: at(2000), durationMs: 2000, costUsd: 0.01, logLines: 10, pool: "linux" }),
    step("test[py=3.12]", {
      name: "test (3.12)",
      needs: ["build"],
      startedAt: at(2000),
      finishedAt: at(10_000),
      durationMs: 8000,
      attempt: 2,
      attempts: [
        { attempt: 1, status: "failed", startedAt: at(2000), finishedAt: at(5000), durationMs: 3000 },
        { attempt: 2, status: "succeeded", startedAt: at(5000), finishedAt: at(10_000), durationMs: 5000 },
      ],
      costUsd: 0.04,
      logLines: 200,
    }),
    step("lint", { startedAt: at(0), finishedAt: at(4000), durationMs: 4000, costUsd: 0.02, logLines: 5 }),
    step("deploy", { kind: "approval", needs: ["test[py=3.12]", "lint"], status: "pending", attempt: 0 }),
  ];
  const run = { startedAt: at(0), finishedAt: at(12_000), durationMs: 12_000 };

  it("sums step time, finds the critical path and the parallelism against the wall time", () => {
    const { summary } = computeStepMetrics(steps, run, T0 + 60_000);
    expect(summary.steps).toBe(4);
    expect(summary.started).toBe(3);
    expect(summary.totalStepMs).toBe(14_000);
    expect(summary.wallMs).toBe(12_000);
    // deploy has not run: it adds nothing, so the path ends at the step that took the time.
    expect(summary.criticalPath).toEqual(["build", "test[py=3.12]"]);
    expect(summary.criticalPathMs).toBe(10_000);
    expect(summary.overheadMs).toBe(2000);
    expect(summary.parallelism).toBeCloseTo(14_000 / 12_000);
    expect(summary.slowest).toEqual({ key: "test[py=3.12]", name: "test (3.12)", durationMs: 8000 });
  });

  it("counts retries, the time they cost, cost and log lines", () => {
    const { summary } = computeStepMetrics(steps, run, T0);
    expect(summary.retries).toBe(1);
    expect(summary.retriedSteps).toBe(1);
    expect(summary.retriedMs).toBe(3000);
    expect(summary.costUsd).toBeCloseTo(0.07);
    expect(summary.logLines).toBe(215);
  });

  it("gives each step its share of the longest step and marks the critical ones", () => {
    const byKey = Object.fromEntries(computeStepMetrics(steps, run, T0).steps.map((m) => [m.key, m]));
    expect(byKey["test[py=3.12]"].share).toBe(1);
    expect(byKey.lint.share).toBe(0.5);
    expect(byKey.build.share).toBe(0.25);
    expect(byKey.deploy.share).toBe(0);
    expect(byKey.deploy.durationMs).toBeNull();
    expect(byKey.build.name).toBe("build");
    expect(byKey.build.pool).toBe("linux");
    expect([byKey.build.critical, byKey.lint.critical, byKey["test[py=3.12]"].critical]).toEqual([true, false, true]);
    expect(byKey["test[py=3.12]"].attempts).toBe(2);
  });

  it("measures a live run and its running step to now", () => {
    const live = [step("build", { status: "running", startedAt: at(1000) })];
    const { steps: m, summary } = computeStepMetrics(live, { startedAt: at(0), finishedAt: null, durationMs: null }, T0 + 5000);
    expect(m[0].durationMs).toBe(4000);
    expect(m[0].live).toBe(true);
    expect(summary.wallMs).toBe(5000);
    expect(summary.parallelism).toBeCloseTo(0.8);
  });

  it("has no wall time, parallelism or path before the run starts", () => {
    const { summary } = computeStepMetrics([step("a", { status: "pending", attempt: 0 })], { startedAt: null, finishedAt: null, durationMs: null }, T0);
    expect(summary.wallMs).toBeNull();
    expect(summary.parallelism).toBeNull();
    expect(summary.overheadMs).toBeNull();
    expect(summary.criticalPath).toEqual([]);
    expect(summary.slowest).toBeNull();
    expect(summary.started).toBe(0);
  });
});

describe("formatParallelism", () => {
  it("shows one decimal, or a dash when unknown", () => {
    expect(formatParallelism(1.84)).toBe("×1.8");
    expect(formatParallelism(null)).toBe("—");
  });
});
