import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import type { AuthMeResponse, ServicePublic } from "@/client/types.gen";
import { Toaster } from "@/components/toaster";
import { FakeEventSource } from "@/test/event-source";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import type { Rollout } from "./model";
import { rolloutQueryOptions } from "./queries";
import { RolloutDetailPage } from "./rollout-detail-page";

const viewer: AuthMeResponse = { ...adminSession, permissions: ["rollouts:read", "runs:read"] };

function rollout(over: Partial<Rollout> = {}): Rollout {
  return {
    id: "r1",
    service: "checkout",
    env: "prod",
    runId: "run1",
    workflowId: "rollout-checkout-r1",
    status: "running",
    stepIndex: 2,
    weight: 30,
    stableUrl: "http://stable:8080",
    canaryUrl: "http://canary:8080",
    steps: [
      { setWeight: 30 },
      { analysis: { metric: "error_rate", provider: "edge", successCondition: "< 0.05", interval: 10, count: 3 } },
      { setWeight: 60 },
      { setWeight: 100 },
    ],
    history: [
      { at: "2025-06-01T10:01:00Z", action: "pause", by: "ada", reason: "checking dashboards", weight: 30, step: 1, via: "api" },
      { at: "2025-06-01T10:02:00Z", action: "resume", by: "release-bot", reason: "", weight: 30, step: 1, via: "temporal" },
    ],
    analyses: [
      {
        at: "2025-06-01T10:00:30Z",
        step: 1,
        measurement: 1,
        metric: "error_rate",
        provider: "edge",
        value: 0.5,
        requests: 40,
        condition: "< 0.05",
        outcome: "failed",
        detail: "20 errors in 40 canary requests (50.0%)",
      },
    ],
    weights: [
      { at: "2025-06-01T10:00:00Z", weight: 0 },
      { at: "2025-06-01T10:00:05Z", weight: 30 },
    ],
    message: "step 3: weight 60%",
    snapshotSha256: "",
    createdBy: "ada",
    createdAt: "2025-06-01T10:00:00Z",
    updatedAt: "2025-06-01T10:01:00Z",
    finishedAt: null,
    ...over,
  };
}

const checkoutService: ServicePublic = {
  id: "s1",
  name: "checkout",
  env: "prod",
  stableUrl: "http://stable:8080",
  sticky: null,
  provider: "haproxy",
  providerConfig: { backend: "checkout" },
  canaryUrl: "http://canary:8080",
  weight: 30,
  rolloutId: "r1",
  createdAt: "2025-05-01T10:00:00Z",
};

function renderDetail(session: AuthMeResponse = adminSession) {
  return renderWithProviders(
    <>
      <Routes>
        <Route path="/rollouts/:rolloutId" element={<RolloutDetailPage />} />
      </Routes>
      <Toaster />
    </>,
    { route: "/rollouts/r1", session },
  );
}

