/**
 * Geometry of the weight-over-time step chart (pure, so it can be tested without a DOM). The
 * weight holds between changes, so the line moves horizontally, then vertically at each change.
 */

export interface WeightPoint {
  /** Milliseconds since the epoch. */
  t: number;
  /** Canary weight in %, 0–100. */
  weight: number;
  at: string;
}

/** `weights` as stored ({at, weight}), parsed and in time order; malformed entries are dropped. */
export function weightPoints(raw: readonly Record<string, unknown>[]): WeightPoint[] {
  const out: WeightPoint[] = [];
  for (const r of raw) {
    const at = typeof r.at === "string" ? r.at : "";
    const t = Date.parse(at);
    if (Number.isNaN(t) || typeof r.weight !== "number" || !Number.isFinite(r.weight)) continue;
    out.push({ t, weight: r.weight, at });
  }
  return out.map((p, i) => [p, i] as const).sort((a, b) => a[0].t - b[0].t || a[1] - b[1]).map(([p]) => p);
}

export interface ChartBox {
  width: number;
  height: number;
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export interface StepChart {
  /** The line: horizontal while the weight holds, vertical where it changes. */
  line: string;
  /** The same outline closed down to 0%, for a light fill. */
  area: string;
  /** One marker per recorded point. */
  markers: { x: number; y: number; weight: number; at: string }[];
  yTicks: { value: number; y: number }[];
  /** Time domain in ms: the first point to `end` (or the last point, if later). */
  start: number;
  end: number;
  plot: { left: number; right: number; top: number; bottom: number };
}

const r2 = (n: number) => Math.round(n * 100) / 100;
const clampWeight = (w: number) => Math.min(100, Math.max(0, w));

/** Lays out `points` from the first one to `end` (now, or when the rollout finished). */
export function stepChart(points: readonly WeightPoint[], end: number, box: ChartBox): StepChart | null {
  if (!points.length) return null;
  const start = points[0].t;
  const last = points[points.length - 1].t;
  const stop = Math.max(end, last);
  const span = stop > start ? stop - start : 1;
  const plot = { left: box.left, right: box.width - box.right, top: box.top, bottom: box.height - box.bottom };
  const x = (t: number) => r2(plot.left + ((t - start) / span) * (plot.right - plot.left));
  const y = (w: number) => r2(plot.top + (1 - clampWeight(w) / 100) * (plot.bottom - plot.top));

  const first = points[0];
  let line = `M${x(first.t)} ${y(first.weight)}`;
  for (const p of points.slice(1)) line += ` H${x(p.t)} V${y(p.weight)}`;
  line += ` H${stop > start ? x(stop) : r2(plot.right)}`;
  const area = `${line} V${y(0)} H${x(first.t)} Z`;

  return {
    line,
    area,
    markers: points.map((p) => ({ x: x(p.t), y: y(p.weight), weight: p.weight, at: p.at })),
    yTicks: [0, 25, 50, 75, 100].map((value) => ({ value, y: y(value) })),
    start,
    end: stop,
    plot,
  };
}

/** The chart in one sentence, for its accessible name. */
export function weightSummary(points: readonly WeightPoint[], formatTime: (iso: string) => string): string {
  if (!points.length) return "Canary weight over time: no weight recorded yet.";
  const steps = points.map((p) => `${p.weight}% at ${formatTime(p.at)}`).join(", ");
  const n = points.length;
  return `Canary weight over time, ${n} change${n === 1 ? "" : "s"}: ${steps}. Latest: ${points[n - 1].weight}%.`;
}
