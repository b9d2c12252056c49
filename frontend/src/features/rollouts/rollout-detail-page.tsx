import { useQuery } from "@tanstack/react-query";
import { ArrowLeftIcon, RotateCcwIcon } from "lucide-react";
import type { ReactNode } from "react";
import { useParams } from "react-router";
import { CopyButton } from "@/components/copy-button";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { isStatus } from "@/lib/api-error";
import { formatDateTime } from "@/lib/format";
import { RequirePermission } from "@/features/auth/require-permission";
import { useNow } from "@/features/runs/use-now";
import { isFinishedRollout, PAUSED_STEPS_WORDS, statusLabel, stepPosition, weightNote, type Rollout } from "./model";
import { ProviderBadge } from "./provider-badge";
import { rolloutQueryOptions, servicesQueryOptions, useRolloutsLiveUpdates } from "./queries";
import { RolloutControls } from "./rollout-controls";
import { RolloutStatusBadge } from "./rollout-status-badge";
import { RolloutSteps } from "./rollout-steps";
import { AnalysesTable, HistoryTable } from "./rollout-tables";
import { WeightBar } from "./weight-bar";
import { WeightChart } from "./weight-chart";

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid min-w-0 gap-0.5">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="text-sm break-words">{children}</dd>
    </div>
  );
}

/** The runbook for a rollback the traffic provider does not confirm (docs/runbooks/rollout-stuck.md). */
const STUCK_RUNBOOK = "/runbooks/rollout-stuck";

/**
 * A rollout that is rolling back is not over: weight 0 is retried until the traffic provider
 * answers, and its message says why it has not yet (e.g. "stuck rolling back: weight 0 could not
 * be applied (1 tries): …"). Said at the top of the page, where the controls would be.
 */
function RollingBackBanner({ rollout }: { rollout: Rollout }) {
  return (
    <section
      aria-labelledby="rolling-back-title"
      data-testid="rolling-back"
      className="flex gap-3 rounded-lg border border-red-300 bg-red-50 p-4 text-red-950 dark:border-red-800 dark:bg-red-950/60 dark:text-red-50"
    >
      <RotateCcwIcon className="mt-0.5 size-5 shrink-0" aria-hidden="true" />
      <div className="grid min-w-0 gap-1.5 text-sm">
        <h2 id="rolling-back-title" className="text-base font-semibold">
          This rollout is rolling back
        </h2>
        {rollout.message ? (
          <p className="break-words" aria-live="polite" data-testid="rollout-message">
            {rollout.message}
          </p>
        ) : null}
        <p>
          Maestro keeps sending weight 0 to the traffic provider, retrying until it answers; no control applies until then. If it
          takes long, see the{" "}
          <EnvLink to={STUCK_RUNBOOK} className="font-medium underline underline-offset-4 hover:no-underline">
            rollout stuck runbook
          </EnvLink>
          .
        </p>
      </div>
    </section>
  );
}

/** The snapshot's SHA-256 on one line (cut short, whole in its title), with a copy button. */
function SnapshotHash({ rollout }: { rollout: Rollout }) {
  const hash = rollout.snapshotSha256;
  if (!hash) {
    return (
      <span className="text-muted-foreground">
        {isFinishedRollout(rollout.status) ? "none was kept for this rollout" : "kept when the rollout ends"}
      </span>
    );
  }
  return (
    <span className="grid gap-1">
      <span className="flex min-w-0 items-center gap-1">
        <span className="min-w-0 truncate font-mono text-xs" title={hash} data-testid="rollout-snapshot">
          {hash}
        </span>
        <CopyButton value={hash} size="sm" variant="ghost" label="Copy" aria-label="Copy the snapshot SHA-256" className="h-6 shrink-0 px-2" />
      </span>
      {rollout.runId ? (
        <EnvLink to={`/runs/${rollout.runId}?tab=evidence`} className="text-xs underline underline-offset-4 hover:no-underline">
          The run&apos;s evidence
        </EnvLink>
      ) : null}
    </span>
  );
}

