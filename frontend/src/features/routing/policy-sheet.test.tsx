import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import { FakeEventSource } from "@/test/event-source";
import { adminSession, mockApi, renderWithProviders, type MockRoute } from "@/test/utils";
import { ClassDetailPage } from "./class-detail-page";
import { candidatesView, routingClass } from "./fixtures";

const withPolicy = routingClass({
  match: { models: ["fast"], metadata: { team: "a" } },
  policy: { providers: ["prov-a"], models: [], regions: ["eu"] },
  failover: { maxAttempts: 2, backoffMs: 50, backoffMaxMs: 800, cooldownAfter: 4, cooldownSeconds: 60 },
  capture: { enabled: false, sampleRate: 0.1, redact: ["secret-\\d+"], retentionDays: 7 },
});

function renderDetail(routes: MockRoute[]) {
  const api = mockApi([
    ...routes,
    { path: "/api/routing/classes/chat", body: withPolicy },
    { path: "/api/routing/candidates", body: candidatesView() },
    { path: "/api/routing/requests", body: { items: [] } },
    { path: "/api/services", body: { items: [] } },
    { path: "/api/rollouts", body: { items: [] } },
  ]);
  renderWithProviders(
    <Routes>
      <Route path="/routing/classes/:name" element={<ClassDetailPage />} />
    </Routes>,
    { route: "/routing/classes/chat", session: adminSession },
  );
  return api;
}

async function openSheet() {
  const user = userEvent.setup();
  await user.click(await screen.findByRole("button", { name: "Policy…" }));
  const dialog = await screen.findByRole("dialog", { name: "Policy of chat" });
  return { user, dialog };
}

describe("PolicySheet", () => {
  beforeEach(() => {
    FakeEventSource.reset();
    vi.stubGlobal("EventSource", FakeEventSource);
  });

  it("saves policy, failover, the fallback order and an A/B split as the whole class, keeping what it does not show", async () => {
    const { calls } = renderDetail([{ method: "PUT", path: "/api/routing/classes/chat", body: withPolicy }]);
    const { user, dialog } = await openSheet();
    expect(within(dialog).getByLabelText("Providers")).toHaveValue("prov-a");
    expect(within(dialog).getByLabelText("Regions (data residency)")).toHaveValue("eu");
    expect(within(dialog).getByLabelText("Max attempts")).toHaveValue(2);

    const regions = within(dialog).getByLabelText("Regions (data residency)");
    await user.clear(regions);
    await user.type(regions, "eu, us");
    const attempts = within(dialog).getByLabelText("Max attempts");
    await user.clear(attempts);
    await user.type(attempts, "4");
    // move the second candidate up, by keyboard
    within(dialog).getByRole("button", { name: "Move prov-b/sim-small up" }).focus();
    await user.keyboard("{Enter}");
    expect(within(dialog).getAllByTestId("policy-candidate").map((r) => r.getAttribute("data-candidate"))).toEqual([
      "prov-b/sim-small",
      "prov-a/sim-large",
    ]);
    // the live sum of the split
    const a = within(dialog).getByLabelText("A/B share of prov-a/sim-large (%)");
    const b = within(dialog).getByLabelText("A/B share of prov-b/sim-small (%)");
    await user.clear(a);
    await user.type(a, "90");
    expect(within(dialog).getByTestId("split-sum")).toHaveTextContent("Shares add up to 90% (must be 100%).");
    await user.click(within(dialog).getByRole("button", { name: "Save policy" }));
    expect(dialog).toHaveTextContent("The A/B shares add up to 90%: make them 100% (or all 0 for no split).");
    expect(calls.some((c) => c.method === "PUT")).toBe(false);
    await user.clear(b);
    await user.type(b, "10");
    expect(within(dialog).getByTestId("split-sum")).toHaveTextContent("Shares add up to 100%.");
    await user.type(within(dialog).getByLabelText("Sticky header (optional)"), "x-user-id");
    await user.click(within(dialog).getByRole("button", { name: "Save policy" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    const put = calls.find((c) => c.method === "PUT")!;
    expect(await put.json()).toEqual({
      description: "",
      priority: 100,
      match: { models: ["fast"], metadata: { team: "a" } },
      candidates: [
        { provider: "prov-b", model: "sim-small", price: { input: 0.15, output: 0.6 }, weight: 10 },
        { provider: "prov-a", model: "sim-large", price: { input: 3, output: 15 }, weight: 90 },
      ],
      downgradeTo: "prov-b/sim-small",
      weights: { latency: 1, cost: 1, reliability: 2, policy: 1 },
      failover: { maxAttempts: 4, backoffMs: 50, backoffMaxMs: 800, cooldownAfter: 4, cooldownSeconds: 60 },
      policy: { providers: ["prov-a"], models: [], regions: ["eu", "us"] },
      sticky: "x-user-id",
      rego: null,
      capture: { enabled: false, sampleRate: 0.1, redact: ["secret-\\d+"], retentionDays: 7 },
    });
  });

  it("shows the API's Rego compile error, with its line and column, on the Rego field", async () => {
    renderDetail([
      {
        method: "PUT",
        path: "/api/routing/classes/chat",
        status: 422,
        body: {
          title: "Unprocessable",
          status: 422,
          detail: "rego: the policy does not compile: unexpected token",
          errors: [{ field: "rego", message: "line 2, column 5: unexpected token" }],
        },
      },
    ]);
    const { user, dialog } = await openSheet();
    const rego = within(dialog).getByLabelText("Rego policy (optional)");
    await user.type(rego, "package x{enter}deny contains");
    await user.click(within(dialog).getByRole("button", { name: "Save policy" }));
    expect(await within(dialog).findByText("line 2, column 5: unexpected token")).toBeInTheDocument();
    await waitFor(() => expect(rego).toHaveFocus());
    expect(rego).toHaveAttribute("aria-invalid", "true");
  });
});
