import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useParams } from "react-router";
import type { AuthMeResponse, ProviderPublic, ServicePublic } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { DEFAULT_STEPS, DEFAULT_STEPS_JSON, type Rollout } from "./model";
import { RolloutsPage } from "./rollouts-page";

const viewer: AuthMeResponse = { ...adminSession, permissions: ["rollouts:read"] };

function rollout(over: Partial<Rollout> = {}): Rollout {
  return {
    id: "r1aaaaaaaaaaaaaa",
    service: "checkout",
    env: "prod",
    runId: null,
    workflowId: "rollout-checkout-r1",
    status: "running",
    stepIndex: 2,
    weight: 25,
    stableUrl: "http://stable:8080",
    canaryUrl: "http://canary:8080",
    steps: [{ setWeight: 10 }, { analysis: {} }, { setWeight: 25 }, { setWeight: 100 }],
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
  };
}

const checkout: ServicePublic = {
  id: "s1",
  name: "checkout",
  env: "prod",
  stableUrl: "http://stable:8080",
  sticky: "header:X-Canary",
  provider: "haproxy",
  providerConfig: { backend: "checkout" },
  canaryUrl: "http://canary:8080",
  weight: 25,
  rolloutId: "r1aaaaaaaaaaaaaa",
  createdAt: "2025-05-01T10:00:00Z",
};
const search: ServicePublic = {
  ...checkout,
  id: "s2",
  name: "search",
  env: "dev",
  sticky: null,
  provider: "edge",
  providerConfig: {},
  canaryUrl: null,
  weight: 0,
  rolloutId: null,
};

const GATEWAY: ProviderPublic = {
  name: "gateway-api",
  title: "Kubernetes Gateway API",
  description: "Weights the backendRefs of an HTTPRoute.",
  measuresTraffic: false,
  configSchema: { type: "object", properties: {} },
  docs: "docs/rollouts.md",
};
const HAPROXY: ProviderPublic = { ...GATEWAY, name: "haproxy", title: "HAProxy", measuresTraffic: true };
const web: ServicePublic = { ...search, id: "s3", name: "web", provider: "gateway-api", providerConfig: { httpRoute: "web" } };

const EDGE: ProviderPublic = {
  name: "edge",
  title: "Maestro edge router",
  description: "The built-in weighted reverse proxy.",
  measuresTraffic: true,
  configSchema: { type: "object", properties: {}, additionalProperties: false },
  docs: "docs/rollouts.md",
};

function DetailStub() {
  const { rolloutId } = useParams();
  return <p>detail of {rolloutId}</p>;
}

function renderPage(route = "/rollouts", session: AuthMeResponse = adminSession) {
  return renderWithProviders(
    <Routes>
      <Route path="/rollouts" element={<RolloutsPage />} />
      <Route path="/rollouts/:rolloutId" element={<DetailStub />} />
    </Routes>,
    { route, session },
  );
}