/** The traffic provider of the rollout's service (GET /api/services; the rollout itself does not name it). */
function useProviderOf(rollout: Rollout): { provider: string | null; isPending: boolean } {
  const services = useQuery(servicesQueryOptions());
  const svc = services.data?.items.find((s) => s.name === rollout.service && s.env === rollout.env);
  return { provider: svc?.provider ?? null, isPending: services.isPending };
}

function TrafficCard({ rollout }: { rollout: Rollout }) {
  const { current, total } = stepPosition(rollout.steps.length, rollout.stepIndex, rollout.status);
  const note = weightNote(rollout.status, rollout.canaryUrl);
  const { provider, isPending } = useProviderOf(rollout);
  return (
    <Card aria-labelledby="traffic-title">
      <CardHeader>
        <CardTitle id="traffic-title">Traffic</CardTitle>
        <CardDescription>
          The share of {rollout.service}&apos;s requests {provider ? `its traffic provider (${provider})` : "its traffic provider"} sends to
          the canary; the rest go to the stable version.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-5">
        <div className="flex flex-wrap items-end gap-x-6 gap-y-3">
          <div className="grid gap-1">
            <span className="text-xs font-medium text-muted-foreground">Canary weight</span>
            <span className="text-4xl font-semibold tracking-tight tabular-nums">
              <span data-testid="rollout-weight">{rollout.weight}</span>
              <span className="text-2xl">%</span>
            </span>
          </div>
          <WeightBar weight={rollout.weight} label={`Canary weight of ${rollout.service}`} size="lg" className="pb-2" />
          <div className="grid gap-1">
            <span className="text-xs font-medium text-muted-foreground">Step</span>
            <span className="text-lg font-semibold tabular-nums" data-testid="rollout-step-position">
              {current} of {total}
            </span>
          </div>
        </div>
        {note ? <p className="text-sm text-muted-foreground">{note}</p> : null}
        {rollout.message && rollout.status !== "rolling_back" ? (
          <p className="rounded-md border bg-muted/50 px-3 py-2 text-sm" aria-live="polite" data-testid="rollout-message">
            <span className="font-medium">Latest: </span>
            {rollout.message}
          </p>
        ) : null}
        <dl className="grid grid-cols-1 gap-x-6 gap-y-3 sm:grid-cols-2 lg:grid-cols-3">
          {/* once promoted, the canary is the stable version: this URL was the stable one before */}
          <Fact label={rollout.status === "succeeded" ? "Previous stable URL" : "Stable URL"}>
            <span className="font-mono text-xs break-all">{rollout.stableUrl}</span>
          </Fact>
          <Fact label={rollout.status === "succeeded" ? "Canary URL (now stable)" : "Canary URL"}>
            <span className="font-mono text-xs break-all">{rollout.canaryUrl}</span>
          </Fact>
          <Fact label="Traffic provider">
            {provider ? (
              <ProviderBadge provider={provider} labelled />
            ) : (
              <span className="text-muted-foreground">{isPending ? "loading…" : "unknown (the service is not listed)"}</span>
            )}
          </Fact>
          <Fact label="Environment">
            <Badge variant="outline">{rollout.env}</Badge>
          </Fact>
          <Fact label="Started">
            {formatDateTime(rollout.createdAt, true)} by {rollout.createdBy}
          </Fact>
          <Fact label="Updated">{formatDateTime(rollout.updatedAt, true)}</Fact>
          <Fact label="Finished">{rollout.finishedAt ? formatDateTime(rollout.finishedAt, true) : "not yet"}</Fact>
          <Fact label="Run">
            {rollout.runId ? (
              <EnvLink to={`/runs/${rollout.runId}`} className="underline underline-offset-4 hover:no-underline" data-testid="rollout-run-link">
                The promoted run
              </EnvLink>
            ) : (
              <span className="text-muted-foreground">started without a run</span>
            )}
          </Fact>
          <Fact label="Evidence snapshot (SHA-256)">
            <SnapshotHash rollout={rollout} />
          </Fact>
          <Fact label="Workflow">
            <span className="font-mono text-xs break-all">{rollout.workflowId}</span>
          </Fact>
        </dl>
      </CardContent>
    </Card>
  );
}

