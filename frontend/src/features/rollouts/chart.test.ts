import { stepChart, weightPoints, weightSummary, type ChartBox } from "./chart";

// Plot area: x 10..110 (100 wide), y 0..100 (100 tall): a weight of w% sits at y = 100 - w.
const BOX: ChartBox = { width: 120, height: 110, top: 0, right: 10, bottom: 10, left: 10 };
const T0 = Date.parse("2025-06-01T10:00:00Z");
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

describe("weightPoints", () => {
  it("parses, orders by time and drops malformed entries", () => {
    const pts = weightPoints([
      { at: iso(20), weight: 25 },
      { at: "not a time", weight: 5 },
      { at: iso(0), weight: 0 },
      { at: iso(10), weight: "10" },
      { at: iso(10), weight: 10 },
    ]);
    expect(pts.map((p) => [p.t - T0, p.weight])).toEqual([
      [0, 0],
      [10_000, 10],
      [20_000, 25],
    ]);
  });
});

describe("stepChart", () => {
  it("holds each weight until the next change, then steps vertically, up to the end time", () => {
    const pts = weightPoints([
      { at: iso(0), weight: 0 },
      { at: iso(25), weight: 10 },
      { at: iso(50), weight: 50 },
    ]);
    const chart = stepChart(pts, T0 + 100_000, BOX)!;
    expect(chart.line).toBe("M10 100 H35 V90 H60 V50 H110");
    expect(chart.area).toBe("M10 100 H35 V90 H60 V50 H110 V100 H10 Z");
    expect(chart.markers.map((m) => [m.x, m.y, m.weight])).toEqual([
      [10, 100, 0],
      [35, 90, 10],
      [60, 50, 50],
    ]);
    expect(chart.start).toBe(T0);
    expect(chart.end).toBe(T0 + 100_000);
  });

  it("puts the 0–100% ticks from the bottom to the top of the plot", () => {
    const chart = stepChart(weightPoints([{ at: iso(0), weight: 30 }]), T0 + 1000, BOX)!;
    expect(chart.yTicks).toEqual([
      { value: 0, y: 100 },
      { value: 25, y: 75 },
      { value: 50, y: 50 },
      { value: 75, y: 25 },
      { value: 100, y: 0 },
    ]);
  });

  it("draws a single point as a flat line across the plot", () => {
    const chart = stepChart(weightPoints([{ at: iso(0), weight: 30 }]), T0, BOX)!;
    expect(chart.line).toBe("M10 70 H110");
  });

  it("ends at the last point when the end time is earlier (clock skew)", () => {
    const pts = weightPoints([
      { at: iso(0), weight: 0 },
      { at: iso(10), weight: 100 },
    ]);
    const chart = stepChart(pts, T0 + 5_000, BOX)!;
    expect(chart.end).toBe(T0 + 10_000);
    expect(chart.line).toBe("M10 100 H110 V0 H110");
  });

  it("clamps weights outside 0–100 and returns null without points", () => {
    const chart = stepChart(weightPoints([{ at: iso(0), weight: 150 }]), T0 + 1000, BOX)!;
    expect(chart.markers[0].y).toBe(0);
    expect(stepChart([], T0, BOX)).toBeNull();
  });
});

describe("weightSummary", () => {
  it("says every change and the latest weight", () => {
    const pts = weightPoints([
      { at: iso(0), weight: 0 },
      { at: iso(60), weight: 10 },
    ]);
    expect(weightSummary(pts, (at) => at.slice(11, 19))).toBe(
      "Canary weight over time, 2 changes: 0% at 10:00:00, 10% at 10:01:00. Latest: 10%.",
    );
    expect(weightSummary([], String)).toBe("Canary weight over time: no weight recorded yet.");
  });
});
