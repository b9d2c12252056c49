import { ActivityIcon } from "lucide-react";
import { useMemo, type ReactNode } from "react";
import { DataTable, type Column } from "@/components/data-table";
import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/utils";
import { formatCost, formatDuration, statusTone, TONE_FILL } from "./format";
import type { RunDetail } from "./queries";
import { RunTrace } from "./run-trace";
import { StatusBadge } from "./status-badge";
import { computeStepMetrics, formatParallelism, type StepMetric } from "./step-metrics";

const count = new Intl.NumberFormat();

function Figure({ label, value, hint, testId }: { label: string; value: ReactNode; hint?: ReactNode; testId?: string }) {
  return (
    <div className="grid content-start gap-0.5 rounded-lg border p-3">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="text-lg font-semibold tabular-nums" data-testid={testId}>
        {value}
      </dd>
      {hint ? <dd className="text-xs text-muted-foreground">{hint}</dd> : null}
    </div>
  );
}

const columns: Column<StepMetric>[] = [
  {
    id: "step",
    header: "Step",
    cell: (m) => (
      <div className="grid gap-0.5">
        <span className="flex flex-wrap items-center gap-1.5">
          <span className="font-medium">{m.name}</span>
          {m.critical ? <Badge variant="outline">critical path</Badge> : null}
        </span>
        {m.name !== m.key ? <span className="font-mono text-xs text-muted-foreground">{m.key}</span> : null}
      </div>
    ),
  },
  {
    id: "duration",
    header: "Duration",
    className: "min-w-48",
    cell: (m) => (
      <div className="flex items-center gap-2">
        <span className="relative block h-2.5 w-28 shrink-0 rounded-sm bg-muted" aria-hidden="true">
          <span
            className={cn("absolute inset-y-0 left-0 rounded-sm", TONE_FILL[statusTone(m.status)], m.share > 0 && "min-w-0.5")}
            style={{ width: `${Math.round(m.share * 1000) / 10}%` }}
          />
        </span>
        <span className="text-sm whitespace-nowrap tabular-nums">
          {formatDuration(m.durationMs)}
          {m.live && m.durationMs !== null ? " so far" : ""}
        </span>
      </div>
    ),
  },
  {
    id: "attempts",
    header: "Attempts",
    className: "tabular-nums",
    cell: (m) =>
      m.attempts > 1 ? (
        <span>
          {m.attempts}
          <span className="block text-xs text-muted-foreground">{formatDuration(m.retriedMs)} retried</span>
        </span>
      ) : (
        m.attempts || "—"
      ),
  },
  { id: "pool", header: "Pool", cell: (m) => (m.kind === "run" ? <span className="font-mono text-xs">{m.pool}</span> : <span className="text-muted-foreground">{m.kind}</span>) },
  { id: "status", header: "Status", cell: (m) => <StatusBadge status={m.status} /> },
  { id: "cost", header: "Cost", className: "tabular-nums", cell: (m) => formatCost(m.costUsd) },
  { id: "logs", header: "Log lines", className: "tabular-nums", cell: (m) => count.format(m.logLines) },
];

/** Per-step duration, attempts, pool, status, cost and log lines, with the run's totals above. */
export function RunStepMetrics({ run, now }: { run: RunDetail; now: number }) {
  const { steps, summary } = useMemo(() => computeStepMetrics(run.steps, run, now), [run, now]);
  const running = !run.finishedAt && Boolean(run.startedAt);
  const soFar = running ? " so far" : "";
  return (
    <section className="grid gap-3" aria-labelledby={`step-metrics-${run.id}`} data-testid="step-metrics">
      <div className="grid gap-1">
        <h2 id={`step-metrics-${run.id}`} className="text-lg font-semibold">
          Step metrics
        </h2>
        <p className="text-sm text-muted-foreground">
          How the run spent its time: each step's duration against the longest one, and what ran in parallel. The critical path is
          the longest chain of steps that wait on each other; speeding up anything else does not shorten the run.
        </p>
      </div>
      <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3 xl:grid-cols-6">
        <Figure label="Wall time" value={`${formatDuration(summary.wallMs)}${summary.wallMs !== null ? soFar : ""}`} testId="metric-wall" />
        <Figure
          label="Step time (summed)"
          value={formatDuration(summary.started ? summary.totalStepMs : null)}
          hint={`${summary.started} of ${summary.steps} step${summary.steps === 1 ? "" : "s"} started`}
          testId="metric-step-time"
        />
        <Figure
          label="Parallelism"
          value={formatParallelism(summary.parallelism)}
          hint="summed step time ÷ wall time"
          testId="metric-parallelism"
        />
        <Figure
          label="Critical path"
          value={formatDuration(summary.criticalPath.length ? summary.criticalPathMs : null)}
          hint={
            summary.criticalPath.length ? (
              <>
                {summary.criticalPath.length} step{summary.criticalPath.length === 1 ? "" : "s"}
                {summary.overheadMs !== null ? `; ${formatDuration(summary.overheadMs)} of the wall time outside it` : ""}
              </>
            ) : (
              "no step has taken time yet"
            )
          }
          testId="metric-critical-path"
        />
        <Figure
          label="Retries"
          value={summary.retries}
          hint={summary.retries ? `${summary.retriedSteps} step${summary.retriedSteps === 1 ? "" : "s"}, ${formatDuration(summary.retriedMs)} spent on failed attempts` : "every step passed on its first attempt"}
          testId="metric-retries"
        />
        <Figure
          label="Cost"
          value={formatCost(run.costUsd)}
          hint={`${count.format(summary.logLines)} log line${summary.logLines === 1 ? "" : "s"}`}
          testId="metric-cost"
        />
      </dl>
      <DataTable
        caption="Step metrics: duration, attempts, pool, status, cost and log lines of each step"
        columns={columns}
        rows={steps}
        rowKey={(m) => m.key}
        isPending={false}
        rowClassName={(m) => (m.critical ? "bg-muted/40" : undefined)}
        empty={{ icon: ActivityIcon, title: "No steps", description: "This run has no planned steps, so there is nothing to measure." }}
      />
    </section>
  );
}

/**
 * The Observability tab: the step metrics computed from the run already on screen, then the
 * run's OpenTelemetry trace (API request → workflow → step activities).
 */
export function RunObservability({ run, now }: { run: RunDetail; now: number }) {
  return (
    <div className="grid min-w-0 gap-8">
      <RunStepMetrics run={run} now={now} />
      <section className="grid gap-3" aria-labelledby={`trace-${run.id}`}>
        <div className="grid gap-1">
          <h2 id={`trace-${run.id}`} className="text-lg font-semibold">
            Trace
          </h2>
          <p className="text-sm text-muted-foreground">
            The run's spans across the API, the worker and the runners. Expand a row (click, Enter or Space) for its attributes.
          </p>
        </div>
        <RunTrace run={run} />
      </section>
    </div>
  );
}
