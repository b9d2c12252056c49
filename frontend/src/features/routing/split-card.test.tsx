import { screen, within } from "@testing-library/react";
import type { GatewayRequestRecord } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { routingClass } from "./fixtures";
import { SplitCard } from "./split-card";

function rec(id: string, provider: string, model: string): GatewayRequestRecord {
  return {
    id,
    ts: "2025-06-01T10:00:00Z",
    key: "k1",
    project: "",
    env: "prod",
    routeClass: "chat",
    provider,
    model,
    requested: "fast",
    status: 200,
    promptTokens: 2,
    completionTokens: 8,
    estimated: false,
    usd: 0.0001,
    upstreamMs: 20,
    addedMs: 0,
    attempts: 1,
    reason: "a/b",
    broken: false,
    traceId: "t",
  };
}

describe("SplitCard", () => {
  it("shows each candidate's target share next to its share of the newest requests", async () => {
    const { calls } = mockApi([
      {
        path: "/api/routing/requests",
        body: {
          items: [rec("1", "prov-a", "sim-large"), rec("2", "prov-a", "sim-large"), rec("3", "prov-a", "sim-large"), rec("4", "prov-b", "sim-small")],
        },
      },
    ]);
    const cls = routingClass({
      sticky: "x-user-id",
      candidates: [
        { provider: "prov-a", model: "sim-large", price: { input: 3, output: 15 }, weight: 80 },
        { provider: "prov-b", model: "sim-small", price: { input: 0.15, output: 0.6 }, weight: 20 },
      ],
    });
    renderWithProviders(<SplitCard cls={cls} />, { session: adminSession });
    const table = await screen.findByRole("table", { name: "A/B split of chat: target and live share per candidate" });
    expect(await within(table).findByText("75.0%")).toBeInTheDocument();
    const rows = within(table).getAllByTestId("split-row");
    expect(rows[0]).toHaveTextContent("prov-a/sim-large80%75.0%");
    expect(rows[1]).toHaveTextContent("prov-b/sim-small20%25.0%");
    expect(screen.getByText(/the x-user-id header keeps a user on one side/)).toBeInTheDocument();
    expect(calls.some((c) => c.url.endsWith("/api/routing/requests?limit=200&class=chat"))).toBe(true);
  });

  it("shows nothing for a class without a split", () => {
    mockApi([]);
    const { container } = renderWithProviders(<SplitCard cls={routingClass()} />, { session: adminSession });
    expect(container).toBeEmptyDOMElement();
  });
});
