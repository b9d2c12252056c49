import { useQuery } from "@tanstack/react-query";
import { DownloadIcon } from "lucide-react";
import { useId, useMemo, useState, type FormEvent } from "react";
import {
  Area,
  Bar,
  BarChart,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ReferenceDot,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import type { ArtifactCostPublic, CostAnomaly, CostDriver, CostExplorerPublic, CostForecastPublic } from "@/client/types.gen";
import { DataTable, type Column } from "@/components/data-table";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Skeleton } from "@/components/ui/skeleton";
import { formatDateTime, isoToLocalInput, localInputToIso } from "@/lib/format";
import { definedOnly, useUrlFilters } from "@/lib/url-state";
import { RequirePermission } from "@/features/auth/require-permission";
import { bucketOf, FILTER_DIMS, formatPercent, formatTokens, formatUsd, GROUP_DIMS, RANGES, rangeBounds, seriesLabel } from "./model";
import { anomaliesQueryOptions, forecastQueryOptions, perArtifactQueryOptions, seriesQueryOptions, topQueryOptions } from "./queries";

const KEYS = ["range", "from", "to", "step", "group", ...FILTER_DIMS] as const;
const PALETTE = ["#2563eb", "#0f766e", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777", "#4b5563", "#7c3aed"];
const SERIES_LIMIT = 10;

const tickDay = (t: number, step: string) =>
  new Date(t).toLocaleString(undefined, step === "1d" ? { month: "short", day: "numeric" } : { month: "short", day: "numeric", hour: "2-digit" });

const MAX_BUCKETS = 2000;

/**
 * Series → one row per bucket of the range with a column per group (the stacked chart's data);
 * buckets without spend are rows too, so the time axis is continuous.
 */
function pivot(data: CostExplorerPublic): { rows: Record<string, number>[]; labels: string[] } {
  const labels = data.series.map((s) => seriesLabel(s.key));
  const byTs = new Map<number, Record<string, number>>();
  const size = data.step === "1d" ? 24 * 3_600_000 : 3_600_000;
  const end = new Date(data.to).getTime();
  for (let t = bucketOf(data.from, data.step), n = 0; t < end && n < MAX_BUCKETS; t += size, n++) byTs.set(t, { t });
  data.series.forEach((s, i) => {
    for (const p of s.points) {
      const t = new Date(p.ts).getTime();
      const row = byTs.get(t) ?? { t };
      row[`s${i}`] = (row[`s${i}`] ?? 0) + p.usd;
      byTs.set(t, row);
    }
  });
  return { rows: [...byTs.values()].sort((a, b) => a.t - b.t), labels };
}

function SeriesChart({ data, anomalies }: { data: CostExplorerPublic; anomalies: CostAnomaly[] }) {
  const { rows, labels } = pivot(data);
  const marks = [...new Set(anomalies.map((a) => bucketOf(a.ts, data.step)))];
  if (!data.series.length) return <p className="text-sm text-muted-foreground">No spend in this range.</p>;
  return (
    <div className="h-80 w-full" aria-hidden="true">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart accessibilityLayer={false} data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" className="stroke-border" />
          <XAxis dataKey="t" tickFormatter={(t: number) => tickDay(t, data.step)} fontSize={12} />
          <YAxis tickFormatter={(v: number) => formatUsd(v)} width={80} fontSize={12} />
          <Tooltip labelFormatter={(t) => formatDateTime(new Date(Number(t)).toISOString())} formatter={(v) => formatUsd(Number(v))} />
          <Legend />
          {labels.map((l, i) => (
            <Bar key={l} dataKey={`s${i}`} name={l} stackId="spend" fill={PALETTE[i % PALETTE.length]} isAnimationActive={false} />
          ))}
          {marks.map((t) => (
            <ReferenceLine key={t} x={t} stroke="#dc2626" strokeWidth={2} strokeDasharray="3 3" label={{ value: "anomaly", position: "top", fontSize: 11, fill: "#dc2626" }} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

function ForecastChart({ data }: { data: CostForecastPublic }) {
  const rows = useMemo(() => {
    const m = new Map<number, { t: number; actual?: number; expected?: number; band?: [number, number] }>();
    const at = (ts: string) => {
      const t = new Date(ts).getTime();
      const r = m.get(t) ?? { t };
      m.set(t, r);
      return r;
    };
    for (const a of data.actual) at(a.ts).actual = a.usd;
    for (const f of data.forecast) {
      const r = at(f.ts);
      r.expected = f.expected;
      r.band = [f.low, f.high];
    }
    return [...m.values()].sort((a, b) => a.t - b.t);
  }, [data]);
  const lastActual = data.actual.at(-1);
  return (
    <figure className="grid gap-2" aria-label="Forecast versus actual spend this period">
      {rows.length ? (
        <div className="h-64 w-full" aria-hidden="true">
          <ResponsiveContainer width="100%" height="100%">
            <ComposedChart accessibilityLayer={false} data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
              <CartesianGrid strokeDasharray="3 3" className="stroke-border" />
              <XAxis dataKey="t" type="number" scale="time" domain={[new Date(data.from).getTime(), new Date(data.to).getTime()]} tickFormatter={(t: number) => tickDay(t, "1d")} fontSize={12} />
              <YAxis tickFormatter={(v: number) => formatUsd(v)} width={80} fontSize={12} />
              <Tooltip labelFormatter={(t) => formatDateTime(new Date(Number(t)).toISOString())} formatter={(v) => (Array.isArray(v) ? v.map((x) => formatUsd(Number(x))).join(" – ") : formatUsd(Number(v)))} />
              <Legend />
              <Area dataKey="band" name="Forecast range" stroke="none" fill="#60a5fa" fillOpacity={0.25} isAnimationActive={false} connectNulls />
              <Line dataKey="expected" name="Forecast" stroke="#2563eb" strokeDasharray="6 3" dot={false} isAnimationActive={false} connectNulls />
              <Line dataKey="actual" name="Actual" stroke="#0f766e" strokeWidth={2} dot={false} isAnimationActive={false} connectNulls />
              {lastActual ? <ReferenceDot x={new Date(lastActual.ts).getTime()} y={lastActual.usd} r={4} fill="#0f766e" stroke="none" /> : null}
            </ComposedChart>
          </ResponsiveContainer>
        </div>
      ) : null}
      <figcaption className="text-sm text-muted-foreground" data-testid="forecast-summary">
        Spent {formatUsd(data.spent)} since {formatDateTime(data.from)}
        {data.enoughHistory ? `; at ${formatUsd(data.burnPerHour)}/h the period ends near ${formatUsd(data.projectedTotal)} (${data.method}).` : `; no forecast: ${data.reason}.`} The chart counts whole hours: the hour in progress shows once it has ended.
      </figcaption>
    </figure>
  );
}

const topColumns: Column<CostDriver>[] = [
  { id: "value", header: "Value", cell: (d) => <span className="font-mono text-sm">{d.value || "(none)"}</span> },
  { id: "usd", header: "Spend", cell: (d) => <span className="tabular-nums">{formatUsd(d.usd)}</span> },
  { id: "share", header: "Share", cell: (d) => <span className="tabular-nums">{formatPercent(d.share * 100, 1)}</span> },
  {
    id: "change",
    header: "Change vs previous period",
    cell: (d) => (
      <span className="tabular-nums">
        {d.changeUsd >= 0 ? "+" : ""}
        {formatUsd(d.changeUsd)}
        {d.changeRatio !== null ? ` (${d.changeRatio >= 0 ? "+" : ""}${formatPercent(d.changeRatio * 100, 0)})` : " (new)"}
      </span>
    ),
  },
  { id: "tokens", header: "Tokens", cell: (d) => <span className="tabular-nums">{formatTokens(d.tokens)}</span> },
];

const artifactColumns: Column<ArtifactCostPublic>[] = [
  { id: "pipeline", header: "Pipeline", cell: (r) => <span className="font-mono text-sm">{r.pipeline}</span> },
  { id: "usd", header: "Spend", cell: (r) => <span className="tabular-nums">{formatUsd(r.usd)}</span> },
  { id: "runs", header: "Runs", cell: (r) => <span className="tabular-nums">{r.runs}</span> },
  { id: "artifacts", header: "Artifacts", cell: (r) => <span className="tabular-nums">{r.artifacts}</span> },
  { id: "per", header: "$ per artifact", cell: (r) => <span className="tabular-nums">{r.usdPerArtifact !== null ? formatUsd(r.usdPerArtifact) : "no artifacts"}</span> },
];

const anomalyColumns: Column<CostAnomaly>[] = [
  { id: "ts", header: "Hour", cell: (a) => <span className="whitespace-nowrap">{formatDateTime(a.ts)}</span> },
  { id: "group", header: "Group", cell: (a) => <span className="text-sm">{seriesLabel(a.key)}</span> },
  {
    id: "value",
    header: "Spend vs usual",
    cell: (a) => (
      <span className="tabular-nums">
        <Badge variant={a.direction === "spike" ? "danger" : "warning"}>{a.direction}</Badge> {formatUsd(a.value)} vs {formatUsd(a.expected)} (z {a.score.toFixed(1)})
      </span>
    ),
  },
  {
    id: "drivers",
    header: "Drivers",
    cell: (a) => (
      <ul className="text-sm">
        {a.drivers.map((d) => (
          <li key={`${d.dimension}:${d.value}`}>
            {d.dimension} <span className="font-mono">{d.value || "(none)"}</span>: +{formatUsd(d.excess)} ({formatPercent(d.share * 100, 0)})
          </li>
        ))}
      </ul>
    ),
  },
];

function Filters({ values, set }: { values: Record<(typeof KEYS)[number], string>; set: (p: Partial<Record<(typeof KEYS)[number], string>>) => void }) {
  const [draft, setDraft] = useState(() => Object.fromEntries(FILTER_DIMS.map((d) => [d, values[d]])) as Record<(typeof FILTER_DIMS)[number], string>);
  const groupId = useId();
  const groups = (values.group || "pipeline").split(",").filter(Boolean);
  const toggle = (d: string, on: boolean) => {
    const next = on ? [...groups, d] : groups.filter((g) => g !== d);
    set({ group: next.length ? next.join(",") : "none" });
  };
  const apply = (e: FormEvent) => {
    e.preventDefault();
    set(draft);
  };
  return (
    <div className="grid gap-4 rounded-lg border p-4">
      <div className="flex flex-wrap items-end gap-4">
        <FormField label="Time range">
          {(p) => (
            <NativeSelect {...p} value={values.range || "month"} onChange={(e) => set({ range: e.target.value === "month" ? "" : e.target.value })}>
              {RANGES.map((r) => (
                <option key={r.value} value={r.value}>
                  {r.label}
                </option>
              ))}
            </NativeSelect>
          )}
        </FormField>
        {values.range === "custom" ? (
          <>
            <FormField label="From">
              {(p) => <Input {...p} type="datetime-local" value={isoToLocalInput(values.from)} onChange={(e) => set({ from: localInputToIso(e.target.value) })} />}
            </FormField>
            <FormField label="To">
              {(p) => <Input {...p} type="datetime-local" value={isoToLocalInput(values.to)} onChange={(e) => set({ to: localInputToIso(e.target.value) })} />}
            </FormField>
          </>
        ) : null}
        <FormField label="Step">
          {(p) => (
            <NativeSelect {...p} value={values.step} onChange={(e) => set({ step: e.target.value })}>
              <option value="">Automatic</option>
              <option value="1h">Hour</option>
              <option value="1d">Day</option>
            </NativeSelect>
          )}
        </FormField>
        <fieldset className="grid gap-2" aria-describedby={groupId}>
          <legend className="text-sm font-medium">Group by</legend>
          <div className="flex flex-wrap gap-3">
            {GROUP_DIMS.map((d) => (
              <span key={d} className="flex items-center gap-1.5">
                <Checkbox id={`${groupId}-${d}`} checked={groups.includes(d)} onCheckedChange={(c) => toggle(d, c === true)} />
                <Label htmlFor={`${groupId}-${d}`} className="font-normal">
                  {d}
                </Label>
              </span>
            ))}
          </div>
          <p id={groupId} className="sr-only">
            The chart stacks one series per combination of the chosen dimensions.
          </p>
        </fieldset>
      </div>
      <form onSubmit={apply} className="flex flex-wrap items-end gap-3" aria-label="Filters">
        {FILTER_DIMS.map((d) => (
          <div key={d} className="w-36">
            <FormField label={d[0].toUpperCase() + d.slice(1)}>
              {(p) => <Input {...p} value={draft[d]} onChange={(e) => setDraft({ ...draft, [d]: e.target.value })} placeholder="any" autoComplete="off" />}
            </FormField>
          </div>
        ))}
        <Button type="submit" variant="outline">
          Apply filters
        </Button>
      </form>
    </div>
  );
}

function Explorer() {
  const { values, set } = useUrlFilters(KEYS);
  const [now] = useState(() => Date.now());
  const bounds = rangeBounds(values.range || "month", values.from, values.to, now);
  const filters = definedOnly({ ...bounds, ...Object.fromEntries(FILTER_DIMS.map((d) => [d, values[d]])) });
  const groups = values.group === "none" ? [] : (values.group || "pipeline").split(",").filter(Boolean);
  const groupBy = groups.join(",");
  const step = values.step === "1h" || values.step === "1d" ? values.step : undefined;
  const series = useQuery(seriesQueryOptions({ ...filters, group_by: groupBy, limit: SERIES_LIMIT, ...(step ? { step } : {}) }));
  const top = useQuery(topQueryOptions(filters, groups[0] ?? "pipeline"));
  const anomalies = useQuery(anomaliesQueryOptions(filters, groupBy));
  const { from: _f, to: _t, ...dims } = filters;
  const forecast = useQuery(forecastQueryOptions(dims));
  const perArtifact = useQuery(perArtifactQueryOptions(definedOnly({ from: filters.from, to: filters.to, pipeline: values.pipeline })));
  const exportHref = (format: "csv" | "parquet") => `/api/costs/export?${new URLSearchParams({ format, ...(filters as Record<string, string>) }).toString()}`;

  return (
    <>
      <PageHeader
        title="Cost explorer"
        description="The spend ledger (run steps, gateway requests, manual and imported costs) over time: grouped, filtered, its top drivers, anomalies, forecast and $ per artifact, and exports of the rows themselves."
        actions={
          <div className="flex flex-wrap gap-2">
            <Button variant="outline" asChild>
              <a href={exportHref("csv")} download data-testid="export-csv">
                <DownloadIcon aria-hidden="true" />
                Export CSV
              </a>
            </Button>
            <Button variant="outline" asChild>
              <a href={exportHref("parquet")} download data-testid="export-parquet">
                <DownloadIcon aria-hidden="true" />
                Export Parquet
              </a>
            </Button>
          </div>
        }
      />
      <div className="grid gap-6">
        {/* remounted when the URL's filters change (back/forward, links), so the fields show them */}
        <Filters key={FILTER_DIMS.map((d) => values[d]).join("|")} values={values} set={set} />
        <section aria-labelledby="series-h" className="grid gap-2">
          <div className="flex flex-wrap items-baseline justify-between gap-2">
            <h2 id="series-h" className="text-base font-semibold">
              Spend over time
            </h2>
            {series.data ? (
              <p className="text-sm" data-testid="costs-total">
                Total <span className="font-semibold tabular-nums">{formatUsd(series.data.totalUsd)}</span> · {formatTokens(series.data.totalTokens)} tokens ·{" "}
                {formatDateTime(series.data.from)} – {formatDateTime(series.data.to)}
              </p>
            ) : null}
          </div>
          {series.isPending ? (
            <Skeleton className="h-80 w-full" aria-label="Loading spend" />
          ) : series.error ? (
            <ErrorState error={series.error} title="Could not load the spend" onRetry={() => void series.refetch()} />
          ) : (
            <>
              <SeriesChart data={series.data} anomalies={anomalies.data?.items ?? []} />
              <DataTable
                caption="Spend per group in the range"
                columns={[
                  { id: "group", header: "Group", cell: (s) => seriesLabel(s.key) },
                  { id: "usd", header: "Spend", cell: (s) => <span className="tabular-nums">{formatUsd(s.totalUsd)}</span> },
                  { id: "tokens", header: "Tokens", cell: (s) => <span className="tabular-nums">{formatTokens(s.totalTokens)}</span> },
                ]}
                rows={series.data.series}
                rowKey={(s) => JSON.stringify(s.key)}
                isPending={false}
                empty={{ title: "No spend in this range", description: "Runs, gateway requests and imported costs show here once they are recorded." }}
              />
              {series.data.truncated ? <p className="text-sm text-muted-foreground">Only the {SERIES_LIMIT} largest groups are shown; the total counts them all.</p> : null}
            </>
          )}
        </section>
        <section aria-labelledby="anomalies-h" className="grid gap-2">
          <h2 id="anomalies-h" className="text-base font-semibold">
            Anomalies
          </h2>
          <DataTable
            caption="Hours whose spend departs from the usual, with their drivers"
            columns={anomalyColumns}
            rows={anomalies.data?.items}
            rowKey={(a) => `${JSON.stringify(a.key)}@${a.ts}`}
            isPending={anomalies.isPending}
            error={anomalies.error}
            errorTitle="Could not load the anomalies"
            onRetry={() => void anomalies.refetch()}
            empty={{ title: "No anomalies", description: "No hour in the range departs from its group's usual spend." }}
          />
        </section>
        <section aria-labelledby="top-h" className="grid gap-2">
          <h2 id="top-h" className="text-base font-semibold">
            Top cost drivers by {groups[0] ?? "pipeline"}
          </h2>
          <DataTable
            caption={`Top cost drivers by ${groups[0] ?? "pipeline"}`}
            columns={topColumns}
            rows={top.data?.drivers}
            rowKey={(d) => d.value}
            isPending={top.isPending}
            error={top.error}
            errorTitle="Could not load the top drivers"
            onRetry={() => void top.refetch()}
            empty={{ title: "No spend in this range", description: "Nothing to rank yet." }}
          />
        </section>
        <section aria-labelledby="forecast-h" className="grid gap-2">
          <h2 id="forecast-h" className="text-base font-semibold">
            Forecast vs actual (this month)
          </h2>
          {forecast.isPending ? (
            <Skeleton className="h-64 w-full" aria-label="Loading the forecast" />
          ) : forecast.error ? (
            <ErrorState error={forecast.error} title="Could not load the forecast" onRetry={() => void forecast.refetch()} />
          ) : (
            <ForecastChart data={forecast.data} />
          )}
        </section>
        <section aria-labelledby="artifact-h" className="grid gap-2">
          <h2 id="artifact-h" className="text-base font-semibold">
            $ per artifact
          </h2>
          <DataTable
            caption="Run-step spend per artifact, per pipeline"
            columns={artifactColumns}
            rows={perArtifact.data?.items}
            rowKey={(r) => r.pipeline}
            isPending={perArtifact.isPending}
            error={perArtifact.error}
            errorTitle="Could not load $ per artifact"
            onRetry={() => void perArtifact.refetch()}
            empty={{ title: "No run spend in this range", description: "Pipelines whose runs spent show here with the artifacts they produced." }}
          />
        </section>
      </div>
    </>
  );
}

export function CostsPage() {
  return (
    <RequirePermission anyOf={["budgets:read"]} title="Cost explorer">
      <Explorer />
    </RequirePermission>
  );
}

export const Component = CostsPage;
