import { useQuery } from "@tanstack/react-query";
import { ArrowLeftIcon, ExternalLinkIcon } from "lucide-react";
import type { ReactNode } from "react";
import { useLocation, useParams, useSearchParams } from "react-router";
import { runsGetOptions } from "@/client/@tanstack/react-query.gen";
import { CopyButton } from "@/components/copy-button";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { isStatus } from "@/lib/api-error";
import { formatDateTime } from "@/lib/format";
import { RequirePermission } from "@/features/auth/require-permission";
import { RunAttestations } from "@/features/supply/run-attestations";
import { RunEvidence } from "@/features/supply/run-evidence";
import { formatCost, formatDuration, isTerminalRun } from "./format";
import { useRunsLiveUpdates } from "./live";
import { RunControls } from "./run-controls";
import { RunFailureSummary } from "./run-failure";
import { RunLogs } from "./run-logs";
import { RunArtifacts, RunSteps } from "./run-steps";
import { RunTimeline } from "./run-timeline";
import { RunObservability } from "./run-observability";
import { IsolationBadge, StatusBadge } from "./status-badge";
import { elapsedMs, useNow } from "./use-now";
import type { RunDetail } from "./queries";

const TABS = ["timeline", "logs", "steps", "artifacts", "observability", "attestations", "evidence"] as const;
type Tab = (typeof TABS)[number];
/** Old tab names that links may still carry (`?tab=trace` was the trace's own tab). */
const TAB_ALIASES: Record<string, Tab> = { trace: "observability" };

function tabOf(requested: string | null, hash: string): Tab {
  const t = requested ? (TAB_ALIASES[requested] ?? requested) : null;
  if (t && (TABS as readonly string[]).includes(t)) return t as Tab;
  return hash.startsWith("#L") ? "logs" : "timeline";
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid gap-0.5">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="text-sm">{children}</dd>
    </div>
  );
}

function RunHeader({ run, now }: { run: RunDetail; now: number }) {
  const duration = run.durationMs ?? elapsedMs(run.startedAt, run.finishedAt, now);
  const labels = Object.entries(run.labels ?? {});
  const inputs = Object.entries(run.inputs ?? {});
  return (
    <div className="grid gap-4 rounded-lg border p-4">
      <RunFailureSummary run={run} />
      <dl className="grid grid-cols-2 gap-x-6 gap-y-3 sm:grid-cols-3 lg:grid-cols-5">
        <Fact label="Status">
          <span className="flex flex-wrap items-center gap-1">
            <StatusBadge status={run.status} paused={run.paused} />
            <IsolationBadge isolation={run.isolation} />
          </span>
        </Fact>
        <Fact label="Pipeline">
          <EnvLink to={`/pipelines/${run.pipelineId}`} className="font-medium underline underline-offset-4 hover:no-underline">
            {run.pipelineName}@v{run.version}
          </EnvLink>
        </Fact>
        <Fact label="Environment">
          <Badge variant="outline">{run.env}</Badge>
        </Fact>
        <Fact label="Commit">
          {run.commit ? (
            <span className="flex items-center gap-1">
              <span className="font-mono text-xs" title={run.commit}>
                {run.commit.slice(0, 12)}
              </span>
              <CopyButton value={run.commit} size="sm" variant="ghost" label="Copy" aria-label="Copy the commit id" />
            </span>
          ) : (
            <span className="text-muted-foreground">{run.ref || "no source"}</span>
          )}
          {run.branch ? <span className="block text-xs text-muted-foreground">{run.branch}</span> : null}
        </Fact>
        <Fact label="Owner">{run.owner}</Fact>
        <Fact label="Cost">
          <span className="tabular-nums">{formatCost(run.costUsd)}</span>
        </Fact>
        <Fact label="Duration">
          <span className="tabular-nums">
            {formatDuration(duration)}
            {!run.finishedAt && run.startedAt ? " so far" : ""}
          </span>
        </Fact>
        <Fact label="Started">{formatDateTime(run.startedAt ?? run.createdAt, true)}</Fact>
        <Fact label="Finished">{run.finishedAt ? formatDateTime(run.finishedAt, true) : "—"}</Fact>
        <Fact label="Workflow">
          <span className="font-mono text-xs break-all">{run.workflowId}</span>
        </Fact>
      </dl>
      {labels.length || inputs.length || run.rerunOf ? (
        <dl className="grid gap-3 sm:grid-cols-3">
          {inputs.length ? (
            <Fact label="Inputs">
              <ul className="flex flex-wrap gap-1">
                {inputs.map(([k, v]) => (
                  <li key={k}>
                    <Badge variant="secondary" className="font-mono">
                      {k}={String(v)}
                    </Badge>
                  </li>
                ))}
              </ul>
            </Fact>
          ) : null}
          {labels.length ? (
            <Fact label="Labels">
              <ul className="flex flex-wrap gap-1">
                {labels.map(([k, v]) => (
                  <li key={k}>
                    <Badge variant="secondary" className="font-mono">
                      {k}={v}
                    </Badge>
                  </li>
                ))}
              </ul>
            </Fact>
          ) : null}
          {run.rerunOf ? (
            <Fact label="Rerun of">
              <EnvLink to={`/runs/${run.rerunOf}`} className="underline underline-offset-4 hover:no-underline">
                the earlier run
              </EnvLink>
            </Fact>
          ) : null}
        </dl>
      ) : null}
    </div>
  );
}

