import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { AuthMeResponse } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { CapturesPanel } from "./captures-panel";
import { routingClass } from "./fixtures";

const capturing = routingClass({ capture: { enabled: true, sampleRate: 0.25, redact: ["a", "b"], retentionDays: 14 } });

describe("CapturesPanel", () => {
  it("lists the class's captured requests, each opening to its redacted request and answer", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      {
        path: "/api/routing/captures",
        body: {
          items: [
            {
              id: "c1",
              ts: "2025-06-01T10:00:00Z",
              key: "k1",
              env: "prod",
              routeClass: "chat",
              provider: "prov-b",
              model: "sim-small",
              status: 200,
              endpoint: "/v1/chat/completions",
              reason: "best score",
              scores: "",
              request: '{"messages":[{"role":"user","content":"mail [REDACTED]"}]}',
              response: '{"choices":[]}',
              stream: false,
              traceId: "t",
            },
          ],
        },
      },
    ]);
    renderWithProviders(<CapturesPanel cls={capturing} />, { session: adminSession });
    expect(screen.getByText("Capturing 25.0% of requests, kept 14 days, redacted by 2 patterns.")).toBeInTheDocument();
    const list = await screen.findByRole("list", { name: "Captured requests of chat, newest first" });
    const item = within(list).getByTestId("capture");
    expect(item).toHaveTextContent("prov-b/sim-small · 200 · /v1/chat/completions");
    await user.click(within(item).getByText(/prov-b\/sim-small/));
    expect(item).toHaveTextContent('"content":"mail [REDACTED]"');
    expect(calls.some((c) => c.url.endsWith("/api/routing/captures?class=chat&limit=20"))).toBe(true);
  });

  it("says who can grant the permission instead of reading captures without it", () => {
    const { calls } = mockApi([]);
    const viewer: AuthMeResponse = { ...adminSession, permissions: ["routing:read"] };
    renderWithProviders(<CapturesPanel cls={routingClass()} />, { session: viewer });
    expect(screen.getByText("Capture is off for this class: switch it on in the policy sheet.")).toBeInTheDocument();
    expect(screen.getByTestId("captures-denied")).toHaveTextContent("needs the routing:read-captures permission");
    expect(screen.getByTestId("captures-denied")).toHaveTextContent("an administrator grants it with a role binding (Users & roles)");
    expect(calls).toHaveLength(0);
  });
});
