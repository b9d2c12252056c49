import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useLocation } from "react-router";
import type { RunDetail, StepPublic } from "@/client/types.gen";
import { makeStep } from "@/test/fixtures";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { RunDetailPage } from "./run-detail-page";

const step = (key: string, status: StepPublic["status"], exitCode: number | null, message = "") =>
  makeStep(key, {
    status,
    attempt: 2,
    exitCode,
    startedAt: "2025-06-01T10:00:00Z",
    finishedAt: "2025-06-01T10:01:00Z",
    durationMs: 60_000,
    logLines: 40,
    message,
  });

const FAILED = {
  id: "r1",
  pipelineId: "p1",
  pipelineName: "web",
  version: 3,
  number: 12,
  workflowId: "run-web-12",
  status: "failed",
  env: "dev",
  ref: "",
  branch: "",
  commit: "",
  inputs: {},
  labels: {},
  owner: "admin",
  traceId: "",
  costUsd: 0,
  stepsTotal: 2,
  stepsDone: 2,
  rerunOf: null,
  error: "step build failed: exit code 3; step lint failed: exit code 1",
  paused: false,
  isolation: "sandbox",
  createdAt: "2025-06-01T10:00:00Z",
  startedAt: "2025-06-01T10:00:00Z",
  finishedAt: "2025-06-01T10:01:00Z",
  durationMs: 60_000,
  outputs: {},
  steps: [step("build", "failed", 3, "exit code 3"), step("lint", "failed", 1, "exit code 1")],
  artifacts: [],
  attestations: [],
  temporalUiUrl: null,
  failure: {
    step: "build",
    stepName: "Build the wheel",
    attempt: 2,
    execution: 1,
    exitCode: 3,
    message: "exit code 3",
    stderrTail: [
      { n: 38, line: "Traceback (most recent call last):" },
      { n: 39, line: "\u001b[31mValueError\u001b[0m: bad version" },
    ],
    alsoFailed: ["lint"],
  },
} as unknown as RunDetail;

function Where() {
  const l = useLocation();
  return <output data-testid="where">{`${l.pathname}${l.search}${l.hash}`}</output>;
}

function renderRun(run: RunDetail) {
  mockApi([{ path: `/api/runs/${run.id}`, body: run }]);
  return renderWithProviders(
    <>
      <Routes>
        <Route path="/runs/:runId" element={<RunDetailPage />} />
      </Routes>
      <Where />
    </>,
    { route: `/runs/${run.id}?env=dev`, session: adminSession },
  );
}

describe("the failed run's header", () => {
  it("names the failing step, its exit code and its last stderr lines, each linked into the log", async () => {
    const user = userEvent.setup();
    renderRun(FAILED);
    const failure = await screen.findByRole("region", { name: /Failed at step/ });
    expect(within(failure).getByRole("heading")).toHaveTextContent("Failed at step Build the wheel (build) · exit code 3 (attempt 2)");
    expect(screen.queryByText(/step build failed: exit code 3; step lint/)).not.toBeInTheDocument(); // the summary replaces the bare error
    const tail = within(failure).getByRole("list", { name: "Last stderr lines of build" });
    const rows = within(tail).getAllByRole("listitem");
    expect(rows.map((r) => r.textContent)).toEqual(["38errTraceback (most recent call last):", "39errValueError: bad version"]);
    expect(within(failure).getByText("Last 2 stderr lines of build")).toBeInTheDocument();
    expect(within(failure).getByRole("link", { name: "lint" })).toHaveAttribute("href", "/runs/r1?tab=logs&step=lint&env=dev");

    await user.click(within(failure).getByRole("link", { name: "Line 39 of build in the log" }));
    expect(screen.getByTestId("where")).toHaveTextContent("/runs/r1?tab=logs&step=build&env=dev#Lbuild-39@2");
    expect(within(failure).getByRole("link", { name: "Open the log of build" })).toHaveAttribute(
      "href",
      "/runs/r1?tab=logs&step=build&env=dev",
    );
  });

  it("says why when the step left no exit code, and when it wrote no stderr", async () => {
    renderRun({
      ...FAILED,
      failure: { ...FAILED.failure!, exitCode: null, attempt: 1, message: "timed out after 30s; process group killed", stderrTail: [], alsoFailed: [] },
    });
    const failure = await screen.findByRole("region", { name: /Failed at step/ });
    expect(within(failure).getByRole("heading")).toHaveTextContent("Failed at step Build the wheel (build) · no exit code");
    expect(failure).toHaveTextContent("timed out after 30s; process group killed");
    expect(failure).toHaveTextContent("No stderr lines near the end of its log.");
    expect(failure).not.toHaveTextContent("Also failed");
  });

  it("shows the run's error when no step failed", async () => {
    renderRun({ ...FAILED, failure: null, error: "policy admission denied: unsigned base image" });
    expect(await screen.findByText("policy admission denied: unsigned base image")).toBeInTheDocument();
    expect(screen.queryByRole("region", { name: /Failed at step/ })).not.toBeInTheDocument();
  });
});
