import { Area, CartesianGrid, ComposedChart, Legend, Line, ReferenceDot, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { BudgetDetail } from "@/client/types.gen";
import { formatDateTime } from "@/lib/format";
import { formatUsd } from "./model";

interface Point {
  t: number;
  spent?: number;
  expected?: number;
  band?: [number, number];
}

/** Cumulative spend and the forecast band on one time axis (spend until now, forecast after). */
function burndownPoints(b: Pick<BudgetDetail, "burndown" | "forecast">): Point[] {
  const byTime = new Map<number, Point>();
  const at = (ts: string) => {
    const t = new Date(ts).getTime();
    const p = byTime.get(t) ?? { t };
    byTime.set(t, p);
    return p;
  };
  for (const p of b.burndown) at(p.ts).spent = p.spentUsd;
  for (const f of b.forecast) {
    const p = at(f.ts);
    p.expected = f.expected;
    p.band = [f.low, f.high];
  }
  return [...byTime.values()].sort((a, c) => a.t - c.t);
}

const tick = (t: number) => new Date(t).toLocaleDateString(undefined, { month: "short", day: "numeric" });

/**
 * The period's burndown: cumulative spend against the cap line and threshold lines, with the
 * forecast (expected line and low–high band) to the period's end. A summary sentence carries the
 * same numbers for screen readers.
 */
export function BurndownChart({ budget }: { budget: BudgetDetail }) {
  const data = burndownPoints(budget);
  const cap = budget.capUsd;
  const last = budget.burndown.at(-1);
  // the whole period on the axis, so "now" sits where it is in the period and the forecast has room
  const domain: [number | "dataMin", number | "dataMax"] = [
    budget.periodStart ? new Date(budget.periodStart).getTime() : "dataMin",
    budget.periodEnd ? new Date(budget.periodEnd).getTime() : "dataMax",
  ];
  const summary = `Spent ${formatUsd(budget.spentUsd)}${cap !== null ? ` of a ${formatUsd(cap)} cap` : ""}${
    budget.forecastTotal !== null ? `; forecast ${formatUsd(budget.forecastTotal)} by the period's end` : ""
  }. The chart counts whole hours: spend of the hour in progress shows once it has ended${last ? ` (last point ${formatDateTime(last.ts)})` : ""}.`;
  if (!data.length) {
    return <p className="text-sm text-muted-foreground">No spend recorded in this period yet.</p>;
  }
  return (
    <figure className="grid gap-2" aria-label="Burndown: cumulative spend, cap and forecast">
      <div className="h-72 w-full" aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart accessibilityLayer={false} data={data} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" className="stroke-border" />
            <XAxis dataKey="t" type="number" scale="time" domain={domain} tickFormatter={tick} fontSize={12} />
            <YAxis tickFormatter={(v: number) => formatUsd(v)} width={80} fontSize={12} />
            <Tooltip labelFormatter={(t) => formatDateTime(new Date(Number(t)).toISOString())} formatter={(v) => (Array.isArray(v) ? v.map((x) => formatUsd(Number(x))).join(" – ") : formatUsd(Number(v)))} />
            <Legend />
            <Area dataKey="band" name="Forecast range" stroke="none" fill="var(--color-chart-2, #60a5fa)" fillOpacity={0.25} isAnimationActive={false} connectNulls />
            <Line dataKey="expected" name="Forecast" stroke="var(--color-chart-2, #2563eb)" strokeDasharray="6 3" dot={false} isAnimationActive={false} connectNulls />
            <Line dataKey="spent" name="Spent" stroke="var(--color-chart-1, #0f766e)" strokeWidth={2} dot={false} isAnimationActive={false} connectNulls />
            {last ? <ReferenceDot x={new Date(last.ts).getTime()} y={last.spentUsd} r={4} fill="var(--color-chart-1, #0f766e)" stroke="none" /> : null}
            {cap !== null ? <ReferenceLine y={cap} stroke="#dc2626" strokeWidth={2} label={{ value: `Cap ${formatUsd(cap)}`, position: "insideTopLeft", fontSize: 12 }} /> : null}
            {cap !== null
              ? budget.thresholds
                  .filter((t) => t < 100)
                  .map((t) => <ReferenceLine key={t} y={(cap * t) / 100} stroke="#d97706" strokeDasharray="4 4" label={{ value: `${t}%`, position: "insideRight", fontSize: 11 }} />)
              : null}
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <figcaption className="text-sm text-muted-foreground">{summary}</figcaption>
    </figure>
  );
}
