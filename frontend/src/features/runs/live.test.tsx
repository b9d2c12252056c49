import { act } from "@testing-library/react";
import { runsGetOptions } from "@/client/@tanstack/react-query.gen";
import type { RunEvent, StepEvent } from "@/client/types.gen";
import { FakeEventSource } from "@/test/event-source";
import { makeStep } from "@/test/fixtures";
import { adminSession, renderWithProviders } from "@/test/utils";
import { useRunsLiveUpdates } from "./live";
import type { RunDetail } from "./queries";

function LiveRuns() {
  useRunsLiveUpdates();
  return null;
}

const step = makeStep("build", { status: "pending", attempt: 0, exitCode: null });

const run = { id: "r1", status: "running", paused: false, stepsDone: 0, stepsTotal: 1, costUsd: 0, steps: [step] } as unknown as RunDetail;

const base = { id: "r1", entity: "run", traceId: "", tenant: "t1", env: "dev" };

function setup() {
  FakeEventSource.reset();
  vi.stubGlobal("EventSource", FakeEventSource);
  const { queryClient } = renderWithProviders(<LiveRuns />, { session: adminSession });
  const key = runsGetOptions({ path: { run_id: "r1" } }).queryKey;
  queryClient.setQueryData(key, run);
  const source = FakeEventSource.at("/api/streams/runs")!;
  expect(source).toBeDefined();
  act(() => source.emit("open"));
  return { source, detail: () => queryClient.getQueryData<RunDetail>(key)! };
}

describe("useRunsLiveUpdates", () => {
  it("writes a step event into the cached run with the runner's start time, not the browser's", () => {
    const { source, detail } = setup();
    const started: StepEvent = {
      ...base,
      ts: "2025-06-01T10:00:01Z",
      type: "step_started",
      payload: {
        runId: "r1",
        key: "build",
        name: "build",
        status: "running",
        attempt: 1,
        exitCode: null,
        durationMs: null,
        message: "",
        startedAt: "2025-06-01T10:00:00.500Z",
        finishedAt: null,
      },
    };
    act(() => source.send(started));
    expect(detail().steps[0]).toMatchObject({ status: "running", attempt: 1, startedAt: "2025-06-01T10:00:00.500Z" });
  });

  it("writes run events into the cached run, with a failed run's reason", () => {
    const { source, detail } = setup();
    const completed: RunEvent = {
      ...base,
      ts: "2025-06-01T10:00:09Z",
      type: "run_completed",
      payload: {
        runId: "r1",
        workflowId: "run-r1",
        pipeline: "web",
        number: 4,
        env: "dev",
        status: "failed",
        paused: false,
        stepsDone: 1,
        stepsTotal: 1,
        costUsd: 0.01,
        durationMs: 9000,
        error: "step build failed: exit code 2",
      },
    };
    act(() => source.send(completed));
    expect(detail()).toMatchObject({ status: "failed", stepsDone: 1, durationMs: 9000, error: "step build failed: exit code 2" });
  });

  it("ignores another run's events", () => {
    const { source, detail } = setup();
    act(() =>
      source.send({
        ...base,
        id: "r2",
        ts: "2025-06-01T10:00:09Z",
        type: "run_progress",
        payload: {
          runId: "r2",
          workflowId: "run-r2",
          pipeline: "web",
          number: 5,
          env: "dev",
          status: "succeeded",
          paused: false,
          stepsDone: 1,
          stepsTotal: 1,
          costUsd: 0,
          durationMs: 1,
        },
      }),
    );
    expect(detail()).toBe(run);
  });
});