function RunDetailView() {
  const { runId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const live = useRunsLiveUpdates();
  const query = useQuery({
    ...runsGetOptions({ path: { run_id: runId } }),
    // The SSE stream keeps it fresh; poll only while a live run has no stream.
    refetchInterval: (q) => (q.state.data && !isTerminalRun(q.state.data.status) && live !== "open" ? 5000 : false),
  });
  const run = query.data;
  const now = useNow(Boolean(run && !isTerminalRun(run.status)));
  const tab = tabOf(params.get("tab"), location.hash);

  const back = (
    <Button asChild variant="ghost" size="sm">
      <EnvLink to="/runs">
        <ArrowLeftIcon aria-hidden="true" /> All runs
      </EnvLink>
    </Button>
  );

  if (query.isPending) {
    return (
      <>
        <PageHeader title="Run" actions={back} />
        <div className="grid gap-4" aria-busy="true">
          <span className="sr-only" role="status">
            Loading the run…
          </span>
          <Skeleton className="h-32 w-full" />
          <Skeleton className="h-64 w-full" />
        </div>
      </>
    );
  }
  if (query.error || !run) {
    return (
      <>
        <PageHeader title={isStatus(query.error, 404) ? "Run not found" : "Run"} actions={back} />
        <ErrorState error={query.error} title="Could not load this run" onRetry={() => void query.refetch()} />
      </>
    );
  }

  return (
    <>
      <PageHeader
        title={`${run.pipelineName} #${run.number}`}
        description={`Run ${run.id} of ${run.pipelineName} version ${run.version} in ${run.env}, started by ${run.owner}.`}
        actions={
          <>
            {back}
            {run.temporalUiUrl ? (
              <Button asChild variant="outline" size="sm">
                <a href={run.temporalUiUrl} target="_blank" rel="noopener noreferrer">
                  <ExternalLinkIcon aria-hidden="true" /> Open in Temporal
                  <span className="sr-only"> (opens in a new tab)</span>
                </a>
              </Button>
            ) : null}
          </>
        }
      />
      <div className="grid min-w-0 grid-cols-1 gap-4">
        <RunHeader run={run} now={now} />
        <RunControls run={run} />
        <Tabs
          value={tab}
          onValueChange={(v) =>
            setParams(
              (prev) => {
                const next = new URLSearchParams(prev);
                next.set("tab", v);
                return next;
              },
              { replace: true },
            )
          }
        >
          <TabsList aria-label="Run details" className="h-auto min-h-9">
            <TabsTrigger value="timeline">Timeline</TabsTrigger>
            <TabsTrigger value="logs">Logs</TabsTrigger>
            <TabsTrigger value="steps">Steps ({run.steps.length})</TabsTrigger>
            <TabsTrigger value="artifacts">Artifacts ({run.artifacts.length})</TabsTrigger>
            <TabsTrigger value="observability">Observability</TabsTrigger>
            <TabsTrigger value="attestations">Attestations</TabsTrigger>
            <TabsTrigger value="evidence">Evidence</TabsTrigger>
          </TabsList>
          <TabsContent value="timeline">
            <RunTimeline run={run} now={now} />
          </TabsContent>
          <TabsContent value="logs">
            <RunLogs run={run} />
          </TabsContent>
          <TabsContent value="steps">
            <RunSteps
              run={run}
              now={now}
              onShowLogs={(step) =>
                setParams((prev) => {
                  const next = new URLSearchParams(prev);
                  next.set("tab", "logs");
                  next.set("step", step);
                  return next;
                })
              }
            />
          </TabsContent>
          <TabsContent value="artifacts">
            <RunArtifacts run={run} />
          </TabsContent>
          <TabsContent value="observability">
            <RunObservability run={run} now={now} />
          </TabsContent>
          <TabsContent value="attestations">
            <RunAttestations run={run} />
          </TabsContent>
          <TabsContent value="evidence">
            <RunEvidence run={run} />
          </TabsContent>
        </Tabs>
      </div>
    </>
  );
}

export function RunDetailPage() {
  return (
    <RequirePermission anyOf={["runs:read"]} title="Run">
      <RunDetailView />
    </RequirePermission>
  );
}

export const Component = RunDetailPage;
