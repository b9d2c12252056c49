import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { BellOffIcon, CoinsIcon, FlaskConicalIcon, RefreshCwIcon, RepeatIcon, TimerIcon, type LucideIcon } from "lucide-react";
import { useId, type ReactNode } from "react";
import { useSearchParams } from "react-router";
import { insightsGetOptions } from "@/client/@tanstack/react-query.gen";
import type { CostCenter, FlakyPipeline, FlakyTest, NoisyAlert, SlowStep } from "@/client/types.gen";
import { DataTable, type Column } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Skeleton } from "@/components/ui/skeleton";
import { formatDateTime } from "@/lib/format";
import { useCan } from "@/features/auth/session";
import { RequirePermission } from "@/features/auth/require-permission";
import { formatDuration } from "@/features/runs/format";
import { costCenterHref, daysLabel, DEFAULT_DAYS, dimensionLabel, formatRate, formatUsd, INSIGHT_DAYS, parseDays, pipelineRunsHref } from "./insights";

const LIMIT = 10;
const count = new Intl.NumberFormat("en-US");
const LINK = "font-medium underline underline-offset-4 hover:no-underline";

function PipelineLink({ name }: { name: string }) {
  return (
    <EnvLink to={pipelineRunsHref(name)} className={LINK} title={`Runs of ${name}`}>
      {name}
    </EnvLink>
  );
}

const commitsColumn = <T extends { commits: number }>(): Column<T> => ({
  id: "commits",
  header: "Flaky commits",
  className: "text-right tabular-nums",
  cell: (r) => count.format(r.commits),
});

const flakyTestColumns: Column<FlakyTest>[] = [
  { id: "test", header: "Test", cell: (r) => <span className="font-mono text-xs break-all">{r.test}</span> },
  { id: "pipeline", header: "Pipeline", cell: (r) => <PipelineLink name={r.pipeline} /> },
  commitsColumn<FlakyTest>(),
];

const flakyPipelineColumns: Column<FlakyPipeline>[] = [
  { id: "pipeline", header: "Pipeline", cell: (r) => <PipelineLink name={r.pipeline} /> },
  commitsColumn<FlakyPipeline>(),
];

const slowStepColumns: Column<SlowStep>[] = [
  { id: "step", header: "Step", cell: (r) => <span className="font-mono text-xs break-all">{r.step}</span> },
  { id: "pipeline", header: "Pipeline", cell: (r) => <PipelineLink name={r.pipeline} /> },
  { id: "p95", header: "p95 duration", className: "text-right tabular-nums whitespace-nowrap", cell: (r) => formatDuration(r.p95Ms) },
  { id: "samples", header: "Samples", className: "text-right tabular-nums", cell: (r) => count.format(r.samples) },
];

const noisyAlertColumns: Column<NoisyAlert>[] = [
  {
    id: "name",
    header: "Alert",
    cell: (r) => (
      <span className="grid gap-0.5">
        <span className="font-medium">{r.name}</span>
        <span className="font-mono text-xs break-all text-muted-foreground">{r.fingerprint}</span>
      </span>
    ),
  },
  { id: "fires", header: "Fires", className: "text-right tabular-nums", cell: (r) => count.format(r.fires) },
  { id: "perDay", header: "Fires / day", className: "text-right tabular-nums", cell: (r) => formatRate(r.firesPerDay) },
];

const costColumns: Column<CostCenter>[] = [
  {
    id: "value",
    header: "Cost center",
    cell: (r) => {
      const href = costCenterHref(r.dimension, r.value);
      return (
        <span className="flex flex-wrap items-center gap-2">
          <Badge variant="secondary">{dimensionLabel(r.dimension)}</Badge>
          {href ? (
            <EnvLink to={href} className={LINK} title={`Runs of ${dimensionLabel(r.dimension)} ${r.value}`}>
              {r.value}
            </EnvLink>
          ) : (
            <span className="font-medium">{r.value}</span>
          )}
        </span>
      );
    },
  },
  { id: "cost", header: "Cost (USD)", className: "text-right tabular-nums", cell: (r) => formatUsd(r.costUsd) },
];

function InsightCard<T>({
  id,
  title,
  description,
  columns,
  rows,
  rowKey,
  empty,
  footer,
}: {
  id: string;
  title: string;
  description: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  empty: { icon: LucideIcon; title: string; description: ReactNode };
  footer?: ReactNode;
}) {
  return (
    <Card aria-labelledby={`${id}-title`} data-testid={`insight-${id}`}>
      <CardHeader>
        <CardTitle id={`${id}-title`}>{title}</CardTitle>
        <CardDescription>{description}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <DataTable caption={title} columns={columns} rows={rows} rowKey={rowKey} isPending={false} empty={empty} />
        {footer}
      </CardContent>
    </Card>
  );
}

