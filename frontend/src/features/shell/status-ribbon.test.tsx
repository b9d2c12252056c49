import { act, screen } from "@testing-library/react";
import { FakeEventSource } from "@/test/event-source";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { StatusRibbon } from "./status-ribbon";

const up = { status: "up" as const, latencyMs: 2.4, error: null };

describe("StatusRibbon", () => {
  beforeEach(() => {
    FakeEventSource.reset();
    vi.stubGlobal("EventSource", FakeEventSource);
  });

  it("is green from /api/ready, then follows health_changed events from the system stream", async () => {
    mockApi([{ path: "/api/ready", body: { status: "ok", checks: { db: up, redis: up, temporal: up } } }]);
    const { queryClient } = renderWithProviders(<StatusRibbon />, { session: adminSession });
    expect(await screen.findByText("All dependencies up")).toBeInTheDocument();

    const source = FakeEventSource.at("/api/streams/system")!;
    expect(source).toBeDefined();
    act(() => source.emit("open"));
    expect(await screen.findByText(/Live/)).toBeInTheDocument();

    act(() =>
      source.send({
        ts: "2025-06-01T10:00:00Z",
        type: "health_changed",
        id: "e1",
        entity: "system",
        payload: { status: "degraded", checks: { db: up, redis: { status: "down", latencyMs: 0, error: "refused" }, temporal: up } },
        traceId: "",
      }),
    );
    // The event went into the TanStack Query cache (no second store) …
    expect(queryClient.getQueryData([{ _id: "readyGet", baseUrl: "http://maestro.test" }])).toMatchObject({ status: "degraded" });
    // … and the ribbon re-rendered from it.
    expect(await screen.findByText("Degraded: redis down")).toBeInTheDocument();
    expect(document.querySelector("[data-health]")).toHaveAttribute("data-health", "amber");
  });

  it("is amber when nobody runs the control worker or a runner pool, though the API itself is ready", async () => {
    const queue = { kind: "worker", pool: "maestro-control", taskQueue: "maestro-control", pollers: 0, processes: 0 };
    mockApi([
      {
        path: "/api/ready",
        body: {
          status: "ok",
          checks: { db: up, redis: up, temporal: up },
          workers: [
            { ...queue, status: "down", message: "no control worker (maestro worker) is polling task queue maestro-control: start one" },
            { ...queue, kind: "runner", pool: "default", taskQueue: "maestro-runner-default", status: "up", pollers: 1 },
          ],
        },
      },
    ]);
    renderWithProviders(<StatusRibbon />, { session: adminSession });
    expect(await screen.findByText("Degraded: control worker down")).toBeInTheDocument();
    expect(document.querySelector("[data-health]")).toHaveAttribute("data-health", "amber");
  });

  it("treats a 503 readiness body as data (amber or red), not as a failure", async () => {
    mockApi([
      {
        path: "/api/ready",
        status: 503,
        body: { status: "degraded", checks: { db: { status: "down", latencyMs: 0, error: "locked" }, redis: up, temporal: up } },
      },
    ]);
    renderWithProviders(<StatusRibbon />, { session: adminSession });
    expect(await screen.findByText("Unavailable: db down")).toBeInTheDocument();
    expect(document.querySelector("[data-health]")).toHaveAttribute("data-health", "red");
  });

  it("counts firing alerts, follows the alerts stream and shows the lowest error budget", async () => {
    const alert = {
      id: "a1",
      fingerprint: "synthetic:x",
      name: "MaestroSyntheticCheck",
      severity: "info",
      state: "firing" as const,
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
    };
    const slo = (name: string, errorBudgetRemaining: number | null) => ({ name, errorBudgetRemaining, id: name, burnAlerts: [], burnRates: {} });
    const api = { alerts: { items: [alert], nextCursor: null } };
    const { fetchMock } = mockApi([]);
    fetchMock.mockImplementation(async (input: Request) => {
      const url = new URL(input.url);
      const body =
        url.pathname === "/api/alerts"
          ? api.alerts
          : url.pathname === "/api/slo"
            ? { items: [slo("API available", 0.9), slo("Runs succeed", -0.25), slo("New", null)] }
            : { status: "ok", checks: { db: up } };
      return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
    });
    renderWithProviders(<StatusRibbon />, { session: adminSession });
    expect(await screen.findByText("1 firing alert")).toBeInTheDocument();
    expect(await screen.findByText("Lowest error budget: overspent by 25% (Runs succeed)")).toBeInTheDocument();

    const source = FakeEventSource.at("/api/streams/alerts")!;
    act(() => source.emit("open"));
    api.alerts = { items: [alert, { ...alert, id: "a2" }], nextCursor: null };
    act(() => source.send({ ts: "2025-06-01T10:00:00Z", type: "alert_fired", id: "a2", entity: "alert", payload: { ...alert, id: "a2" } }));
    expect(await screen.findByText("2 firing alerts")).toBeInTheDocument();
  });
});
