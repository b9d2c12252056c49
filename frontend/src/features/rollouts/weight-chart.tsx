import { formatDateTime } from "@/lib/format";
import { stepChart, weightPoints, weightSummary, type ChartBox } from "./chart";

const BOX: ChartBox = { width: 640, height: 200, top: 12, right: 16, bottom: 28, left: 44 };
const timeOfDay = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

function formatTime(iso: string | number): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : timeOfDay.format(d);
}

/**
 * Canary weight over time as an SVG step chart. Screen readers get a one-sentence summary (the
 * image's name) and the points as a visually hidden table.
 */
export function WeightChart({ weights, end, service }: { weights: Record<string, unknown>[]; end: number; service: string }) {
  const points = weightPoints(weights);
  const chart = stepChart(points, end, BOX);
  if (!chart) {
    return (
      <p className="text-sm text-muted-foreground">
        No weight recorded yet: the first point appears as soon as the rollout sets the canary&apos;s starting weight.
      </p>
    );
  }
  const { plot } = chart;
  return (
    <div className="grid gap-2">
      <svg
        viewBox={`0 0 ${BOX.width} ${BOX.height}`}
        role="img"
        aria-label={weightSummary(points, formatTime)}
        className="h-auto w-full max-w-3xl text-muted-foreground"
        data-testid="weight-chart"
      >
        {chart.yTicks.map((t) => (
          <g key={t.value}>
            <line x1={plot.left} x2={plot.right} y1={t.y} y2={t.y} className="stroke-border" strokeWidth={1} />
            <text x={plot.left - 6} y={t.y} textAnchor="end" dominantBaseline="middle" className="fill-muted-foreground text-[11px]">
              {t.value}%
            </text>
          </g>
        ))}
        <text x={plot.left} y={BOX.height - 6} textAnchor="start" className="fill-muted-foreground text-[11px]">
          {formatTime(chart.start)}
        </text>
        <text x={plot.right} y={BOX.height - 6} textAnchor="end" className="fill-muted-foreground text-[11px]">
          {formatTime(chart.end)}
        </text>
        <path d={chart.area} className="fill-sky-600/15 dark:fill-sky-400/20" stroke="none" />
        <path
          d={chart.line}
          fill="none"
          className="stroke-sky-700 dark:stroke-sky-300"
          strokeWidth={2}
          strokeLinejoin="round"
          data-testid="weight-line"
        />
        {chart.markers.map((m, i) => (
          <circle key={i} cx={m.x} cy={m.y} r={3} className="fill-sky-700 dark:fill-sky-300" />
        ))}
      </svg>
      <table className="sr-only">
        <caption>Canary weight of {service} over time</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Weight</th>
          </tr>
        </thead>
        <tbody>
          {points.map((p, i) => (
            <tr key={i}>
              <td>{formatDateTime(p.at, true)}</td>
              <td>{p.weight}%</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