function InsightsView() {
  const selectId = useId();
  const mayReadAlerts = useCan("system:read");
  const [params, setParams] = useSearchParams();
  const days = parseDays(params.get("days"));
  const q = useQuery({ ...insightsGetOptions({ query: { days, limit: LIMIT } }), placeholderData: keepPreviousData });
  const data = q.data;
  const stale = q.isPlaceholderData;

  const setDays = (value: string) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (Number(value) === DEFAULT_DAYS) next.delete("days");
        else next.set("days", value);
        return next;
      },
      { replace: true },
    );

  return (
    <>
      <PageHeader
        title="Insights"
        description="What's hot and cold: the flakiest tests and pipelines, the slowest steps, the noisiest alerts and where the money goes, over the window you pick."
      />
      <div className="grid grid-cols-1 gap-4">
        <div className="flex flex-wrap items-end gap-x-4 gap-y-2">
          <div className="grid gap-1.5">
            <Label htmlFor={selectId}>Look back</Label>
            <NativeSelect id={selectId} className="w-44" value={String(days)} onChange={(e) => setDays(e.target.value)}>
              {INSIGHT_DAYS.map((d) => (
                <option key={d} value={d}>
                  {daysLabel(d)}
                </option>
              ))}
            </NativeSelect>
          </div>
          <p className="pb-2 text-sm text-muted-foreground" role="status" aria-live="polite" data-testid="insights-since">
            {stale || (q.isFetching && !data) ? "Loading…" : data ? `Since ${formatDateTime(data.since)}, top ${LIMIT} of each.` : ""}
          </p>
          {data ? (
            <Button variant="outline" size="sm" className="mb-0.5 ml-auto" onClick={() => void q.refetch()} disabled={q.isFetching}>
              <RefreshCwIcon aria-hidden="true" />
              {q.isFetching ? "Refreshing…" : "Refresh"}
            </Button>
          ) : null}
        </div>
        {q.error && !data ? (
          <ErrorState error={q.error} title="Could not load the insights" onRetry={() => void q.refetch()} />
        ) : !data ? (
          <div className="grid gap-4 lg:grid-cols-2" aria-busy="true">
            {Array.from({ length: 5 }, (_, i) => (
              <div key={i} className="grid gap-3 rounded-xl border p-5">
                <Skeleton className="h-5 w-40" />
                <Skeleton className="h-4 w-3/4" />
                <Skeleton className="h-32 w-full" />
              </div>
            ))}
          </div>
        ) : (
          <>
            {q.error ? <ErrorState error={q.error} title="Could not refresh the insights" onRetry={() => void q.refetch()} compact /> : null}
            <div className="grid gap-4 lg:grid-cols-2" aria-busy={stale || undefined} data-testid="insights">
              <InsightCard
                id="flaky-tests"
                title="Flaky tests"
                description="Tests that both passed and failed on the same commit of a pipeline, by how many commits."
                columns={flakyTestColumns}
                rows={data.flakyTests}
                rowKey={(r) => `${r.pipeline}\u0000${r.test}`}
                empty={{
                  icon: FlaskConicalIcon,
                  title: "No flaky tests",
                  description:
                    "Steps that upload JUnit XML reports as artifacts are compared across attempts and commits: a test that passes and fails on the same commit shows up here. No report in this window disagreed with itself.",
                }}
              />
              <InsightCard
                id="flaky-pipelines"
                title="Flaky pipelines"
                description="Pipelines whose runs of the same commit both succeeded and failed, by how many commits."
                columns={flakyPipelineColumns}
                rows={data.flakyPipelines}
                rowKey={(r) => r.pipeline}
                empty={{
                  icon: RepeatIcon,
                  title: "No flaky pipelines",
                  description:
                    "Finished runs are grouped by pipeline and commit: a commit that both succeeded and failed makes its pipeline flaky. Runs need a commit (a source ref) to be compared.",
                }}
              />
              <InsightCard
                id="slowest-steps"
                title="Slowest steps"
                description="The 95th-percentile duration of each pipeline step over the finished runs of the window."
                columns={slowStepColumns}
                rows={data.slowestSteps}
                rowKey={(r) => `${r.pipeline}\u0000${r.step}`}
                empty={{
                  icon: TimerIcon,
                  title: "No step timings yet",
                  description:
                    "Every step of a run that succeeds or fails records its duration; once runs finish in this window, their slowest steps appear here.",
                }}
              />
              <InsightCard
                id="noisy-alerts"
                title="Noisy alerts"
                description="Alerts active in the window, by how often they fired (re-fires included) and their rate per day."
                columns={noisyAlertColumns}
                rows={data.noisyAlerts}
                rowKey={(r) => r.fingerprint}
                empty={{
                  icon: BellOffIcon,
                  title: "No alerts in this window",
                  description:
                    "Burn-rate and synthetic alerts are counted each time they fire; an alert that keeps firing and resolving rises to the top here.",
                }}
                footer={
                  mayReadAlerts && data.noisyAlerts.length ? (
                    <p className="text-sm">
                      <EnvLink to="/observability/alerts" className={LINK}>
                        Open the alerts list
                      </EnvLink>{" "}
                      to acknowledge or assign them.
                    </p>
                  ) : null
                }
              />
              <InsightCard
                id="cost-centers"
                title="Top cost centers"
                description="What finished runs cost, summed by pipeline, environment and run label."
                columns={costColumns}
                rows={data.topCostCenters}
                rowKey={(r) => `${r.dimension}\u0000${r.value}`}
                empty={{
                  icon: CoinsIcon,
                  title: "No cost recorded",
                  description:
                    "Runs accrue cost from the runner pools their steps use; once runs with a cost finish in this window, the biggest spenders by pipeline, environment and label appear here.",
                }}
              />
            </div>
          </>
        )}
      </div>
    </>
  );
}

export function InsightsPage() {
  return (
    <RequirePermission anyOf={["runs:read"]} title="Insights">
      <InsightsView />
    </RequirePermission>
  );
}

export const Component = InsightsPage;