describe("RolloutsPage", () => {
  it("lists rollouts filtered by the status in the URL, with weight and step", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/rollouts", body: { items: [rollout()] } },
      { path: "/api/services", body: { items: [checkout, search] } },
    ]);
    renderPage("/rollouts?status=running");

    const table = await screen.findByRole("table", { name: "Rollouts in progress, newest first" });
    expect(await within(table).findByRole("link", { name: "checkout" })).toHaveAttribute("href", "/rollouts/r1aaaaaaaaaaaaaa");
    const row = within(table).getAllByRole("row")[1];
    expect(row).toHaveTextContent("running");
    expect(row).toHaveTextContent("3/4");
    expect(row).toHaveTextContent("http://canary:8080");
    expect(row).toHaveTextContent("ada");
    expect(within(row).getByRole("meter")).toHaveAttribute("aria-valuenow", "25");

    expect(screen.getByLabelText("Status")).toHaveValue("running");
    const list = calls.find((c) => new URL(c.url).pathname === "/api/rollouts")!;
    expect(new URL(list.url).searchParams.get("status")).toBe("running");

    await user.selectOptions(screen.getByLabelText("Status"), "rolled_back");
    await waitFor(() =>
      expect(calls.some((c) => new URL(c.url).pathname === "/api/rollouts" && new URL(c.url).searchParams.get("status") === "rolled_back")).toBe(true),
    );

    const services = screen.getByRole("table", { name: "Services" });
    expect(within(services).getByRole("meter", { name: "Live canary weight of checkout" })).toHaveAttribute("aria-valuenow", "25");
    expect(services).toHaveTextContent("sticky by header:X-Canary");
    expect(services).toHaveTextContent("all traffic to stable");
    expect(within(services).getByRole("link", { name: "Current rollout of checkout" })).toHaveAttribute("href", "/rollouts/r1aaaaaaaaaaaaaa");
  });

  it("explains where rollouts come from when there are none, and hides the actions from viewers", async () => {
    mockApi([
      { path: "/api/rollouts", body: { items: [] } },
      { path: "/api/services", body: { items: [] } },
    ]);
    renderPage("/rollouts", viewer);
    expect(await screen.findByText("No rollouts yet")).toBeInTheDocument();
    expect(screen.getByText(/promotes a succeeded run to a service/)).toBeInTheDocument();
    expect(await screen.findByText("No services yet")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Start rollout" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Register service" })).not.toBeInTheDocument();
  });

  it("starts a rollout with the default steps and opens it", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/rollouts", body: { items: [] } },
      { path: "/api/services", body: { items: [checkout, search] } },
      { method: "POST", path: "/api/rollouts", status: 201, body: rollout({ id: "r2", service: "search", env: "dev" }) },
    ]);
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Start rollout" }));
    const dialog = await screen.findByRole("dialog", { name: "Start rollout" });
    // it opens on its first field, even while the services are still loading
    await waitFor(() => expect(within(dialog).getByLabelText("Service")).toHaveFocus());
    expect(within(dialog).getByLabelText("Steps (JSON)")).toHaveValue(DEFAULT_STEPS_JSON);

    await user.click(within(dialog).getByRole("button", { name: "Start rollout" }));
    expect(dialog).toHaveTextContent("Choose the service to roll out.");
    expect(dialog).toHaveTextContent("Give the canary URL, e.g. http://10.0.0.5:8080.");
    expect(calls.some((c) => c.method === "POST")).toBe(false);

    const select = within(dialog).getByLabelText("Service");
    await waitFor(() => expect(select).toBeEnabled());
    await user.selectOptions(select, "search");
    await user.type(within(dialog).getByLabelText("Canary URL"), "http://10.0.0.6:8080");
    await user.type(within(dialog).getByLabelText("Reason (required)"), "new search ranking");
    await user.click(within(dialog).getByRole("button", { name: "Start rollout" }));

    expect(await screen.findByText("detail of r2")).toBeInTheDocument();
    const post = calls.find((c) => c.method === "POST")!;
    expect(await post.json()).toEqual({ service: "search", canaryUrl: "http://10.0.0.6:8080", steps: DEFAULT_STEPS, reason: "new search ranking" });
  });

  it("refuses malformed steps before sending, and shows the API's 409 when the service is busy", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/rollouts", body: { items: [rollout()] } },
      { path: "/api/services", body: { items: [checkout] } },
      {
        method: "POST",
        path: "/api/rollouts",
        status: 409,
        body: { title: "Conflict", status: 409, detail: "Rollout r1 of checkout is still running.", remediation: "Finish or abort it first." },
      },
    ]);
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Start rollout" }));
    const dialog = await screen.findByRole("dialog", { name: "Start rollout" });
    const select = within(dialog).getByLabelText("Service");
    await waitFor(() => expect(select).toBeEnabled());
    await user.selectOptions(select, "checkout");
    await user.type(within(dialog).getByLabelText("Canary URL"), "http://10.0.0.6:8080");
    await user.type(within(dialog).getByLabelText("Reason (required)"), "try it");
    const steps = within(dialog).getByLabelText("Steps (JSON)");
    await user.clear(steps);
    await user.click(steps);
    await user.paste('[{"setWeight": 150}]');
    await user.click(within(dialog).getByRole("button", { name: "Start rollout" }));
    expect(dialog).toHaveTextContent("Step 1: setWeight is a whole number from 0 to 100.");
    expect(steps).toHaveAttribute("aria-invalid", "true");
    expect(calls.some((c) => c.method === "POST")).toBe(false);

    await user.click(within(dialog).getByRole("button", { name: "Use the default steps" }));
    await user.click(within(dialog).getByRole("button", { name: "Start rollout" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("Rollout r1 of checkout is still running.");
  });

  it("registers a service", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/rollouts", body: { items: [] } },
      { path: "/api/services", body: { items: [] } },
      { path: "/api/environments", body: { items: [] } },
      { path: "/api/services/providers", body: { items: [EDGE] } },
      { method: "POST", path: "/api/services", status: 201, body: { ...search, name: "cart" } },
    ]);
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Register service" }));
    const dialog = await screen.findByRole("dialog", { name: "Register service" });
    await user.type(within(dialog).getByLabelText("Name (required)"), "Cart");
    await user.type(within(dialog).getByLabelText("Stable URL (required)"), "10.0.0.5");
    await user.click(within(dialog).getByRole("button", { name: "Register service" }));
    expect(dialog).toHaveTextContent("Use lowercase letters, digits and dashes");
    expect(dialog).toHaveTextContent("The stable URL must be an http(s) URL with a host");

    await user.clear(within(dialog).getByLabelText("Name (required)"));
    await user.type(within(dialog).getByLabelText("Name (required)"), "cart");
    await user.clear(within(dialog).getByLabelText("Stable URL (required)"));
    await user.type(within(dialog).getByLabelText("Stable URL (required)"), "http://10.0.0.5:8080");
    await user.selectOptions(within(dialog).getByLabelText("Environment"), "staging");
    await user.type(within(dialog).getByLabelText("Sticky sessions (optional)"), "cookie:canary");
    await user.click(within(dialog).getByRole("button", { name: "Register service" }));

    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    const post = calls.find((c) => c.method === "POST")!;
    expect(await post.json()).toEqual({
      name: "cart",
      env: "staging",
      stableUrl: "http://10.0.0.5:8080",
      sticky: "cookie:canary",
      provider: "edge",
      providerConfig: {},
    });
  });

  it("puts the rollouts in progress apart from the finished ones, and keeps URLs on one line", async () => {
    const long = `http://${"canary-".repeat(12)}example.internal:8080/a/very/long/path`;
    mockApi([
      {
        path: "/api/rollouts",
        body: {
          items: [
            rollout({ id: "r3", service: "search", status: "paused", canaryUrl: long }),
            rollout({ id: "r2", service: "billing", status: "succeeded" }),
            rollout({ id: "r1", service: "checkout", status: "rolled_back" }),
          ],
        },
      },
      { path: "/api/services", body: { items: [checkout, search] } },
    ]);
    renderPage();
    const active = await screen.findByRole("table", { name: "Rollouts in progress, newest first" });
    const finished = screen.getByRole("table", { name: "Finished rollouts, newest first" });
    expect(within(active).getAllByRole("link").map((a) => a.textContent)).toEqual(["search"]);
    expect(within(finished).getAllByRole("link").map((a) => a.textContent)).toEqual(["billing", "checkout"]);
    expect(screen.getByRole("heading", { name: "In progress (1)" })).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Finished (2)" })).toBeInTheDocument();
    const url = within(active).getByText(long);
    expect(url).toHaveClass("truncate");
    expect(url).not.toHaveClass("break-all");
    expect(url).toHaveAttribute("title", long);
  });
  it("shows each service's traffic provider, and rollbacks in progress as rolling back", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/rollouts", body: { items: [rollout({ status: "rolling_back" })] } },
      { path: "/api/services", body: { items: [checkout, search] } },
    ]);
    renderPage();
    const services = await screen.findByRole("table", { name: "Services" });
    await within(services).findByText("search");
    const [, first, second] = within(services).getAllByRole("row");
    expect(within(first).getByTestId("service-provider")).toHaveTextContent(/^traffic provider haproxy$/);
    expect(within(second).getByTestId("service-provider")).toHaveTextContent(/^traffic provider edge$/);

    const active = await screen.findByRole("table", { name: "Rollouts in progress, newest first" });
    const badge = within(active).getByText("rolling back");
    expect(badge.closest("[data-status]")).toHaveAttribute("data-status", "rolling_back");

    const filter = screen.getByLabelText("Status");
    expect(within(filter).getAllByRole("option").map((o) => [o.getAttribute("value"), o.textContent])).toEqual([
      ["", "Any status"],
      ["running", "running"],
      ["paused", "paused"],
      ["rolling_back", "rolling back"],
      ["succeeded", "succeeded"],
      ["rolled_back", "rolled back"],
      ["aborted", "aborted"],
    ]);
    await user.selectOptions(filter, "rolling back");
    await waitFor(() =>
      expect(calls.some((c) => new URL(c.url).pathname === "/api/rollouts" && new URL(c.url).searchParams.get("status") === "rolling_back")).toBe(true),
    );
  });

  it("names the traffic providers in its intro, and the chosen service's provider in the start dialog", async () => {
    const user = userEvent.setup();
    mockApi([
      { path: "/api/rollouts", body: { items: [] } },
      { path: "/api/services", body: { items: [checkout, search] } },
      { path: "/api/services/providers", body: { items: [EDGE, HAPROXY, GATEWAY] } },
    ]);
    renderPage();
    const intro = (await screen.findByRole("heading", { level: 1, name: "Rollouts" })).parentElement!;
    expect(intro).toHaveTextContent("each service's traffic provider (the built-in edge router, HAProxy or the Kubernetes Gateway API)");
    expect(intro).not.toHaveTextContent("Canary rollouts at the edge router");

    await user.click(screen.getByRole("button", { name: "Start rollout" }));
    const dialog = await screen.findByRole("dialog", { name: "Start rollout" });
    const select = within(dialog).getByLabelText("Service");
    await waitFor(() => expect(select).toBeEnabled());
    await user.selectOptions(select, "checkout");
    await waitFor(() => expect(select).toHaveAccessibleDescription("HAProxy (haproxy) sends a share of checkout's traffic to the canary."));
    await user.selectOptions(select, "search");
    expect(select).toHaveAccessibleDescription("Maestro edge router (edge) sends a share of search's traffic to the canary.");
    expect(within(dialog).queryByRole("note")).not.toBeInTheDocument();
  });

  it("warns before submitting that a service whose provider counts no traffic needs Prometheus analyses", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/rollouts", body: { items: [] } },
      { path: "/api/services", body: { items: [web] } },
      { path: "/api/services/providers", body: { items: [EDGE, GATEWAY] } },
      { method: "POST", path: "/api/rollouts", status: 201, body: rollout({ id: "r9", service: "web", env: "dev" }) },
    ]);
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Start rollout" }));
    const dialog = await screen.findByRole("dialog", { name: "Start rollout" });
    const select = within(dialog).getByLabelText("Service");
    await waitFor(() => expect(select).toBeEnabled());
    await user.selectOptions(select, "web");
    const note = await within(dialog).findByRole("note");
    expect(note).toHaveTextContent("web is routed by Kubernetes Gateway API, which does not count requests per version: its analyses must use Prometheus");
    expect(note).toHaveTextContent("The default steps' built-in analyses would be refused.");

    await user.type(within(dialog).getByLabelText("Canary URL"), "http://10.0.0.6:8080");
    await user.type(within(dialog).getByLabelText("Reason (required)"), "new web");
    await user.click(within(dialog).getByRole("button", { name: "Start rollout" }));
    const steps = within(dialog).getByLabelText("Steps (JSON)");
    expect(steps).toHaveAttribute("aria-invalid", "true");
    expect(steps).toHaveAccessibleDescription(/^Steps 2, 4, 6: Kubernetes Gateway API cannot count requests, so these analyses must measure with Prometheus/);
    expect(calls.some((c) => c.method === "POST")).toBe(false);

    const promql = [{ setWeight: 10 }, { analysis: { provider: "prometheus", metric: "promql", query: "x", successCondition: "< 1" } }, { setWeight: 100 }];
    await user.clear(steps);
    await user.click(steps);
    await user.paste(JSON.stringify(promql));
    await user.click(within(dialog).getByRole("button", { name: "Start rollout" }));
    expect(await screen.findByText("detail of r9")).toBeInTheDocument();
    expect((await calls.find((c) => c.method === "POST")!.json()).steps).toEqual(promql);
  });

  it("shows the API's refusal of built-in analyses readably, on the steps, with what to do", async () => {
    const user = userEvent.setup();
    // the providers could not be loaded: nothing warns here, so the API's 422 is what says it
    mockApi([
      { path: "/api/rollouts", body: { items: [] } },
      { path: "/api/services", body: { items: [web] } },
      {
        method: "POST",
        path: "/api/rollouts",
        status: 422,
        body: {
          title: "Unprocessable Entity",
          status: 422,
          detail: "web is routed by gateway-api, which Maestro cannot count requests through.",
          errors: [
            { field: "steps.1.analysis.provider", message: "gateway-api has no traffic counters of its own" },
            { field: "steps.3.analysis.provider", message: "gateway-api has no traffic counters of its own" },
          ],
          remediation: 'Measure with Prometheus: {"analysis": {"provider": "prometheus", "metric": "promql", "query": "…"}}.',
        },
      },
    ]);
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Start rollout" }));
    const dialog = await screen.findByRole("dialog", { name: "Start rollout" });
    const select = within(dialog).getByLabelText("Service");
    await waitFor(() => expect(select).toBeEnabled());
    await user.selectOptions(select, "web");
    expect(select).toHaveAccessibleDescription("Its traffic provider (gateway-api) sends a share of web's traffic to the canary.");
    await user.type(within(dialog).getByLabelText("Canary URL"), "http://10.0.0.6:8080");
    await user.type(within(dialog).getByLabelText("Reason (required)"), "new web");
    await user.click(within(dialog).getByRole("button", { name: "Start rollout" }));
    const steps = within(dialog).getByLabelText("Steps (JSON)");
    await waitFor(() => expect(steps).toHaveAttribute("aria-invalid", "true"));
    expect(steps).toHaveAccessibleDescription(
      "Step 2 (analysis provider): gateway-api has no traffic counters of its own. Step 4 (analysis provider): gateway-api has no traffic counters of its own. " +
        'Measure with Prometheus: {"analysis": {"provider": "prometheus", "metric": "promql", "query": "…"}}.',
    );
  });

  it("shows a promoted rollout's weight as promoted, not 0%, and a rollback in progress with its message", async () => {
    const stuck = "stuck rolling back: weight 0 could not be applied (1 tries): connection refused";
    mockApi([
      {
        path: "/api/rollouts",
        body: {
          items: [
            rollout({ id: "r4", service: "cart", status: "rolling_back", weight: 0, message: stuck }),
            rollout({ id: "r3", service: "shop", status: "succeeded", weight: 0 }),
            rollout({ id: "r2", service: "billing", status: "rolled_back", weight: 0 }),
          ],
        },
      },
      { path: "/api/services", body: { items: [] } },
    ]);
    renderPage();
    const finished = await screen.findByRole("table", { name: "Finished rollouts, newest first" });
    const [, shop, billing] = within(finished).getAllByRole("row");
    expect(shop).toHaveTextContent("promoted, now stable");
    expect(shop).not.toHaveTextContent("0%");
    expect(within(shop).queryByRole("meter")).not.toBeInTheDocument();
    expect(within(billing).getByRole("meter")).toHaveAttribute("aria-valuenow", "0");

    const active = screen.getByRole("table", { name: "Rollouts in progress, newest first" });
    const cart = within(active).getAllByRole("row")[1];
    expect(cart).toHaveTextContent("rolling back");
    expect(within(cart).getByTestId("rollout-row-message")).toHaveTextContent(stuck);
    expect(within(cart).getByTestId("rollout-row-message")).toHaveAttribute("title", stuck);
  });
});
