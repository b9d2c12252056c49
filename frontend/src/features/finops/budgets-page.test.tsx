import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import type { AuthMeResponse } from "@/client/types.gen";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { BudgetsPage } from "./budgets-page";
import { budget, silver } from "./fixtures";

const viewer: AuthMeResponse = { ...adminSession, permissions: ["budgets:read"] };

function renderPage(session: AuthMeResponse = adminSession) {
  return renderWithProviders(
    <Routes>
      <Route path="/finops" element={<BudgetsPage />} />
      <Route path="/finops/budgets/:id" element={<p>budget page</p>} />
    </Routes>,
    { route: "/finops", session },
  );
}

describe("BudgetsPage", () => {
  it("says there are no budgets yet and offers to create one", async () => {
    mockApi([{ path: "/api/budgets", body: { items: [] } }]);
    renderPage();
    expect(await screen.findByText("No budgets yet")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "New budget" })).toBeInTheDocument();
  });

  it("shows the API's error when the list cannot be read", async () => {
    mockApi([{ path: "/api/budgets", status: 503, body: { title: "Unavailable", status: 503, detail: "database down" } }]);
    renderPage();
    expect(await screen.findByText("Could not load the budgets")).toBeInTheDocument();
    expect(screen.getByText(/database down/)).toBeInTheDocument();
  });

  it("shows each budget's spend, burn rate, state and freeze badges; a viewer changes nothing", async () => {
    mockApi([
      {
        path: "/api/budgets",
        body: {
          items: [
            budget(),
            budget({ id: "bud-2", name: "prod-gold", tier: "gold", state: "breached", percent: 104, spentUsd: 104, frozen: true, frozenBy: "budget", frozenReason: "cap reached", scope: { env: "prod" } }),
          ],
        },
      },
    ]);
    renderPage(viewer);
    const bars = await screen.findAllByTestId("budget-bar");
    expect(bars).toHaveLength(2);
    expect(bars[0]).toHaveTextContent("pipeline build · monthly");
    expect(bars[0]).toHaveTextContent("$12.50 / $100.00 (12.5%)");
    expect(bars[0]).toHaveTextContent("$0.50/h");
    expect(within(bars[0]).getByTestId("budget-state")).toHaveTextContent("OK");
    expect(within(bars[0]).getByRole("meter")).toHaveAttribute("aria-valuetext", "12.5% of the cap; thresholds at 50%, 80%, 100%");
    expect(within(bars[1]).getByTestId("budget-state")).toHaveTextContent("Breached");
    expect(bars[1]).toHaveTextContent("Frozen");
    expect(bars[1]).toHaveTextContent("Frozen by budget");
    expect(bars[1]).toHaveTextContent("cap reached");
    expect(within(bars[1]).getByRole("link", { name: "prod-gold" })).toHaveAttribute("href", "/finops/budgets/bud-2");
    expect(screen.queryByRole("button", { name: /Freeze budget|Unfreeze budget/ })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "New budget" })).not.toBeInTheDocument();
  });

  it("unfreezes with a reason and shows the workflow's refusal in the dialog", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/budgets", body: { items: [budget({ frozen: true, state: "breached" })] } },
      {
        method: "POST",
        path: "/api/budgets/bud-1/unfreeze",
        status: 409,
        body: { type: "about:blank", title: "Conflict", status: 409, detail: "unfreeze refused: the budget is not frozen" },
      },
    ]);
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Unfreeze budget build-monthly" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Unfreeze budget build-monthly?" });
    await user.click(within(dialog).getByRole("button", { name: "Unfreeze" }));
    expect(within(dialog).getByText("Give a reason of at least 3 characters.")).toBeInTheDocument();
    await user.type(within(dialog).getByLabelText("Reason (required)"), "finance approved more spend");
    await user.click(within(dialog).getByRole("button", { name: "Unfreeze" }));
    expect(await within(dialog).findByText(/unfreeze refused: the budget is not frozen/)).toBeInTheDocument();
    const post = calls.find((c) => c.method === "POST")!;
    expect(await post.json()).toEqual({ reason: "finance approved more spend" });
  });

  it("creates a budget from a tier's presets and shows the API's refusals next to their fields", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/budgets", body: { items: [] } },
      { path: "/api/budgets/tiers", body: { items: [silver] } },
      {
        method: "POST",
        path: "/api/budgets",
        status: 422,
        body: {
          type: "about:blank",
          title: "Unprocessable Entity",
          status: 422,
          detail: "The budget cannot be created: no pipeline 'nope' in your tenant.",
          errors: [{ field: "scope.pipeline", message: "no pipeline 'nope' in your tenant" }],
        },
      },
    ]);
    renderPage();
    await user.click(await screen.findByRole("button", { name: "New budget" }));
    const dialog = await screen.findByRole("dialog", { name: "New budget" });
    await user.type(within(dialog).getByLabelText("Name (required)"), "team-a");
    await user.selectOptions(within(dialog).getByLabelText("Tier"), "silver");
    expect(within(dialog).getByLabelText("Cap (USD)")).toHaveValue(2000);
    expect(within(dialog).getByLabelText("Thresholds (% of the cap)")).toHaveValue("50, 80, 100");
    expect(within(dialog).getAllByTestId("action-row")).toHaveLength(3);
    expect(within(dialog).getByLabelText("Runs per minute")).toHaveValue(3);
    await user.click(within(dialog).getByRole("checkbox", { name: "Downgrade before the breach" }));
    await user.type(within(dialog).getByLabelText("Pipeline"), "nope");
    await user.click(within(dialog).getByRole("button", { name: "Create budget" }));
    const field = within(dialog).getByLabelText("Pipeline");
    expect(await within(dialog).findByText("no pipeline 'nope' in your tenant")).toBeInTheDocument();
    expect(field).toHaveAttribute("aria-invalid", "true");
    const body = await calls.find((c) => c.method === "POST")!.json();
    expect(body).toMatchObject({
      name: "team-a",
      tier: "silver",
      scope: { pipeline: "nope" },
      capUsd: 2000,
      thresholds: [50, 80, 100],
      actions: [
        { kind: "notify", atPercent: 80 },
        { kind: "slowdown", atPercent: 90, permitsPerMinute: 3 },
        { kind: "freeze", atPercent: 100 },
      ],
      forecastDowngrade: true,
    });
  });
});
