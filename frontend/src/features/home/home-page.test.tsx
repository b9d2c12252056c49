import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Hub } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders, type MockRoute } from "@/test/utils";
import { HomePage } from "./home-page";

const HUB: Hub = {
  generatedAt: "2025-06-08T10:00:00Z",
  releases: [
    {
      service: "web",
      env: "prod",
      stableUrl: "http://stable:8080",
      canaryUrl: "http://canary:8080",
      canaryWeight: 25,
      rolloutId: "ro-1",
      rolloutStatus: "running",
      canaryErrorRate: 0.0734,
      stableErrorRate: 0,
      canaryRequests: 120,
      stableRequests: 1500,
      health: "degraded",
      actions: ["pause", "promote", "rollback", "abort"],
    },
    {
      service: "api",
      env: "dev",
      stableUrl: "http://api:8080",
      canaryUrl: null,
      canaryWeight: 0,
      rolloutId: null,
      rolloutStatus: null,
      canaryErrorRate: null,
      stableErrorRate: null,
      canaryRequests: 0,
      stableRequests: 0,
      health: "idle",
      actions: [],
    },
  ],
  kpis: {
    buildSuccessPct: 93.456,
    runs7d: 42,
    leadTimeToProdHours: null,
    p95BuildMs: 125_000,
    worstBurnRate1h: 2.5,
    lowestErrorBudget: 0.42,
    spend24hUsd: 12.5,
    spend7dUsd: 80,
    queueDepth: 3,
  },
  hotCold: {
    since: "2025-06-01T10:00:00Z",
    flakyTests: [{ pipeline: "web", test: "tests.test_api::test_login", commits: 3 }],
    flakyPipelines: [],
    slowestSteps: [{ pipeline: "web", step: "e2e", p95Ms: 125_000, samples: 40 }],
    noisyAlerts: [],
    topCostCenters: [{ dimension: "pipeline", value: "web", costUsd: 1234.5 }],
  },
  compliance: {
    successfulRuns7d: 10,
    runsWithProvenance7d: 8,
    signedArtifacts7d: 14,
    sbomRunsChecked: 4,
    sbomDiffsOk: 3,
    policyDenials24h: 2,
    evidenceBundles7d: 5,
    evidenceBundlesFailed7d: 1,
  },
};

const SHELL: MockRoute[] = [
  { path: "/api/ready", body: { status: "ok", checks: { db: { status: "up", latencyMs: 1.2 } } } },
  { path: "/api/permissions", body: { items: [] } },
  {
    path: "/api/system/info",
    body: { version: "1.0.0", temporalAddress: "temporal:7233", temporalNamespace: "default", controlTaskQueue: "maestro", temporalUiUrl: null },
  },
  { path: "/api/audit", body: { items: [], nextCursor: null } },
];

/** The first render of the whole page is slow under jsdom: wait for the hub's data itself. */
const loaded = () => screen.findByTestId("kpi-queue");

const ACTION_RESULT = {
  action: "promote",
  status: "running",
  weight: 50,
  stepIndex: 2,
  rollout: { id: "ro-1" },
};

