import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import type { AuthMeResponse } from "@/client/types.gen";
import { FakeEventSource } from "@/test/event-source";
import { adminSession, mockApi, renderWithProviders, type MockRoute } from "@/test/utils";
import { ClassDetailPage } from "./class-detail-page";
import { candidatesView, routingClass } from "./fixtures";

const viewer: AuthMeResponse = { ...adminSession, permissions: ["routing:read"] };

function renderDetail(routes: MockRoute[], session: AuthMeResponse = adminSession) {
  // the first route that matches answers: the test's own before the defaults
  const api = mockApi([
    ...routes,
    { path: "/api/routing/classes/chat", body: routingClass() },
    { path: "/api/routing/candidates", body: candidatesView() },
    { path: "/api/routing/requests", body: { items: [] } },
    { path: "/api/services", body: { items: [] } },
    { path: "/api/routing/captures", body: { items: [] } },
  ]);
  renderWithProviders(
    <Routes>
      <Route path="/routing/classes/:name" element={<ClassDetailPage />} />
    </Routes>,
    { route: "/routing/classes/chat", session },
  );
  return api;
}

describe("ClassDetailPage", () => {
  beforeEach(() => {
    FakeEventSource.reset();
    vi.stubGlobal("EventSource", FakeEventSource);
  });

  it("shows each candidate's score breakdown, the winner and why, and what takes one out", async () => {
    const { calls } = renderDetail([], viewer);
    const table = await screen.findByRole("table", { name: "Candidates of chat, in the order requests try them" });
    const rows = within(table).getAllByTestId("routing-candidate");
    // in the ranking's order: the winner first
    expect(rows.map((r) => r.getAttribute("data-candidate"))).toEqual(["prov-b/sim-small", "prov-a/sim-large"]);
    expect(rows[0]).toHaveAttribute("data-winner", "true");
    expect(rows[0]).toHaveTextContent("Winner");
    expect(rows[0]).toHaveTextContent("Downgrade path");
    expect(screen.getByTestId("routing-winner")).toHaveTextContent("prov-b/sim-small");
    expect(screen.getAllByTestId("routing-why")[0]).toHaveTextContent(
      "Why: best score 0.950, ahead of prov-a/sim-large (0.700) mostly on cost",
    );
    expect(screen.getByRole("meter", { name: "Cost score of prov-a/sim-large" })).toHaveAttribute("aria-valuetext", "0.04");
    expect(screen.getByRole("meter", { name: "Reliability score of prov-a/sim-large" })).toHaveAttribute("aria-valuenow", "0.9");
    expect(screen.getByRole("meter", { name: "Total score of prov-b/sim-small" })).toHaveAttribute("aria-valuetext", "0.95");
    expect(rows[1]).toHaveTextContent("Cooling 12 s");
    expect(rows[1]).toHaveTextContent("latency 42 ms");
    expect(rows[1]).toHaveTextContent("errors 10.0% · 30 req, 3 failed");
    // polled for the class, and read-only for a viewer
    expect(calls.some((c) => c.url.endsWith("/api/routing/candidates?class=chat"))).toBe(true);
    expect(screen.queryByRole("button", { name: "Pin…" })).not.toBeInTheDocument();
    expect(screen.getByTestId("downgrade-switch")).toBeDisabled();
  });

  it("says why there are no scores when no gateway has reported the class", async () => {
    renderDetail([
      {
        path: "/api/routing/candidates",
        body: candidatesView({ replicas: 0, winner: null, ranking: [], candidates: [], why: "No gateway replica has reported this class yet: is `maestro gateway` running?" }),
      },
    ]);
    expect(await screen.findByText("No live scores yet")).toBeInTheDocument();
    expect(screen.getByTestId("routing-why")).toHaveTextContent("is `maestro gateway` running?");
  });

  it("pins the class to a candidate for a while, with a reason", async () => {
    const user = userEvent.setup();
    const { calls } = renderDetail([
      {
        method: "POST",
        path: "/api/routing/pin",
        status: 201,
        body: { routeClass: "chat", provider: "prov-a", model: "sim-large", expiresAt: null, reason: "eval", createdBy: "admin", createdAt: "2025-06-01T10:00:00Z" },
      },
    ]);
    await user.click(await screen.findByRole("button", { name: "Pin…" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Pin chat to a candidate" });
    await user.selectOptions(within(dialog).getByLabelText("Candidate"), "prov-a/sim-large");
    await user.selectOptions(within(dialog).getByLabelText("For how long"), "15 minutes");
    await user.click(within(dialog).getByRole("button", { name: "Pin" }));
    expect(dialog).toHaveTextContent("Give a reason of at least 3 characters.");
    expect(calls.some((c) => c.method === "POST")).toBe(false);

    await user.type(within(dialog).getByLabelText(/Reason/), "evaluating the large model");
    await user.click(within(dialog).getByRole("button", { name: "Pin" }));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
    const post = calls.find((c) => c.method === "POST")!;
    expect(await post.json()).toEqual({ class: "chat", provider: "prov-a", model: "sim-large", ttl: 900, reason: "evaluating the large model" });
  });

  it("unpins a pinned class", async () => {
    const user = userEvent.setup();
    const pinned = routingClass({
      pin: { routeClass: "chat", provider: "prov-a", model: "sim-large", expiresAt: null, reason: "eval", createdBy: "ada", createdAt: "2025-06-01T10:00:00Z" },
    });
    const { calls } = renderDetail([
      { path: "/api/routing/classes/chat", body: pinned },
      { method: "DELETE", path: "/api/routing/pin/chat", status: 204 },
    ]);
    expect(await screen.findByTestId("class-pin")).toHaveTextContent("Pinned to prov-a/sim-large until unpinned");
    expect(screen.getByTestId("class-pin")).toHaveTextContent("“eval” — ada");
    await user.click(screen.getByRole("button", { name: "Unpin" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Unpin chat?" });
    await user.click(within(dialog).getByRole("button", { name: "Unpin" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE" && c.url.endsWith("/api/routing/pin/chat"))).toBe(true));
  });

  it("switches the downgrade on after a confirmation with a reason", async () => {
    const user = userEvent.setup();
    const { calls } = renderDetail([
      { method: "POST", path: "/api/routing/classes/chat/downgrade", body: routingClass({ downgraded: true, downgradeReason: "budget 80%" }) },
    ]);
    const sw = await screen.findByRole("switch", { name: "Downgrade to prov-b/sim-small" });
    expect(sw).toHaveAttribute("aria-checked", "false");
    await user.click(sw);
    const dialog = await screen.findByRole("alertdialog", { name: "Downgrade chat?" });
    expect(dialog).toHaveTextContent("Requests of chat go to prov-b/sim-small");
    await user.type(within(dialog).getByLabelText(/Reason/), "budget 80%");
    await user.click(within(dialog).getByRole("button", { name: "Downgrade" }));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
    const post = calls.find((c) => c.method === "POST")!;
    expect(await post.json()).toEqual({ downgraded: true, reason: "budget 80%" });
  });

  it("shows failovers from the stream in the traffic feed as they happen", async () => {
    renderDetail([]);
    await screen.findByRole("table", { name: "Candidates of chat, in the order requests try them" });
    const es = FakeEventSource.at("/api/streams/routing")!;
    es.emit("open");
    es.send({
      type: "routing_failover",
      ts: "2025-06-01T10:00:01Z",
      id: "",
      entity: "routing_class",
      payload: { routeClass: "chat", provider: "prov-a", model: "sim-large", status: 503, message: "overloaded", to: "prov-b/sim-small", attempt: 1 },
    });
    es.send({
      type: "routing_failover",
      ts: "2025-06-01T10:00:02Z",
      id: "",
      entity: "routing_class",
      payload: { routeClass: "other", provider: "x", model: "y", status: 500, to: "z/w", attempt: 1 },
    });
    const feed = await screen.findByRole("log", { name: "Routing events, newest first" });
    await waitFor(() => expect(within(feed).getAllByTestId("routing-event")).toHaveLength(1));
    expect(feed).toHaveTextContent("Failover from prov-a/sim-large to prov-b/sim-small");
    expect(feed).toHaveTextContent("class chat: answered 503: overloaded (attempt 1)");
    expect(screen.getAllByText("Live").length).toBeGreaterThan(0);
  });
});
