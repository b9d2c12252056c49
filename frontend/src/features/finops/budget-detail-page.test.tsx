import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes } from "react-router";
import { adminSession, mockApi, renderWithProviders } from "@/test/utils";
import { BudgetDetailPage } from "./budget-detail-page";
import { budgetDetail } from "./fixtures";

function renderPage() {
  return renderWithProviders(
    <Routes>
      <Route path="/finops/budgets/:budgetId" element={<BudgetDetailPage />} />
      <Route path="/finops" element={<p>The budgets list</p>} />
    </Routes>,
    { route: "/finops/budgets/bud-1", session: adminSession },
  );
}

describe("BudgetDetailPage", () => {
  it("shows the numbers, thresholds, actions and who froze it and why", async () => {
    mockApi([
      {
        path: "/api/budgets/bud-1",
        body: budgetDetail({ frozen: true, frozenBy: "alice", frozenReason: "runaway eval job", state: "warning", firedThresholds: [50] }),
      },
    ]);
    renderPage();
    expect(await screen.findByRole("heading", { name: "Budget build-monthly" })).toBeInTheDocument();
    const numbers = screen.getByTestId("budget-numbers");
    expect(numbers).toHaveTextContent("Spent$12.50");
    expect(numbers).toHaveTextContent("Cap$100.00");
    expect(numbers).toHaveTextContent("Used12.5%");
    expect(numbers).toHaveTextContent("Forecast at period end$150.00");
    expect(screen.getByText("50% (fired), 80%, 100%")).toBeInTheDocument();
    expect(screen.getByText("Freeze at 100%")).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Frozen by alice");
    const history = screen.getByRole("table", { name: "Budget history, newest first" });
    const frozen = within(history).getByText("runaway eval job").closest("tr")!;
    expect(frozen).toHaveTextContent("frozen");
    expect(frozen).toHaveTextContent("alice");
    expect(screen.getByText(/Spent \$12\.50 of a \$100\.00 cap; forecast \$150\.00 by the period's end/)).toBeInTheDocument();
  });

  it("says why there is no forecast yet", async () => {
    mockApi([{ path: "/api/budgets/bud-1", body: budgetDetail({ forecastTotal: null, capEta: null, forecastNote: "not enough history (2 h of 24)", forecast: [] }) }]);
    renderPage();
    expect(await screen.findByText("Forecast: not enough history (2 h of 24)")).toBeInTheDocument();
    expect(screen.getByTestId("budget-numbers")).toHaveTextContent("Cap reachedNo forecast yet");
  });

  it("raises the cap with a reason", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/budgets/bud-1", body: budgetDetail() },
      { method: "POST", path: "/api/budgets/bud-1/raise-cap", body: budgetDetail({ capUsd: 250 }) },
    ]);
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Raise cap" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Raise the cap of build-monthly" });
    const usd = within(dialog).getByLabelText("New cap (USD)");
    await user.clear(usd);
    await user.type(usd, "250");
    await user.type(within(dialog).getByLabelText("Reason (required)"), "quarter-end release");
    await user.click(within(dialog).getByRole("button", { name: "Raise cap" }));
    await vi.waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
    expect(await calls.find((c) => c.method === "POST")!.json()).toEqual({ reason: "quarter-end release", capUsd: 250, capTokens: null });
  });

  it("deletes the budget with a reason and goes back to the list", async () => {
    const user = userEvent.setup();
    const { calls } = mockApi([
      { path: "/api/budgets/bud-1", body: budgetDetail() },
      { method: "DELETE", path: "/api/budgets/bud-1", status: 204, body: null },
    ]);
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Delete" }));
    const dialog = await screen.findByRole("alertdialog", { name: "Delete budget build-monthly?" });
    expect(within(dialog).getByRole("button", { name: "Delete budget" })).toBeInTheDocument();
    await user.type(within(dialog).getByLabelText("Reason (required)"), "merged into the team budget");
    await user.click(within(dialog).getByRole("button", { name: "Delete budget" }));
    await vi.waitFor(() => expect(calls.some((c) => c.method === "DELETE")).toBe(true));
    const del = calls.find((c) => c.method === "DELETE")!;
    expect(new URL(del.url).searchParams.get("reason")).toBe("merged into the team budget");
    expect(await screen.findByText("The budgets list")).toBeInTheDocument();
  });

  it("says when the budget does not exist", async () => {
    mockApi([{ path: "/api/budgets/bud-1", status: 404, body: { title: "Not Found", status: 404, detail: "No budget 'bud-1'." } }]);
    renderPage();
    expect(await screen.findByText("Could not load the budget")).toBeInTheDocument();
    expect(screen.getByText(/No budget 'bud-1'\./)).toBeInTheDocument();
  });
});
