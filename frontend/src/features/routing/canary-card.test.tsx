import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import type { RolloutPublic, ServicePublic } from "@/client/types.gen";
import { DEFAULT_STEPS_JSON } from "@/features/rollouts/model";
import { adminSession, mockApi, renderWithProviders, type MockRoute } from "@/test/utils";
import { CanaryCard } from "./canary-card";
import { routingClass } from "./fixtures";

const gatewayService: ServicePublic = {
  id: "s1",
  name: "model-chat",
  env: "prod",
  stableUrl: "model://prov-a/sim-large",
  sticky: null,
  provider: "gateway",
  providerConfig: { routeClass: "chat" },
  canaryUrl: null,
  weight: 0,
  rolloutId: null,
  createdAt: "2025-05-01T10:00:00Z",
};

function rollout(over: Partial<RolloutPublic> = {}): RolloutPublic {
  return {
    id: "r1",
    service: "model-chat",
    env: "prod",
    runId: null,
    workflowId: "rollout-model-chat-r1",
    status: "succeeded",
    stepIndex: 3,
    weight: 100,
    stableUrl: "model://prov-a/sim-large",
    canaryUrl: "model://prov-b/sim-small",
    steps: [{ setWeight: 10 }],
    history: [],
    analyses: [],
    weights: [],
    message: "",
    snapshotSha256: "",
    createdBy: "ada",
    createdAt: "2025-06-01T10:00:00Z",
    updatedAt: "2025-06-01T10:00:00Z",
    finishedAt: null,
    ...over,
  } as RolloutPublic;
}

function renderCard(routes: MockRoute[]) {
  const api = mockApi(routes);
  renderWithProviders(
    <Routes>
      <Route path="/routing/classes/chat" element={<CanaryCard cls={routingClass()} />} />
      <Route path="/rollouts/:id" element={<p>Rollout page</p>} />
    </Routes>,
    { route: "/routing/classes/chat", session: adminSession },
  );
  return api;
}

describe("CanaryCard", () => {
  it("lists the class's gateway services and their rollouts, linked to the rollout page", async () => {
    const other: ServicePublic = { ...gatewayService, id: "s2", name: "web", provider: "edge", providerConfig: {} };
    const { calls } = renderCard([
      { path: "/api/services", body: { items: [gatewayService, other] } },
      { path: "/api/rollouts", body: { items: [rollout()] } },
    ]);
    const section = await screen.findByRole("region", { name: "Service model-chat in prod" });
    expect(section).toHaveTextContent("stable model://prov-a/sim-large");
    expect(screen.queryByRole("region", { name: /Service web/ })).not.toBeInTheDocument();
    const link = await within(section).findByRole("link", { name: "model://prov-b/sim-small" });
    expect(link).toHaveAttribute("href", "/rollouts/r1");
    expect(within(section).getByTestId("canary-rollout")).toHaveTextContent("succeeded");
    expect(calls.some((c) => c.url.endsWith("/api/rollouts?service=model-chat&limit=5"))).toBe(true);
  });

  it("registers a gateway service for the class when there is none, then starts the canary and opens it", async () => {
    const user = userEvent.setup();
    const { calls } = renderCard([
      { path: "/api/services", body: { items: [] } },
      { method: "POST", path: "/api/services", status: 201, body: gatewayService },
      { method: "POST", path: "/api/rollouts", status: 201, body: rollout({ status: "running", id: "r9" }) },
    ]);
    expect(await screen.findByText("No service routes this class yet: starting a canary registers one.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Start model canary…" }));
    const dialog = await screen.findByRole("dialog", { name: "Start a model canary for chat" });
    expect(within(dialog).getByLabelText("Service")).toHaveValue("");
    expect(within(dialog).getByLabelText("Stable candidate")).toHaveValue("prov-a/sim-large");
    expect(within(dialog).getByLabelText("Canary candidate")).toHaveValue("prov-b/sim-small");
    await user.click(within(dialog).getByRole("button", { name: "Start canary" }));
    expect(dialog).toHaveTextContent("Give a reason of at least 3 characters.");
    expect(calls.some((c) => c.method === "POST")).toBe(false);
    await user.type(within(dialog).getByLabelText(/Reason/), "try the small model");
    await user.click(within(dialog).getByRole("button", { name: "Start canary" }));
    expect(await screen.findByText("Rollout page")).toBeInTheDocument();
    const posts = calls.filter((c) => c.method === "POST");
    expect(posts.map((c) => new URL(c.url).pathname)).toEqual(["/api/services", "/api/rollouts"]);
    expect(await posts[0].json()).toEqual({
      name: "model-chat",
      env: "prod",
      stableUrl: "model://prov-a/sim-large",
      provider: "gateway",
      providerConfig: { routeClass: "chat" },
    });
    expect(await posts[1].json()).toEqual({
      service: "model-chat",
      canaryUrl: "model://prov-b/sim-small",
      steps: JSON.parse(DEFAULT_STEPS_JSON),
      reason: "try the small model",
    });
  });

  it("shows the API's refusal of the rollout on its field", async () => {
    const user = userEvent.setup();
    renderCard([
      { path: "/api/services", body: { items: [gatewayService] } },
      { path: "/api/rollouts", body: { items: [] } },
      {
        method: "POST",
        path: "/api/rollouts",
        status: 409,
        body: { title: "Conflict", status: 409, detail: "model-chat already has a rollout running.", errors: [{ field: "service", message: "a rollout is running" }] },
      },
    ]);
    await user.click(await screen.findByRole("button", { name: "Start model canary…" }));
    const dialog = await screen.findByRole("dialog", { name: "Start a model canary for chat" });
    expect(within(dialog).getByLabelText("Service")).toHaveValue("model-chat");
    await user.type(within(dialog).getByLabelText(/Reason/), "try the small model");
    await user.click(within(dialog).getByRole("button", { name: "Start canary" }));
    await waitFor(() => expect(dialog).toHaveTextContent("a rollout is running"));
  });
});
