import { budgetView, firingWindows, formatBurnRate, formatPercent, lowestBudget, objectiveFromPercent } from "./format";

describe("budgetView", () => {
  it("shows an untouched budget as a full bar", () => {
    expect(budgetView(1)).toEqual({ width: 100, label: "100% left", level: "ok" });
  });
  it("turns low under a quarter", () => {
    expect(budgetView(0.2)).toMatchObject({ width: 20, label: "20% left", level: "low" });
  });
  it("clamps a negative budget to an empty bar and says it is overspent", () => {
    expect(budgetView(-0.375)).toEqual({ width: 0, label: "Overspent by 37.5%", level: "overspent" });
    expect(budgetView(-3)).toMatchObject({ width: 0, label: "Overspent by 300%" });
  });
  it("distinguishes spent from no data", () => {
    expect(budgetView(0)).toMatchObject({ width: 0, level: "spent" });
    expect(budgetView(null)).toEqual({ width: 0, label: "No data yet", level: "none" });
  });
  it("clamps above 100%", () => {
    expect(budgetView(1.4).width).toBe(100);
  });
});

describe("formatting", () => {
  it("formats percentages and burn rates", () => {
    expect(formatPercent(0.995)).toBe("99.5%");
    expect(formatPercent(0.9995)).toBe("99.95%");
    expect(formatPercent(null)).toBe("—");
    expect(formatBurnRate(14.44)).toBe("14.4×");
    expect(formatBurnRate(2.46)).toBe("2.5×"); // seven windows fit side by side on an SLO card
    expect(formatBurnRate(123.4)).toBe("123×");
    expect(formatBurnRate(0.0123)).toBe("0.01×");
    expect(formatBurnRate(null)).toBe("—");
  });
  it("reads the objective as a percentage", () => {
    expect(objectiveFromPercent("99.5")).toBe(0.995);
    expect(objectiveFromPercent("99.9%")).toBe(0.999);
    expect(objectiveFromPercent("abc")).toBeNull();
    expect(objectiveFromPercent("")).toBeNull();
  });
  it("finds the windows of firing pairs and the lowest budget", () => {
    const w = firingWindows([
      { long: "1h", short: "5m", firing: true },
      { long: "6h", short: "30m", firing: false },
    ]);
    expect([...w].sort()).toEqual(["1h", "5m"]);
    const low = lowestBudget([
      { name: "a", errorBudgetRemaining: 0.5 },
      { name: "b", errorBudgetRemaining: null },
      { name: "c", errorBudgetRemaining: -0.2 },
    ]);
    expect(low?.name).toBe("c");
    expect(lowestBudget([{ name: "x", errorBudgetRemaining: null }])).toBeNull();
  });
});
