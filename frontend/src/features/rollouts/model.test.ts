import type { RolloutEventPayload } from "@/client/types.gen";
import {
  allowedControls,
  CONTROLS,
  DEFAULT_STEPS,
  DEFAULT_STEPS_JSON,
  decisionBatchOf,
  describeStep,
  formatValue,
  inEnv,
  isFinishedRollout,
  isHttpUrl,
  parseStep,
  parseStepsJson,
  patchRollout,
  stepPosition,
  stepStates,
  upstreamError,
  weightNote,
  type Rollout,
} from "./model";

function rollout(over: Partial<Rollout> = {}): Rollout {
  return {
    id: "r1",
    service: "checkout",
    env: "prod",
    runId: null,
    workflowId: "rollout-checkout-r1",
    status: "running",
    stepIndex: 1,
    weight: 10,
    stableUrl: "http://stable:8080",
    canaryUrl: "http://canary:8080",
    steps: [{ setWeight: 10 }, { analysis: {} }, { setWeight: 100 }],
    history: [],
    analyses: [],
    weights: [{ at: "2025-06-01T10:00:00Z", weight: 0 }],
    message: "",
    snapshotSha256: "",
    createdBy: "ada",
    createdAt: "2025-06-01T10:00:00Z",
    updatedAt: "2025-06-01T10:00:00Z",
    finishedAt: null,
    ...over,
  };
}

describe("stepStates", () => {
  it("marks the steps before the index done, the one at it current and the rest pending while running or paused", () => {
    expect(stepStates(4, 2, "running")).toEqual(["done", "done", "current", "pending"]);
    expect(stepStates(4, 0, "paused")).toEqual(["current", "pending", "pending", "pending"]);
  });

  it("has no current step once the index is past the last step (going to 100%)", () => {
    expect(stepStates(3, 3, "running")).toEqual(["done", "done", "done"]);
  });

  it("marks every step done when the rollout walked them all and succeeded", () => {
    expect(stepStates(3, 3, "succeeded")).toEqual(["done", "done", "done"]);
  });

  it("skips the remaining steps of a rollout promoted straight to 100%", () => {
    expect(stepStates(5, 1, "succeeded")).toEqual(["done", "skipped", "skipped", "skipped", "skipped"]);
  });

  it("stops the step a rollback or abort interrupted and skips the rest", () => {
    expect(stepStates(4, 1, "rolled_back")).toEqual(["done", "stopped", "skipped", "skipped"]);
    expect(stepStates(3, 0, "aborted")).toEqual(["stopped", "skipped", "skipped"]);
  });
});

describe("stepPosition", () => {
  it("counts the current step from 1 and never past the total", () => {
    expect(stepPosition(7, 0, "running")).toEqual({ current: 1, total: 7 });
    expect(stepPosition(7, 3, "paused")).toEqual({ current: 4, total: 7 });
    expect(stepPosition(7, 7, "running")).toEqual({ current: 7, total: 7 });
    expect(stepPosition(7, 2, "rolled_back")).toEqual({ current: 3, total: 7 });
  });

  it("reports all steps once succeeded, even when promoted to 100% early", () => {
    expect(stepPosition(7, 2, "succeeded")).toEqual({ current: 7, total: 7 });
  });

  it("is 0/0 without steps", () => {
    expect(stepPosition(0, 0, "running")).toEqual({ current: 0, total: 0 });
  });
});

describe("weightNote", () => {
  it("explains the weight where the number alone misleads", () => {
    expect(weightNote("succeeded", "http://canary:8080")).toBe("The canary is now the stable version: http://canary:8080 takes all the traffic.");
    expect(weightNote("rolled_back", "x")).toBe("All traffic is back on the stable version.");
    expect(weightNote("aborted", "x")).toBe("All traffic is back on the stable version.");
    expect(weightNote("paused", "x")).toBe("Held at this weight while paused.");
    expect(weightNote("running", "x")).toBeNull();
  });
});

