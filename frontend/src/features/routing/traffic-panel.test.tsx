import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { GatewayRequestRecord } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { TrafficPanel } from "./traffic-panel";

function rec(id: string, over: Partial<GatewayRequestRecord>): GatewayRequestRecord {
  return {
    id,
    ts: "2025-06-01T10:00:00Z",
    key: "k1",
    project: "",
    env: "prod",
    routeClass: "chat",
    provider: "prov-a",
    model: "sim-large",
    requested: "fast",
    status: 200,
    promptTokens: 2,
    completionTokens: 8,
    estimated: false,
    usd: 0.00013,
    upstreamMs: 20,
    addedMs: 0,
    attempts: 1,
    reason: "pinned (eval)",
    broken: false,
    traceId: "t",
    ...over,
  };
}

describe("TrafficPanel", () => {
  it("shows the request log's window per candidate: share, success, p50/p95, tokens and spend", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      {
        path: "/api/routing/requests",
        body: {
          items: [
            rec("5", { ts: "2025-06-01T10:00:40Z", provider: "prov-b", attempts: 2, reason: "pinned (eval)", upstreamMs: 30 }),
            rec("4", { ts: "2025-06-01T10:00:30Z", provider: "prov-b", upstreamMs: 10 }),
            rec("3", { ts: "2025-06-01T10:00:20Z", status: 502, upstreamMs: 5, completionTokens: 0, usd: 0 }),
            rec("2", { ts: "2025-06-01T10:00:10Z", upstreamMs: 40 }),
            rec("1", { ts: "2025-06-01T10:00:00Z", upstreamMs: 60 }),
          ],
        },
      },
    ]);
    renderWithProviders(<TrafficPanel cls="chat" stream="open" />, { session: adminSession });
    const table = await screen.findByRole("table", { name: "Traffic by candidate of chat, busiest first" });
    await within(table).findAllByTestId("traffic-requests");
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows[0]).toHaveTextContent("prov-a/sim-large");
    expect(within(rows[0]).getByTestId("traffic-requests")).toHaveTextContent("3");
    expect(within(rows[0]).getByTestId("traffic-success")).toHaveTextContent("66.7%");
    expect(rows[0]).toHaveTextContent("40 ms"); // p50 of 40 and 60
    expect(rows[0]).toHaveTextContent("60 ms"); // p95
    expect(rows[0]).toHaveTextContent("$0.00026");
    expect(within(rows[1]).getByTestId("traffic-success")).toHaveTextContent("100%");
    expect(screen.getByRole("meter", { name: "Share of the window's requests served by prov-b/sim-large" })).toHaveAttribute("aria-valuenow", "40");
    expect(screen.getByTestId("traffic-total")).toHaveTextContent("5");
    // 42 tokens over 40 s
    expect(screen.getByText("Tokens per second").nextSibling).toHaveTextContent("1.1");
    const recent = screen.getByRole("table", { name: "The newest requests of chat, newest first" });
    expect(within(recent).getAllByTestId("recent-candidate")[0]).toHaveTextContent("prov-b/sim-large");
    expect(within(recent).getAllByRole("row")[1]).toHaveTextContent("pinned (eval)");
    expect(calls[0].url).toBe("http://maestro.test/api/routing/requests?limit=200&class=chat");

    await user.selectOptions(screen.getByLabelText("Window"), "Last 500 requests");
    expect(calls.some((c) => c.url === "http://maestro.test/api/routing/requests?limit=500&class=chat")).toBe(true);
  });

  it("says how traffic starts when the log is empty", async () => {
    mockApi([{ path: "/api/routing/requests", body: { items: [] } }]);
    renderWithProviders(<TrafficPanel stream="connecting" />, { session: adminSession });
    expect(await screen.findByText("No requests yet")).toBeInTheDocument();
    expect(screen.getByText(/Requests sent to the gateway's \/v1 endpoints with a gateway key appear here/)).toBeInTheDocument();
    expect(screen.getByText("Connecting…")).toBeInTheDocument();
  });
});
