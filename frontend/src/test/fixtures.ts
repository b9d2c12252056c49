import type { StepPublic } from "@/client/types.gen";

/** A run's step as GET /api/runs/{id} returns it: a succeeded `run` step unless `over` says otherwise. */
export function makeStep(key: string, over: Partial<StepPublic> = {}): StepPublic {
  return {
    id: `s-${key}`,
    key,
    stepId: key,
    name: key,
    kind: "run",
    position: 0,
    needs: [],
    pool: "default",
    status: "succeeded",
    attempt: 1,
    exitCode: 0,
    outputs: {},
    attempts: [],
    reusedFrom: null,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    costUsd: 0,
    logLines: 0,
    message: "",
    decidedBy: null,
    decisionReason: null,
    ...over,
  };
}