describe("allowedControls", () => {
  it("offers Pause (not Resume) while running, and Resume (not Pause) while paused", () => {
    expect(allowedControls("running")).toEqual(["pause", "promote", "promote-full", "rollback", "abort"]);
    expect(allowedControls("paused")).toEqual(["resume", "promote", "promote-full", "rollback", "abort"]);
  });

  it("offers nothing once the rollout finished", () => {
    for (const s of ["succeeded", "rolled_back", "aborted"]) {
      expect(allowedControls(s)).toEqual([]);
      expect(isFinishedRollout(s)).toBe(true);
    }
    expect(isFinishedRollout("running")).toBe(false);
  });

  it("names the buttons as the API actions people know, and only Promote to 100% sends full", () => {
    expect(Object.values(CONTROLS).map((c) => c.label)).toEqual(["Pause", "Resume", "Promote", "Promote to 100%", "Roll back", "Abort"]);
    expect(CONTROLS["promote-full"]).toMatchObject({ action: "promote", full: true });
    expect(CONTROLS.promote).toMatchObject({ action: "promote", full: false });
    expect(CONTROLS.rollback.action).toBe("rollback");
    expect(CONTROLS.rollback.destructive).toBe(true);
    expect(CONTROLS.rollback.question("checkout")).toBe("Roll back the rollout of checkout?");
  });
});

describe("parseStep / describeStep", () => {
  it("describes each kind of step", () => {
    expect(describeStep(parseStep({ setWeight: 25 }))).toBe("Set the canary weight to 25%");
    expect(describeStep(parseStep({ pause: 0 }))).toBe("Pause until resumed or promoted");
    expect(describeStep(parseStep({ pause: "2m" }))).toBe("Pause for 2m");
    expect(describeStep(parseStep({ pause: 30 }))).toBe("Pause for 30s");
  });

  it("fills in the API's analysis defaults", () => {
    expect(describeStep(parseStep({ analysis: {} }))).toBe("Analysis: error_rate < 0.05 (3 × 10s, edge)");
    expect(
      describeStep(parseStep({ analysis: { metric: "latency_p95_ms", successCondition: "<= 250", interval: 30, count: 5, provider: "edge" } })),
    ).toBe("Analysis: latency_p95_ms <= 250 (5 × 30s, edge)");
    expect(
      describeStep(parseStep({ analysis: { metric: "promql", provider: "prometheus", query: "up", successCondition: "> 0.99" } })),
    ).toBe("Analysis: up > 0.99 (3 × 10s, prometheus)");
  });
});

describe("parseStepsJson", () => {
  it("accepts the default steps as shown in the editor", () => {
    expect(DEFAULT_STEPS_JSON.split("\n")).toHaveLength(DEFAULT_STEPS.length + 2);
    expect(parseStepsJson(DEFAULT_STEPS_JSON)).toEqual({ ok: true, steps: DEFAULT_STEPS });
  });

  it("explains invalid JSON, non-arrays and empty lists", () => {
    const bad = parseStepsJson("[{setWeight: 10}]");
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/^Not valid JSON/);
    expect(parseStepsJson('{"setWeight": 10}')).toEqual({ ok: false, error: 'Write a JSON array of steps, e.g. [{"setWeight": 10}].' });
    expect(parseStepsJson("[]")).toEqual({ ok: false, error: "Give at least one step." });
  });

  it("names the step that is not exactly one kind, or whose weight is out of range", () => {
    expect(parseStepsJson('[{"setWeight": 10}, {"setWeight": 20, "pause": 5}]')).toEqual({
      ok: false,
      error: "Step 2 must be exactly one of setWeight, pause or analysis.",
    });
    expect(parseStepsJson('[{"setWeight": 120}]')).toEqual({ ok: false, error: "Step 1: setWeight is a whole number from 0 to 100." });
    expect(parseStepsJson('[{"setWeight": 12.5}]').ok).toBe(false);
    expect(parseStepsJson('[{"weight": 10}]')).toEqual({
      ok: false,
      error: "Step 1: unknown key “weight” (use setWeight, pause or analysis).",
    });
    expect(parseStepsJson('[{"analysis": 3}]').ok).toBe(false);
    expect(parseStepsJson('[{"pause": -1}]').ok).toBe(false);
  });

  it("accepts pauses in seconds or as durations", () => {
    expect(parseStepsJson('[{"pause": 0}, {"pause": "2m"}, {"setWeight": 100}]')).toEqual({
      ok: true,
      steps: [{ pause: 0 }, { pause: "2m" }, { setWeight: 100 }],
    });
  });

  it("refuses more than 50 steps", () => {
    const many = JSON.stringify(Array.from({ length: 51 }, () => ({ setWeight: 1 })));
    expect(parseStepsJson(many)).toEqual({ ok: false, error: "At most 50 steps (this has 51)." });
  });
});

