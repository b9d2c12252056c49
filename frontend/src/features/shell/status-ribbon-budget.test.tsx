import { screen } from "@testing-library/react";
import { FakeEventSource } from "@/test/event-source";
import { budget } from "@/features/finops/fixtures";
import { budgetsQueryOptions } from "@/features/finops/queries";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { StatusRibbon } from "./status-ribbon";

const up = { status: "up", latencyMs: 2.4, error: null };

function ribbon(budgets: unknown[], route: string) {
  mockApi([
    { path: "/api/ready", body: { status: "ok", checks: { db: up, redis: up, temporal: up } } },
    { path: "/api/alerts", body: { items: [], nextCursor: null } },
    { path: "/api/slo", body: { items: [] } },
    { path: "/api/rollouts", body: { items: [] } },
    { path: "/api/budgets", body: { items: budgets } },
  ]);
  return renderWithProviders(<StatusRibbon />, { route, session: adminSession });
}

describe("StatusRibbon frozen budget", () => {
  beforeEach(() => {
    FakeEventSource.reset();
    vi.stubGlobal("EventSource", FakeEventSource);
  });

  it("shows a frozen budget of the current environment, linking to it", async () => {
    ribbon(
      [
        budget({ id: "b-dev", name: "dev-cap", frozen: true, scope: { env: "dev" } }),
        budget({ id: "b-prod", name: "prod-cap", frozen: true, frozenReason: "cap reached", scope: { env: "prod" } }),
        budget({ id: "b-open", name: "open", scope: { env: "prod" } }),
      ],
      "/?env=prod",
    );
    const item = await screen.findByTestId("ribbon-frozen-budget");
    expect(item).toHaveTextContent("Budget prod-cap frozen");
    expect(item).not.toHaveTextContent("more");
    expect(item).toHaveAttribute("href", "/finops/budgets/b-prod?env=prod");
    expect(item).toHaveAttribute("data-level", "red");
  });

  it("shows nothing when no budget in scope of the environment is frozen", async () => {
    const { queryClient } = ribbon(
      [budget({ id: "b-dev", name: "dev-cap", frozen: true, scope: { env: "dev" } }), budget({ id: "b-all", name: "all" })],
      "/?env=prod",
    );
    // the ribbon has read the budgets (and rendered what it read)
    await vi.waitFor(() => expect(queryClient.getQueryState(budgetsQueryOptions().queryKey)?.status).toBe("success"));
    expect(await screen.findByText("All dependencies up")).toBeInTheDocument();
    expect(screen.queryByTestId("ribbon-frozen-budget")).not.toBeInTheDocument();
  });

  it("points to the budgets list when several are frozen", async () => {
    ribbon(
      [budget({ id: "b-1", name: "tenant-cap", frozen: true, scope: {} }), budget({ id: "b-2", name: "prod-cap", frozen: true, scope: { env: "prod" } })],
      "/?env=prod",
    );
    const item = await screen.findByTestId("ribbon-frozen-budget");
    expect(item).toHaveTextContent("Budget tenant-cap frozen (+1 more)");
    expect(item).toHaveAttribute("href", "/finops?env=prod");
  });
});
