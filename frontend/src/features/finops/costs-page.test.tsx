import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import { adminSession, mockApi, renderWithProviders, type MockRoute } from "@/test/utils";
import { CostsPage } from "./costs-page";
import { explorerAnswer } from "./fixtures";

const RANGE = { from: "2026-11-01T00:00:00Z", to: "2026-11-30T13:00:00Z" };

const routes: MockRoute[] = [
  { path: "/api/costs", body: explorerAnswer() },
  {
    path: "/api/costs/top",
    body: {
      ...RANGE,
      dimension: "pipeline",
      totalUsd: 42.25,
      previousTotalUsd: 20,
      drivers: [{ value: "build", usd: 30, tokens: 0, share: 0.71, previousUsd: 20, changeUsd: 10, changeRatio: 0.5 }],
    },
  },
  {
    path: "/api/costs/anomalies",
    body: {
      ...RANGE,
      groupBy: ["pipeline"],
      items: [
        {
          key: { pipeline: "build" },
          ts: "2026-11-02T05:00:00Z",
          value: 25,
          expected: 1,
          score: 9.2,
          direction: "spike",
          drivers: [{ dimension: "model", value: "gpt-big", usd: 24, expected: 0.5, excess: 23.5, share: 0.96 }],
        },
      ],
    },
  },
  {
    path: "/api/costs/forecast",
    body: {
      ...RANGE,
      now: "2026-11-30T13:00:00Z",
      method: "none",
      enoughHistory: false,
      reason: "not enough history",
      spent: 42.25,
      projectedTotal: 42.25,
      burnPerHour: 0,
      capUsd: null,
      capHitAt: null,
      actual: [],
      forecast: [],
    },
  },
  { path: "/api/costs/per-artifact", body: { ...RANGE, items: [{ pipeline: "build", usd: 30, runs: 3, artifacts: 6, usdPerArtifact: 5 }] } },
];

function renderPage(route = "/finops/costs") {
  return renderWithProviders(
    <Routes>
      <Route path="/finops/costs" element={<CostsPage />} />
    </Routes>,
    { route, session: adminSession },
  );
}

describe("CostsPage", () => {
  it("shows the total, groups, top drivers, anomalies with drivers, forecast and $ per artifact", async () => {
    mockApi(routes);
    renderPage();
    expect(await screen.findByTestId("costs-total")).toHaveTextContent("Total $42.25");
    const groups = screen.getByRole("table", { name: "Spend per group in the range" });
    expect(within(groups).getByText("pipeline build").closest("tr")).toHaveTextContent("$30.00");
    expect(within(groups).getByText("pipeline (none)").closest("tr")).toHaveTextContent("$12.25");
    const top = await screen.findByRole("table", { name: "Top cost drivers by pipeline" });
    expect(within(top).getByText("build").closest("tr")).toHaveTextContent("71.0%");
    expect(within(top).getByText("build").closest("tr")).toHaveTextContent("+$10.00 (+50%)");
    const anomalies = screen.getByRole("table", { name: "Hours whose spend departs from the usual, with their drivers" });
    expect(await within(anomalies).findByText("spike")).toBeInTheDocument();
    expect(anomalies).toHaveTextContent("gpt-big: +$23.50 (96%)");
    expect(await screen.findByTestId("forecast-summary")).toHaveTextContent("no forecast: not enough history");
    const artifacts = screen.getByRole("table", { name: "Run-step spend per artifact, per pipeline" });
    expect(await within(artifacts).findByText("$5.00")).toBeInTheDocument();
  });

  it("carries group-by and filters to the queries and the export links", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi(routes);
    renderPage("/finops/costs?range=7d");
    await screen.findByTestId("costs-total");
    await user.click(screen.getByRole("checkbox", { name: "env" }));
    await user.type(screen.getByLabelText("Pipeline"), "build");
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    const csv = screen.getByRole("link", { name: "Export CSV" });
    await vi.waitFor(() => expect(csv.getAttribute("href")).toContain("pipeline=build"));
    const href = new URL(csv.getAttribute("href")!, "http://maestro.test");
    expect(href.pathname).toBe("/api/costs/export");
    expect(href.searchParams.get("format")).toBe("csv");
    expect(href.searchParams.get("from")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00:00\.000Z$/);
    expect(screen.getByRole("link", { name: "Export Parquet" }).getAttribute("href")).toContain("format=parquet");
    await vi.waitFor(() => {
      const last = calls.filter((c) => new URL(c.url).pathname === "/api/costs").at(-1)!;
      const q = new URL(last.url).searchParams;
      expect(q.get("group_by")).toBe("pipeline,env");
      expect(q.get("pipeline")).toBe("build");
    });
  });

  it("shows an error with the API's detail when the spend cannot be read", async () => {
    mockApi([{ path: "/api/costs", status: 422, body: { title: "Unprocessable", status: 422, detail: "query.from: the range is longer than 400 days" } }]);
    renderPage();
    expect(await screen.findByText("Could not load the spend")).toBeInTheDocument();
    expect(screen.getByText(/longer than 400 days/)).toBeInTheDocument();
  });
});