describe("patchRollout", () => {
  const event = (over: Partial<RolloutEventPayload> = {}): RolloutEventPayload => ({
    id: "r1",
    service: "checkout",
    env: "prod",
    status: "running",
    stepIndex: 0,
    steps: 4,
    weight: 0,
    message: "",
    runId: "run1",
    ...over,
  });

  it("applies status, step, weight and message, and records the weight change", () => {
    const next = patchRollout(rollout(), event({ stepIndex: 2, weight: 25, message: "step 3: weight 25%" }), "2025-06-01T10:01:00Z");
    expect(next).toMatchObject({ status: "running", stepIndex: 2, weight: 25, message: "step 3: weight 25%" });
    expect(next.weights).toEqual([
      { at: "2025-06-01T10:00:00Z", weight: 0 },
      { at: "2025-06-01T10:01:00Z", weight: 25 },
    ]);
  });

  it("does not add a weight point when the weight is unchanged", () => {
    const r = rollout({ weight: 10 });
    expect(patchRollout(r, event({ weight: 10, status: "paused" }), "2025-06-01T10:02:00Z").weights).toBe(r.weights);
  });

  it("keeps the message when the event has none", () => {
    const r = rollout({ message: "step 2: pause 1m" });
    expect(patchRollout(r, event({ status: "paused" }), "x").message).toBe("step 2: pause 1m");
  });

  it("appends the carried history entry and measurement once", () => {
    const h = { at: "2025-06-01T10:03:00Z", action: "pause", by: "ada", reason: "look", weight: 10, step: 1, via: "api" };
    const a = { at: "2025-06-01T10:03:10Z", step: 1, metric: "error_rate", value: 0.5, condition: "< 0.05", outcome: "failed" as const };
    const once = patchRollout(rollout(), event({ history: h, analysis: a }), "x");
    const twice = patchRollout(once, event({ history: h, analysis: a }), "x");
    expect(twice.history).toEqual([h]);
    expect(twice.analyses).toEqual([a]);
  });

  it("leaves other rollouts alone", () => {
    const r = rollout();
    expect(patchRollout(r, event({ id: "other", status: "aborted" }), "x")).toBe(r);
  });
});

describe("helpers", () => {
  it("finds the policy decision a refusal names", () => {
    expect(decisionBatchOf("Fix it. Decision log: GET /api/policies/decisions?batch=abc123")).toBe("abc123");
    expect(decisionBatchOf(undefined, "Refused: denied by policy: unsigned (decision b-42).")).toBe("b-42");
    expect(decisionBatchOf("nothing here")).toBeNull();
  });

  it("formats measured values to 4 significant digits", () => {
    expect(formatValue(0.123456)).toBe("0.1235");
    expect(formatValue(250)).toBe("250");
    expect(formatValue(null)).toBe("—");
  });

  it("checks upstream URLs the way the API does", () => {
    expect(isHttpUrl("http://10.0.0.5:8080")).toBe(true);
    expect(isHttpUrl("https://canary.internal/app")).toBe(true);
    expect(isHttpUrl("ftp://x")).toBe(false);
    expect(isHttpUrl("10.0.0.5:8080")).toBe(false);
    expect(upstreamError("", "canary URL")).toBe("Give the canary URL, e.g. http://10.0.0.5:8080.");
    expect(upstreamError(" http://ok:1 ", "canary URL")).toBeUndefined();
  });

  it("keeps only the rows of the chosen environment", () => {
    const rows = [{ env: "dev", n: 1 }, { env: "prod", n: 2 }];
    expect(inEnv(rows, "prod")).toEqual([{ env: "prod", n: 2 }]);
    expect(inEnv(rows, null)).toEqual(rows);
  });
});
