import { act, screen } from "@testing-library/react";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { StatusRibbon } from "./status-ribbon";

class FakeEventSource {
  static instances: FakeEventSource[] = [];
  static readonly CLOSED = 2;
  readyState = 0;
  listeners = new Map<string, Set<(e: Event) => void>>();
  constructor(public url: string) {
    FakeEventSource.instances.push(this);
  }
  addEventListener(type: string, fn: (e: Event) => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  }
  removeEventListener(type: string, fn: (e: Event) => void) {
    this.listeners.get(type)?.delete(fn);
  }
  close() {
    this.readyState = 2;
  }
  emit(type: string, data?: unknown) {
    const event = data === undefined ? new Event(type) : new MessageEvent(type, { data: JSON.stringify(data) });
    for (const fn of this.listeners.get(type) ?? []) fn(event);
  }
}

const up = { status: "up", latencyMs: 2.4, error: null };

describe("StatusRibbon", () => {
  beforeEach(() => {
    FakeEventSource.instances = [];
    vi.stubGlobal("EventSource", FakeEventSource);
  });

  it("is green from /api/ready, then follows health_changed events from the system stream", async () => {
    mockApi([{ path: "/api/ready", body: { status: "ok", checks: { db: up, redis: up, temporal: up } } }]);
    const { queryClient } = renderWithProviders(<StatusRibbon />, { session: adminSession });
    expect(await screen.findByText("All systems operational")).toBeInTheDocument();

    const source = FakeEventSource.instances.at(-1)!;
    expect(source.url).toBe("/api/streams/system");
    act(() => source.emit("open"));
    expect(await screen.findByText(/Live/)).toBeInTheDocument();

    act(() =>
      source.emit("health_changed", {
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
});