function RolloutDetail({ rollout }: { rollout: Rollout }) {
  const finished = isFinishedRollout(rollout.status);
  const now = useNow(!finished, 5000);
  const end = rollout.finishedAt ? Date.parse(rollout.finishedAt) : now;
  return (
    <>
      <PageHeader
        title={`Rollout of ${rollout.service}`}
        description={`Canary ${rollout.canaryUrl} of ${rollout.service} in ${rollout.env}, started by ${rollout.createdBy}; ${statusLabel(rollout.status)}.`}
        actions={<RolloutStatusBadge status={rollout.status} data-testid="rollout-status" className="text-sm" />}
      />
      <div className="grid min-w-0 grid-cols-1 gap-4">
        {rollout.status === "rolling_back" ? <RollingBackBanner rollout={rollout} /> : null}
        <RolloutControls rollout={rollout} />
        <TrafficCard rollout={rollout} />
        <div className="grid min-w-0 grid-cols-1 gap-4 xl:grid-cols-2">
          <Card aria-labelledby="steps-title">
            <CardHeader>
              <CardTitle id="steps-title">Steps</CardTitle>
              <CardDescription>
                {finished
                  ? `The rollout ${statusLabel(rollout.status)}.`
                  : rollout.status === "paused"
                    ? PAUSED_STEPS_WORDS
                    : rollout.status === "rolling_back"
                      ? "Rolling back: no further step starts; the rollout ends once the traffic is back on the stable version."
                      : "Walked in order; an analysis that fails rolls the canary back on its own."}
              </CardDescription>
            </CardHeader>
            <CardContent>
              <RolloutSteps rollout={rollout} />
            </CardContent>
          </Card>
          <Card aria-labelledby="weights-title">
            <CardHeader>
              <CardTitle id="weights-title">Weight over time</CardTitle>
            </CardHeader>
            <CardContent>
              <WeightChart weights={rollout.weights} end={end} service={rollout.service} />
            </CardContent>
          </Card>
        </div>
        <Card aria-labelledby="analyses-title">
          <CardHeader>
            <CardTitle id="analyses-title">Analysis runs</CardTitle>
          </CardHeader>
          <CardContent>
            <AnalysesTable rollout={rollout} />
          </CardContent>
        </Card>
        <Card aria-labelledby="history-title">
          <CardHeader>
            <CardTitle id="history-title">History</CardTitle>
          </CardHeader>
          <CardContent>
            <HistoryTable rollout={rollout} />
          </CardContent>
        </Card>
      </div>
    </>
  );
}

function RolloutDetailView() {
  const { rolloutId = "" } = useParams();
  const live = useRolloutsLiveUpdates();
  const query = useQuery({
    ...rolloutQueryOptions(rolloutId),
    // The stream keeps it fresh; poll only while it runs and the stream is down.
    refetchInterval: (q) => (q.state.data && !isFinishedRollout(q.state.data.status) && live !== "open" ? 5000 : false),
  });
  const back = (
    <div className="pb-3">
      <Button asChild variant="ghost" size="sm">
        <EnvLink to="/rollouts">
          <ArrowLeftIcon aria-hidden="true" /> All rollouts
        </EnvLink>
      </Button>
    </div>
  );
  if (query.data) {
    return (
      <>
        {back}
        <RolloutDetail rollout={query.data} />
      </>
    );
  }
  if (query.error) {
    return (
      <>
        {back}
        <PageHeader title={isStatus(query.error, 404) ? "Rollout not found" : "Rollout"} />
        <ErrorState error={query.error} title="Could not load this rollout" onRetry={() => void query.refetch()} />
      </>
    );
  }
  return (
    <>
      {back}
      <PageHeader title="Rollout" />
      <div className="grid gap-4" aria-busy="true">
        <span className="sr-only" role="status">
          Loading the rollout…
        </span>
        <Skeleton className="h-40 w-full rounded-xl" />
        <Skeleton className="h-64 w-full rounded-xl" />
      </div>
    </>
  );
}

export function RolloutDetailPage() {
  return (
    <RequirePermission anyOf={["rollouts:read"]} title="Rollout">
      <RolloutDetailView />
    </RequirePermission>
  );
}

export const Component = RolloutDetailPage;
