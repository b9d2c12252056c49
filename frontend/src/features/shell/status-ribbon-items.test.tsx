import { screen, within } from "@testing-library/react";
import { FakeEventSource } from "@/test/event-source";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { StatusRibbon } from "./status-ribbon";

const up = { status: "up", latencyMs: 2.4, error: null };
const alert = (id: string, severity: string) => ({
  id,
  fingerprint: `x:${id}`,
  name: "RunFailureSpike",
  severity,
  state: "firing",
  labels: {},
  annotations: {},
  startsAt: "2025-06-01T10:00:00Z",
  endsAt: null,
  updatedAt: "2025-06-01T10:00:00Z",
  fireCount: 1,
  ackedBy: null,
  ackedAt: null,
  assignee: null,
  notifyStatus: "sent",
});
const slo = (name: string, errorBudgetRemaining: number | null) => ({ id: name, name, errorBudgetRemaining, burnAlerts: [], burnRates: {} });
const rollout = (id: string, status: string, createdAt: string, weight: number) => ({
  id,
  service: `svc-${id}`,
  env: "prod",
  status,
  weight,
  createdAt,
  updatedAt: createdAt,
});

function ribbonApi({ alerts = [] as unknown[], slos = [] as unknown[], running = [] as unknown[], paused = [] as unknown[] } = {}) {
  const { fetchMock } = mockApi([]);
  fetchMock.mockImplementation(async (input: Request) => {
    const url = new URL(input.url);
    const body =
      url.pathname === "/api/alerts"
        ? { items: alerts, nextCursor: null }
        : url.pathname === "/api/slo"
          ? { items: slos }
          : url.pathname === "/api/rollouts"
            ? { items: url.searchParams.get("status") === "paused" ? paused : running }
            : { status: "ok", checks: { db: up, redis: up, temporal: up } };
    return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
  });
}

describe("StatusRibbon items", () => {
  beforeEach(() => {
    FakeEventSource.reset();
    vi.stubGlobal("EventSource", FakeEventSource);
  });

  it("is not green while alerts fire and an SLO's budget is overspent, though every dependency is up", async () => {
    ribbonApi({
      alerts: [alert("a1", "ticket"), alert("a2", "page")],
      slos: [slo("API available", 0.9), slo("Runs succeed", -10.96)],
    });
    renderWithProviders(<StatusRibbon />, { session: adminSession });
    const firing = await screen.findByRole("link", { name: /2 firing alerts/ });
    const budget = await screen.findByRole("link", { name: /Lowest error budget: overspent by 1096% \(Runs succeed\)/ });
    const readiness = screen.getByRole("link", { name: /All dependencies up/ });

    // each item has its own colour, and says why
    expect(readiness).toHaveAttribute("data-level", "green");
    expect(firing).toHaveAttribute("data-level", "red");
    expect(budget).toHaveAttribute("data-level", "red");
    // the ribbon takes the worst of them
    expect(document.querySelector("[data-level]")).toHaveAttribute("data-level", "red");
    // each links to its page
    expect(readiness).toHaveAttribute("href", "/");
    expect(firing).toHaveAttribute("href", "/observability/alerts?state=firing");
    expect(budget).toHaveAttribute("href", "/observability");
  });

  it("is amber for alerts that do not page and a low budget; green only when all three are", async () => {
    ribbonApi({ alerts: [alert("a1", "ticket")], slos: [slo("Runs succeed", 0.1)] });
    renderWithProviders(<StatusRibbon />, { session: adminSession });
    expect(await screen.findByRole("link", { name: /1 firing alert/ })).toHaveAttribute("data-level", "amber");
    expect(await screen.findByRole("link", { name: /Lowest error budget/ })).toHaveAttribute("data-level", "amber");
    expect(document.querySelector("[data-level]")).toHaveAttribute("data-level", "amber");
  });

  it("is green when nothing fires and the budgets are fine", async () => {
    ribbonApi({ alerts: [], slos: [slo("Runs succeed", 0.8)] });
    renderWithProviders(<StatusRibbon />, { session: adminSession });
    expect(await screen.findByRole("link", { name: /No firing alerts/ })).toHaveAttribute("data-level", "green");
    expect(await screen.findByRole("link", { name: /80% left/ })).toHaveAttribute("data-level", "green");
    expect(document.querySelector("[data-level]")).toHaveAttribute("data-level", "green");
  });

  it("shows the newest active rollout as the current release, linking to it", async () => {
    ribbonApi({
      running: [rollout("r1", "running", "2025-06-01T10:00:00Z", 20)],
      paused: [rollout("r2", "paused", "2025-06-02T10:00:00Z", 50)],
    });
    renderWithProviders(<StatusRibbon />, { session: adminSession });
    const release = await screen.findByTestId("ribbon-release");
    expect(within(release).getByText("Releasing svc-r2 → prod · canary 50% (paused)")).toBeInTheDocument();
    expect(release).toHaveAttribute("href", "/rollouts/r2");
  });
});
