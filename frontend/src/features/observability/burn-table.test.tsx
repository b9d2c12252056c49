import { render, screen, within } from "@testing-library/react";
import { BudgetBar } from "./budget-bar";
import { BurnTable } from "./burn-table";

describe("BurnTable", () => {
  it("shows every window's burn rate and highlights the windows of firing pairs", () => {
    render(
      <BurnTable
        name="Runs succeed"
        burnRates={{ "5m": 20, "30m": 2, "1h": 15.04, "2h": null, "6h": 1.5, "1d": 0.5, "3d": 0.25 }}
        burnAlerts={[
          { long: "1h", short: "5m", threshold: 14.4, severity: "page", firing: true },
          { long: "6h", short: "30m", threshold: 6, severity: "page", firing: false },
        ]}
      />,
    );
    const table = screen.getByRole("table", { name: "Burn rates for Runs succeed" });
    const cells = within(table).getAllByRole("cell");
    expect(cells.map((c) => c.textContent)).toEqual(["20× (firing)", "2×", "15× (firing)", "—", "1.5×", "0.5×", "0.25×"]);
    expect(cells.filter((c) => c.hasAttribute("data-firing"))).toHaveLength(2);
    expect(screen.getByRole("list", { name: "Firing burn-rate alerts for Runs succeed" })).toHaveTextContent(
      "Burning: 1h and 5m both above 14.4× (page)",
    );
  });

  it("lists no firing pairs when nothing burns", () => {
    render(<BurnTable name="API" burnRates={{}} burnAlerts={[{ long: "1h", short: "5m", threshold: 14.4, severity: "page", firing: false }]} />);
    expect(screen.queryByRole("list")).not.toBeInTheDocument();
    expect(within(screen.getByRole("table")).getAllByRole("cell").every((c) => c.textContent === "—")).toBe(true);
  });
});

describe("BudgetBar", () => {
  it("is a named meter, clamped, that says overspent", () => {
    render(<BudgetBar name="API" remaining={-0.5} />);
    const meter = screen.getByRole("meter", { name: "Error budget remaining for API" });
    expect(meter).toHaveAttribute("aria-valuenow", "0");
    expect(meter).toHaveAttribute("aria-valuetext", "Overspent by 50%");
    expect(screen.getByText("Overspent by 50%")).toBeInTheDocument();
  });
});