describe("HomePage (Control Hub)", () => {
  it("shows releases, key figures, what's hot and cold and compliance from /api/hub", async () => {
    mockApi([{ path: "/api/hub", body: HUB }, ...SHELL]);
    renderWithProviders(<HomePage />, { route: "/?env=", session: adminSession });
    await loaded();

    const table = screen.getByRole("table", { name: "Releases" });
    const [, webRow, apiRow] = within(table).getAllByRole("row");
    expect(within(webRow).getByRole("meter", { name: "Canary weight of web" })).toHaveAttribute("aria-valuenow", "25");
    expect(webRow).toHaveTextContent("25%");
    expect(webRow).toHaveTextContent("running");
    expect(webRow).toHaveTextContent("degraded");
    expect(webRow).toHaveTextContent("7.34% errors");
    expect(webRow).toHaveTextContent("120 requests");
    expect(webRow).toHaveTextContent("1,500 requests");
    expect(within(webRow).getByRole("link", { name: "View rollout of web" })).toHaveAttribute("href", "/rollouts/ro-1");
    const actions = within(webRow).getByRole("group", { name: "Quick actions for web" });
    expect(within(actions).getAllByRole("button").map((b) => b.getAttribute("aria-label"))).toEqual([
      "Pause web",
      "Promote web",
      "Roll back web",
      "Abort web",
    ]);
    expect(within(webRow).queryByRole("button", { name: "Resume web" })).not.toBeInTheDocument();
    expect(apiRow).toHaveTextContent("idle");
    expect(apiRow).toHaveTextContent("no traffic");
    expect(apiRow).toHaveTextContent("none active");
    expect(within(apiRow).queryByRole("button")).not.toBeInTheDocument();

    expect(screen.getByTestId("kpi-build-success")).toHaveTextContent("93.5%");
    expect(screen.getByTestId("kpi-build-success")).toHaveTextContent("42 finished runs");
    expect(screen.getByTestId("kpi-lead-time")).toHaveTextContent("no prod rollout yet");
    expect(screen.getByTestId("kpi-p95-build")).toHaveTextContent("2 m 5 s");
    expect(screen.getByTestId("kpi-burn")).toHaveTextContent("2.5×");
    expect(screen.getByTestId("kpi-burn")).toHaveTextContent("42% left");
    expect(screen.getByTestId("kpi-spend")).toHaveTextContent("$12.50");
    expect(screen.getByTestId("kpi-spend")).toHaveTextContent("$80.00");
    expect(screen.getByTestId("kpi-queue")).toHaveTextContent("3");

    expect(screen.getByRole("list", { name: "Flaky tests" })).toHaveTextContent("tests.test_api::test_login");
    expect(screen.getByRole("list", { name: "Slowest steps" })).toHaveTextContent("2 m 5 s");
    expect(screen.getByTestId("hot-noisy-alerts")).toHaveTextContent("No alert fired.");
    expect(screen.getByRole("list", { name: "Top cost centers" })).toHaveTextContent("$1,234.50");
    expect(screen.getByRole("link", { name: /Open insights/ })).toHaveAttribute("href", "/observability/insights");

    expect(screen.getByTestId("compliance-provenance")).toHaveTextContent("8 / 10");
    expect(screen.getByTestId("compliance-sbom")).toHaveTextContent("3 / 4");
    expect(screen.getByTestId("compliance-evidence")).toHaveTextContent("1 bundle failed");
    expect(screen.getByRole("link", { name: "Review the denied decisions" })).toHaveAttribute(
      "href",
      "/policies/decisions?allowed=false",
    );

    expect(screen.getAllByRole("heading", { level: 1 }).map((h) => h.textContent)).toEqual(["Control Hub"]);
    expect(screen.getAllByRole("heading", { level: 2 }).map((h) => h.textContent)).toEqual(
      expect.arrayContaining(["Releases", "Key figures", "What's hot and cold", "Compliance at a glance", "System health"]),
    );
  });

  it("confirms a quick action with a reason, then refreshes the hub", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/hub", body: HUB },
      { method: "POST", path: "/api/rollouts/ro-1/actions", body: ACTION_RESULT },
      ...SHELL,
    ]);
    renderWithProviders(<HomePage />, { session: adminSession });
    await loaded();
    await user.click(screen.getByRole("button", { name: "Promote web" }));
    const dialog = screen.getByRole("alertdialog", { name: "Promote the rollout of web to its next step?" });
    const hubCalls = () => calls.filter((c) => new URL(c.url).pathname === "/api/hub").length;
    const before = hubCalls();
    await user.type(within(dialog).getByLabelText(/Reason/), "canary looks fine");
    await user.click(within(dialog).getByRole("button", { name: "Promote" }));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
    const post = calls.find((c) => c.method === "POST");
    expect(await post!.json()).toEqual({ action: "promote", reason: "canary looks fine", full: false });
    await waitFor(() => expect(hubCalls()).toBeGreaterThan(before));
  });

  it("keeps the dialog open with the API's reason when the action is refused", async () => {
    const user = userEvent.setup();
    mockApi([
      { path: "/api/hub", body: HUB },
      {
        method: "POST",
        path: "/api/rollouts/ro-1/actions",
        status: 409,
        body: { title: "Conflict", status: 409, detail: "The rollout is not paused: nothing to resume." },
      },
      ...SHELL,
    ]);
    renderWithProviders(<HomePage />, { session: adminSession });
    await loaded();
    await user.click(screen.getByRole("button", { name: "Roll back web" }));
    const dialog = screen.getByRole("alertdialog", { name: "Roll back the rollout of web?" });
    await user.type(within(dialog).getByLabelText(/Reason/), "errors");
    await user.click(within(dialog).getByRole("button", { name: "Roll back" }));
    expect(await within(dialog).findByText("The rollout is not paused: nothing to resume.")).toBeInTheDocument();
    expect(screen.getByRole("alertdialog")).toBeInTheDocument();
  });

  it("explains how to get a first service when there is none", async () => {
    mockApi([{ path: "/api/hub", body: { ...HUB, releases: [] } }, ...SHELL]);
    renderWithProviders(<HomePage />, { session: adminSession });
    await loaded();
    const text = screen.getByText(/No services yet: register one on the/);
    expect(text).toHaveTextContent("No services yet: register one on the Rollouts page (the edge router routes /<service>/… to it)");
    expect(within(text).getByRole("link", { name: "Rollouts page" })).toHaveAttribute("href", "/rollouts");
  });

  it("shows only the selected environment's releases", async () => {
    mockApi([{ path: "/api/hub", body: HUB }, ...SHELL]);
    renderWithProviders(<HomePage />, { route: "/?env=staging", session: adminSession });
    await loaded();
    expect(screen.getByText("No services in staging")).toBeInTheDocument();
    expect(screen.queryByRole("table", { name: "Releases" })).not.toBeInTheDocument();
  });

  it("says which permission releases need", async () => {
    mockApi([{ path: "/api/hub", body: { ...HUB, releases: [] } }, ...SHELL]);
    renderWithProviders(<HomePage />, { session: { ...adminSession, permissions: ["runs:read"] } });
    await loaded();
    expect(screen.getByText(/Releases need the/)).toHaveTextContent("rollouts:read");
    expect(screen.queryByRole("link", { name: "Review the denied decisions" })).not.toBeInTheDocument();
  });

  it("offers a retry when the hub cannot be loaded", async () => {
    const user = userEvent.setup();
    const routes: MockRoute[] = [
      { path: "/api/hub", status: 403, body: { title: "Forbidden", status: 403, detail: "This token may not read the hub." } },
      ...SHELL,
    ];
    mockApi(routes);
    renderWithProviders(<HomePage />, { session: adminSession });
    expect(await screen.findByText("Could not load the Control Hub")).toBeInTheDocument();
    expect(screen.getByText("This token may not read the hub.")).toBeInTheDocument();
    routes[0] = { path: "/api/hub", body: HUB };
    await user.click(screen.getByRole("button", { name: "Try again" }));
    await loaded();
    expect(screen.getByRole("button", { name: "Pause web" })).toBeInTheDocument();
  });
});