describe("RolloutDetailPage", () => {
  beforeEach(() => {
    FakeEventSource.reset();
    vi.stubGlobal("EventSource", FakeEventSource);
  });

  it("shows the weight, status, steps, chart, analyses and history of the rollout", async () => {
    mockApi([{ path: "/api/rollouts/r1", body: rollout() }]);
    renderDetail();

    expect(await screen.findByRole("heading", { level: 1, name: "Rollout of checkout" })).toBeInTheDocument();
    expect(screen.getByTestId("rollout-weight")).toHaveTextContent(/^30$/);
    expect(screen.getByTestId("rollout-status")).toHaveTextContent(/^running$/);
    expect(screen.getByTestId("rollout-message")).toHaveTextContent("step 3: weight 60%");
    expect(screen.getByRole("meter", { name: "Canary weight of checkout" })).toHaveAttribute("aria-valuenow", "30");

    const steps = screen.getAllByTestId("rollout-step");
    expect(steps.map((s) => s.getAttribute("data-state"))).toEqual(["done", "done", "current", "pending"]);
    expect(steps[2]).toHaveAttribute("aria-current", "step");
    expect(steps[2]).toHaveTextContent("Set the canary weight to 60%");
    expect(steps[1]).toHaveTextContent("Analysis: error_rate < 0.05 (3 × 10s, edge)");

    const chart = screen.getByRole("img", { name: /Canary weight over time, 2 changes: 0% at .*, 30% at .*\. Latest: 30%\./ });
    expect(chart.querySelector("[data-testid=weight-line]")?.getAttribute("d")).toMatch(/^M44 172 H\d+(\.\d+)? V/);
    expect(screen.getByRole("table", { name: "Canary weight of checkout over time" })).toHaveTextContent("30%");

    const analyses = screen.getByRole("table", { name: "Analysis runs of the rollout of checkout" });
    expect(analyses).toHaveTextContent("0.5");
    expect(analyses).toHaveTextContent("failed");
    expect(analyses).toHaveTextContent("20 errors in 40 canary requests (50.0%)");
    const history = screen.getByRole("table", { name: "Actions on the rollout of checkout" });
    expect(history).toHaveTextContent("checking dashboards");
    expect(history).toHaveTextContent("ada");
    const rows = within(history).getAllByRole("row");
    expect(rows[1]).not.toHaveTextContent("via Temporal");
    expect(rows[2]).toHaveTextContent("release-bot via Temporal");

    expect(screen.getByRole("link", { name: "The promoted run" })).toHaveAttribute("href", "/runs/run1");
  });

  it("offers the controls the status allows, confirms with a reason and sends the action", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/rollouts/r1", body: rollout() },
      {
        method: "POST",
        path: "/api/rollouts/r1/actions",
        body: { action: "promote", status: "running", weight: 100, stepIndex: 2, rollout: rollout({ weight: 100 }) },
      },
    ]);
    renderDetail();
    const group = await screen.findByRole("group", { name: "Rollout actions" });
    expect(within(group).getAllByRole("button").map((b) => b.textContent)).toEqual([
      "Pause",
      "Promote",
      "Promote to 100%",
      "Roll back",
      "Abort",
    ]);

    await user.click(within(group).getByRole("button", { name: "Promote to 100%" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Promote the rollout of checkout to 100%?" });
    await user.type(within(dialog).getByLabelText(/Reason/), "dashboards are green");
    await user.click(within(dialog).getByRole("button", { name: "Promote to 100%" }));

    await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
    const post = calls.find((r) => r.method === "POST");
    expect(new URL(post!.url).pathname).toBe("/api/rollouts/r1/actions");
    expect(await post!.json()).toEqual({ action: "promote", reason: "dashboards are green", full: true });
  });

  it("keeps the dialog open with the API's reason when the workflow refuses (409)", async () => {
    const user = userEvent.setup();
    mockApi([
      { path: "/api/rollouts/r1", body: rollout() },
      {
        method: "POST",
        path: "/api/rollouts/r1/actions",
        status: 409,
        body: {
          type: "about:blank",
          title: "Conflict",
          status: 409,
          detail: "Refused: analysis is failing: error_rate = 0.5 (needs < 0.05).",
          remediation: "Reload the rollout to see its current state.",
        },
      },
    ]);
    renderDetail();
    await user.click(await screen.findByRole("button", { name: "Promote" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Promote the rollout of checkout to its next step?" });
    await user.type(within(dialog).getByLabelText(/Reason/), "go on");
    await user.click(within(dialog).getByRole("button", { name: "Promote" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("Refused: analysis is failing: error_rate = 0.5 (needs < 0.05).");
    expect(screen.getByRole("alertdialog")).toBeInTheDocument();
  });

  it("offers Resume instead of Pause while paused, and nothing once finished or without rollouts:promote", async () => {
    const api = mockApi([{ path: "/api/rollouts/r1", body: rollout({ status: "paused" }) }]);
    const first = renderDetail();
    const group = await screen.findByRole("group", { name: "Rollout actions" });
    expect(within(group).getByRole("button", { name: "Resume" })).toBeInTheDocument();
    expect(within(group).queryByRole("button", { name: "Pause" })).not.toBeInTheDocument();
    expect(screen.getAllByTestId("rollout-step")[2]).toHaveTextContent("current (paused)");
    first.unmount();

    api.fetchMock.mockImplementation(
      async () =>
        new Response(
          JSON.stringify(rollout({ status: "rolled_back", weight: 0, finishedAt: "2025-06-01T10:02:00Z", snapshotSha256: "ab".repeat(32) })),
          { status: 200, headers: { "Content-Type": "application/json" } },
        ),
    );
    const second = renderDetail();
    expect(await screen.findByTestId("rollout-status")).toHaveTextContent(/^rolled back$/);
    expect(screen.queryByRole("group", { name: "Rollout actions" })).not.toBeInTheDocument();
    expect(screen.getAllByTestId("rollout-step").map((s) => s.getAttribute("data-state"))).toEqual(["done", "done", "stopped", "skipped"]);
    expect(screen.getByTestId("rollout-snapshot")).toHaveTextContent("ab".repeat(32));
    second.unmount();

    api.fetchMock.mockImplementation(
      async () => new Response(JSON.stringify(rollout()), { status: 200, headers: { "Content-Type": "application/json" } }),
    );
    renderDetail(viewer);
    expect(await screen.findByTestId("rollout-weight")).toHaveTextContent("30");
    expect(screen.queryByRole("group", { name: "Rollout actions" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Pause" })).not.toBeInTheDocument();
  });

  it("follows rollout events for this rollout from the rollouts stream", async () => {
    const route = { path: "/api/rollouts/r1", body: rollout() as unknown };
    const { calls } = mockApi([route]);
    const { queryClient } = renderDetail();
    expect(await screen.findByTestId("rollout-weight")).toHaveTextContent("30");
    const source = FakeEventSource.at("/api/streams/rollouts")!;
    expect(source).toBeDefined();
    act(() => source.emit("open"));

    const next = rollout({ stepIndex: 3, weight: 60, message: "step 3: weight 60%" });
    route.body = next;
    act(() =>
      source.send({
        ts: "2025-06-01T10:02:00Z",
        type: "rollout_step",
        id: "r1",
        entity: "rollout",
        payload: { id: "r1", service: "checkout", env: "prod", status: "running", stepIndex: 3, steps: 4, weight: 60, message: "step 3: weight 60%", runId: "run1", history: null, analysis: null },
      }),
    );
    // Patched from the event at once (the cache, then the page) …
    expect(queryClient.getQueryData<Rollout>(rolloutQueryOptions("r1").queryKey)).toMatchObject({ weight: 60, stepIndex: 3 });
    await waitFor(() => expect(screen.getByTestId("rollout-weight")).toHaveTextContent(/^60$/));
    expect(screen.getAllByTestId("rollout-step")[3]).toHaveAttribute("aria-current", "step");
    // … then refetched.
    await waitFor(() => expect(calls.filter((c) => new URL(c.url).pathname === "/api/rollouts/r1")).toHaveLength(2));

    route.body = rollout({ status: "rolled_back", stepIndex: 3, weight: 0, message: "rollback by analysis", finishedAt: "2025-06-01T10:03:00Z" });
    act(() =>
      source.send({
        ts: "2025-06-01T10:03:00Z",
        type: "rollout_rolled_back",
        id: "r1",
        entity: "rollout",
        payload: { id: "r1", service: "checkout", env: "prod", status: "rolled_back", stepIndex: 3, steps: 4, weight: 0, message: "rollback by analysis", runId: "run1" },
      }),
    );
    await waitFor(() => expect(screen.getByTestId("rollout-status")).toHaveTextContent(/^rolled back$/));
    expect(screen.queryByRole("group", { name: "Rollout actions" })).not.toBeInTheDocument();
  });
  it("names the service's traffic provider", async () => {
    mockApi([
      { path: "/api/rollouts/r1", body: rollout() },
      { path: "/api/services", body: { items: [{ ...checkoutService, env: "dev", provider: "edge" }, checkoutService] } },
    ]);
    renderDetail();
    const traffic = await screen.findByRole("region", { name: "Traffic" });
    // the service of the rollout's environment (prod), not its namesake in dev
    // under its "Traffic provider" label the badge is just the name (not "traffic provider" twice)
    await waitFor(() => expect(within(traffic).getByTestId("service-provider")).toHaveTextContent(/^haproxy$/));
    expect(within(traffic).getByTestId("service-provider")).not.toHaveAttribute("title");
    expect(within(traffic).getByText("Traffic provider").nextElementSibling).toHaveTextContent(/^haproxy$/);
    expect(traffic).toHaveTextContent("its traffic provider (haproxy) sends to the canary");
  });

  it("shows a rollback in progress as rolling back, without controls", async () => {
    const message = "stuck rolling back: weight 0 could not be applied (1 tries): haproxy: connection refused";
    mockApi([{ path: "/api/rollouts/r1", body: rollout({ status: "rolling_back", message }) }]);
    renderDetail();
    const badge = await screen.findByTestId("rollout-status");
    expect(badge).toHaveTextContent(/^rolling back$/);
    expect(badge).toHaveAttribute("data-status", "rolling_back");
    expect(screen.getByRole("heading", { level: 1, name: "Rollout of checkout" })).toBeInTheDocument();
    // said at the top, with the rollout's own message, that Maestro retries, and where to read on
    const banner = screen.getByRole("region", { name: "This rollout is rolling back" });
    expect(within(banner).getByTestId("rollout-message")).toHaveTextContent(message);
    expect(banner).toHaveTextContent("retrying until it answers");
    expect(within(banner).getByRole("link", { name: "rollout stuck runbook" })).toHaveAttribute("href", "/runbooks/rollout-stuck");
    expect(screen.getAllByText(message)).toHaveLength(1);
    expect(screen.getByText(/all traffic is being sent to the stable version/)).toBeInTheDocument();
    expect(screen.getAllByTestId("rollout-step").map((s) => s.getAttribute("data-state"))).toEqual(["done", "done", "stopped", "skipped"]);
    expect(screen.queryByRole("group", { name: "Rollout actions" })).not.toBeInTheDocument();
  });

  it("says in the promote toast where the rollout goes, not the weight it had", async () => {
    const user = userEvent.setup();
    // Paused on step 2 (a pause) at 30%; promote ends that step. The API answers before the workflow
    // applies step 3, so the answer still says 30%.
    const before = rollout({ status: "paused", stepIndex: 1, weight: 30 });
    mockApi([
      { path: "/api/rollouts/r1", body: before },
      {
        method: "POST",
        path: "/api/rollouts/r1/actions",
        body: { action: "promote", status: "running", weight: 30, stepIndex: 1, rollout: { ...before, status: "running" } },
      },
    ]);
    renderDetail();
    await user.click(await screen.findByRole("button", { name: "Promote" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Promote the rollout of checkout to its next step?" });
    await user.type(within(dialog).getByLabelText(/Reason/), "dashboards are green");
    await user.click(within(dialog).getByRole("button", { name: "Promote" }));

    expect(await screen.findByText("Rollout promoted to the next step")).toBeInTheDocument();
    expect(screen.getByText("checkout: step 2 of 4 ended; now step 3 of 4: Set the canary weight to 60%.")).toBeInTheDocument();
    expect(screen.queryByText(/canary at 30%/)).not.toBeInTheDocument();
  });

  it("says in the promote-to-100% toast that the canary goes to 100%", async () => {
    const user = userEvent.setup();
    // (its own service: toasts of earlier tests may still be up, and the first test promotes to 100% too)
    const payments = rollout({ service: "payments" });
    mockApi([
      { path: "/api/rollouts/r1", body: payments },
      {
        method: "POST",
        path: "/api/rollouts/r1/actions",
        body: { action: "promote", status: "running", weight: 30, stepIndex: 2, rollout: payments },
      },
    ]);
    renderDetail();
    await user.click(await screen.findByRole("button", { name: "Promote to 100%" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Promote the rollout of payments to 100%?" });
    await user.type(within(dialog).getByLabelText(/Reason/), "ship it now");
    await user.click(within(dialog).getByRole("button", { name: "Promote to 100%" }));
    expect(await screen.findByText("payments: the canary goes to 100% and then becomes the stable version.")).toBeInTheDocument();
    expect(screen.queryByText(/canary at 30%/)).not.toBeInTheDocument();
  });

  it("says in the pause toast the state the rollout is now in", async () => {
    const user = userEvent.setup();
    mockApi([
      { path: "/api/rollouts/r1", body: rollout() },
      {
        method: "POST",
        path: "/api/rollouts/r1/actions",
        body: { action: "pause", status: "paused", weight: 30, stepIndex: 2, rollout: rollout({ status: "paused" }) },
      },
    ]);
    renderDetail();
    await user.click(await screen.findByRole("button", { name: "Pause" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Pause the rollout of checkout?" });
    await user.type(within(dialog).getByLabelText(/Reason/), "checking the dashboards");
    await user.click(within(dialog).getByRole("button", { name: "Pause" }));
    expect(await screen.findByText("checkout: paused, canary at 30%.")).toBeInTheDocument();
  });

  it("says what Resume does while paused: a pause step ends, an analysis measures again", async () => {
    const user = userEvent.setup();
    mockApi([{ path: "/api/rollouts/r1", body: rollout({ status: "paused" }) }]);
    renderDetail();
    const steps = await screen.findByRole("region", { name: "Steps" });
    expect(steps).toHaveTextContent("Resume: the rollout goes on from where it stopped (a pause step ends, an analysis measures again). Promote skips the current step.");
    expect(steps).not.toHaveTextContent("continues with the current step");
    await user.click(screen.getByRole("button", { name: "Resume" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Resume the rollout of checkout?" });
    expect(dialog).toHaveTextContent("a pause-until-resumed step ends and the next one starts, a step paused by a person continues, an inconclusive analysis measures again");
  });

  it("says the evidence snapshot is kept when the rollout ends, not only on rollback", async () => {
    mockApi([{ path: "/api/rollouts/r1", body: rollout() }]);
    renderDetail();
    const traffic = await screen.findByRole("region", { name: "Traffic" });
    expect(traffic).toHaveTextContent("kept when the rollout ends");
    expect(traffic).not.toHaveTextContent(/rolled back/);
    expect(screen.queryByTestId("rollout-snapshot")).not.toBeInTheDocument();
  });

  it("labels the old stable URL once promoted, and keeps a long snapshot hash on one line with a copy button", async () => {
    const hash = "109d12201859385651caa7e4796ebd9e5b7774edc1c3d244caa37460f9df18fc";
    mockApi([
      {
        path: "/api/rollouts/r1",
        body: rollout({ status: "succeeded", stepIndex: 4, weight: 0, snapshotSha256: hash, finishedAt: "2025-06-01T10:05:00Z" }),
      },
    ]);
    renderDetail();
    const traffic = await screen.findByRole("region", { name: "Traffic" });
    expect(within(traffic).getByText("Previous stable URL").nextElementSibling).toHaveTextContent("http://stable:8080");
    expect(within(traffic).queryByText("Stable URL")).not.toBeInTheDocument();
    expect(within(traffic).getByText("Canary URL (now stable)").nextElementSibling).toHaveTextContent("http://canary:8080");
    const snapshot = within(traffic).getByTestId("rollout-snapshot");
    expect(snapshot).toHaveTextContent(hash);
    expect(snapshot).toHaveClass("truncate");
    expect(snapshot).not.toHaveClass("break-all");
    expect(snapshot).toHaveAttribute("title", hash);
    expect(within(traffic).getByRole("button", { name: "Copy the snapshot SHA-256" })).toBeInTheDocument();
  });

  it("says why there are no measurements: no analysis step, or none taken before the end", async () => {
    const api = mockApi([
      { path: "/api/rollouts/r1", body: rollout({ status: "succeeded", steps: [{ setWeight: 50 }, { pause: 0 }], analyses: [] }) },
    ]);
    const first = renderDetail();
    const region = await screen.findByRole("region", { name: "Analysis runs" });
    expect(region).toHaveTextContent("This rollout has no analysis step.");
    expect(region).not.toHaveTextContent("No measurement yet");
    first.unmount();

    api.fetchMock.mockImplementation(
      async () =>
        new Response(JSON.stringify(rollout({ status: "aborted", analyses: [], finishedAt: "2025-06-01T10:02:00Z" })), {
          status: 200,
          headers: { "Content-Type": "application/json" },
        }),
    );
    const second = renderDetail();
    expect(await screen.findByRole("region", { name: "Analysis runs" })).toHaveTextContent("No measurement was taken.");
    second.unmount();

    api.fetchMock.mockImplementation(
      async () => new Response(JSON.stringify(rollout({ analyses: [] })), { status: 200, headers: { "Content-Type": "application/json" } }),
    );
    renderDetail();
    expect(await screen.findByRole("region", { name: "Analysis runs" })).toHaveTextContent("No measurement yet.");
  });

  it("words the history's actions as what happened, like the status (rolled back, not rollback)", async () => {
    mockApi([
      {
        path: "/api/rollouts/r1",
        body: rollout({
          status: "rolled_back",
          finishedAt: "2025-06-01T10:03:00Z",
          history: [
            { at: "2025-06-01T10:01:00Z", action: "promote-full", by: "ada", reason: "go", weight: 30, step: 1, via: "api" },
            { at: "2025-06-01T10:02:00Z", action: "rollback", by: "ada", reason: "errors", weight: 30, step: 2, via: "api" },
          ],
        }),
      },
    ]);
    renderDetail();
    const history = await screen.findByRole("table", { name: "Actions on the rollout of checkout" });
    const rows = within(history).getAllByRole("row");
    expect(within(rows[1]).getAllByRole("cell")[1]).toHaveTextContent(/^promoted to 100%$/);
    expect(within(rows[2]).getAllByRole("cell")[1]).toHaveTextContent(/^rolled back$/);
  });
});
