import { screen, within } from "@testing-library/react";
import { mockApi, renderWithProviders } from "@/test/utils";
import type { RunDetail } from "./queries";
import { RunObservability } from "./run-observability";
import { makeStep } from "@/test/fixtures";

const T0 = Date.parse("2025-06-01T10:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

const step = makeStep;

const run = {
  id: "r1",
  status: "succeeded",
  startedAt: at(0),
  finishedAt: at(10_000),
  durationMs: 10_000,
  costUsd: 0.05,
  steps: [
    step("build", { startedAt: at(0), finishedAt: at(4000), durationMs: 4000, costUsd: 0.02, logLines: 1200, pool: "linux" }),
    step("lint", { startedAt: at(0), finishedAt: at(2000), durationMs: 2000, costUsd: 0.01, logLines: 3 }),
    step("test", {
      needs: ["build"],
      startedAt: at(4000),
      finishedAt: at(9000),
      durationMs: 5000,
      attempt: 2,
      attempts: [
        { attempt: 1, status: "failed", durationMs: 1000 },
        { attempt: 2, status: "succeeded", durationMs: 5000 },
      ],
      costUsd: 0.02,
      logLines: 40,
    }),
  ],
} as unknown as RunDetail;

describe("RunObservability", () => {
  it("shows the step metrics next to the trace", async () => {
    mockApi([{ path: "/api/runs/r1/trace", body: { traceId: "abc", spans: [] } }]);
    renderWithProviders(<RunObservability run={run} now={T0 + 60_000} />);
    expect(screen.getByRole("heading", { level: 2, name: "Step metrics" })).toBeInTheDocument();
    expect(screen.getByRole("heading", { level: 2, name: "Trace" })).toBeInTheDocument();
    expect(screen.getByTestId("metric-wall")).toHaveTextContent("10 s");
    expect(screen.getByTestId("metric-step-time")).toHaveTextContent("11 s");
    expect(screen.getByTestId("metric-parallelism")).toHaveTextContent("×1.1");
    expect(screen.getByTestId("metric-critical-path")).toHaveTextContent("9.0 s");
    expect(screen.getByTestId("metric-retries")).toHaveTextContent("1");
    expect(screen.getByText(/1 step, 1.0 s spent on failed attempts/)).toBeInTheDocument();
    expect(screen.getByTestId("metric-cost")).toHaveTextContent("$0.05");

    const table = screen.getByRole("table", { name: /^Step metrics/ });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows.map((r) => within(r).getAllByRole("cell")[0].textContent)).toEqual(["buildcritical path", "lint", "testcritical path"]);
    const build = within(rows[0]).getAllByRole("cell");
    expect(build.map((c) => c.textContent)).toEqual(["buildcritical path", "4.0 s", "1", "linux", "succeeded", "$0.02", "1,200"]);
    const attempts = within(rows[2]).getAllByRole("cell")[2];
    expect(attempts).toHaveTextContent(/^2/);
    expect(attempts).toHaveTextContent("1.0 s retried");

    // The trace still renders below (here: its empty state).
    expect(await screen.findByText("No spans for this run")).toBeInTheDocument();
  });
});
