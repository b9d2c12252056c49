import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Insights } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { InsightsPage } from "./insights-page";

const EMPTY: Insights = {
  since: "2025-06-01T10:00:00Z",
  flakyTests: [],
  flakyPipelines: [],
  slowestSteps: [],
  noisyAlerts: [],
  topCostCenters: [],
};

const FULL: Insights = {
  since: "2025-05-02T10:00:00Z",
  flakyTests: [{ pipeline: "web", test: "tests.test_api::test_login", commits: 3 }],
  flakyPipelines: [{ pipeline: "web", commits: 2 }],
  slowestSteps: [{ pipeline: "web", step: "e2e", p95Ms: 125_000, samples: 40 }],
  noisyAlerts: [{ fingerprint: "fp-9", name: "SloBurnRate", fires: 12, firesPerDay: 0.4 }],
  topCostCenters: [
    { dimension: "pipeline", value: "web", costUsd: 1234.5 },
    { dimension: "label:team", value: "payments", costUsd: 0.0042 },
  ],
};

describe("InsightsPage", () => {
  it("explains how each kind of data arrives when there is none yet", async () => {
    mockApi([{ path: "/api/insights", body: EMPTY }]);
    renderWithProviders(<InsightsPage />, { route: "/observability/insights", session: adminSession });
    expect(await screen.findByText("No flaky tests")).toBeInTheDocument();
    expect(screen.getByText(/upload JUnit XML reports as artifacts/)).toBeInTheDocument();
    for (const t of ["No flaky pipelines", "No step timings yet", "No alerts in this window", "No cost recorded"]) {
      expect(screen.getByText(t)).toBeInTheDocument();
    }
    expect(screen.getAllByRole("heading", { level: 2 }).map((h) => h.textContent)).toEqual([
      "Flaky tests",
      "Flaky pipelines",
      "Slowest steps",
      "Noisy alerts",
      "Top cost centers",
    ]);
  });

  it("shows each table and re-asks for the window picked, keeping it in the URL", async () => {
    const { calls } = mockApi([{ path: "/api/insights", body: FULL }]);
    renderWithProviders(<InsightsPage />, { route: "/observability/insights?days=30&env=dev", session: adminSession });
    const slow = await screen.findByRole("table", { name: "Slowest steps" });
    expect(within(slow).getByRole("cell", { name: "2 m 5 s" })).toBeInTheDocument();
    expect(within(slow).getByRole("cell", { name: "40" })).toBeInTheDocument();
    expect(within(slow).getByRole("link", { name: "web" })).toHaveAttribute("href", "/runs?pipeline=web&env=dev");

    const cost = screen.getByRole("table", { name: "Top cost centers" });
    expect(within(cost).getByRole("cell", { name: "$1,234.50" })).toBeInTheDocument();
    expect(within(cost).getByRole("cell", { name: "$0.0042" })).toBeInTheDocument();
    expect(within(cost).getByRole("link", { name: "payments" })).toHaveAttribute("href", "/runs?label=team%3Dpayments&env=dev");

    const noisy = screen.getByRole("table", { name: "Noisy alerts" });
    expect(within(noisy).getByRole("cell", { name: "12" })).toBeInTheDocument();
    expect(within(noisy).getByRole("cell", { name: "0.4" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Open the alerts list" })).toHaveAttribute("href", "/observability/alerts?env=dev");

    const select = screen.getByRole("combobox", { name: "Look back" });
    expect(select).toHaveValue("30");
    expect(new URL(calls[0].url).searchParams.get("days")).toBe("30");
    await userEvent.selectOptions(select, "90");
    await waitFor(() => expect(calls.some((c) => new URL(c.url).searchParams.get("days") === "90")).toBe(true));
    expect(select).toHaveValue("90");
  });

  it("offers a retry when the insights cannot be loaded", async () => {
    mockApi([{ path: "/api/insights", status: 403, body: { title: "Forbidden", status: 403, detail: "Missing runs:read." } }]);
    renderWithProviders(<InsightsPage />, { route: "/observability/insights", session: adminSession });
    expect(await screen.findByText("Could not load the insights")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});
