import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ArrowLeftIcon, GitCompareIcon, SaveIcon } from "lucide-react";
import { useId, useMemo, useState, type FormEvent } from "react";
import { useNavigate, useParams, useSearchParams } from "react-router";
import {
  pipelinesGetOptions,
  pipelinesUpdateMutation,
  pipelinesVersionsListOptions,
  runsGetOptions,
  runsListOptions,
} from "@/client/@tanstack/react-query.gen";
import { DataTable, type Column } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Button } from "@/components/ui/button";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Skeleton } from "@/components/ui/skeleton";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { asProblem, isStatus } from "@/lib/api-error";
import { useEnvHref } from "@/lib/env";
import { formatDateTime } from "@/lib/format";
import { toast } from "@/lib/toast";
import { RequirePermission } from "@/features/auth/require-permission";
import { useCan } from "@/features/auth/session";
import { useRunsLiveUpdates } from "@/features/runs/live";
import { HeatStrip, StatusBadge } from "@/features/runs/status-badge";
import { PipelineGraph } from "./pipeline-graph";
import { invalidatePipelines, planSteps, type PipelineDetail } from "./queries";
import { SpecEditor } from "./spec-editor";
import { StartRunForm } from "./start-run-form";

type Version = { version: number; contentHash: string; createdBy: string; createdAt: string };
const TABS = ["graph", "run", "versions", "edit"] as const;
type Tab = (typeof TABS)[number];

/** The latest run of the pipeline and its step statuses: the graph's heat. */
function useLatestRunHeat(name: string | undefined) {
  const latest = useQuery({ ...runsListOptions({ query: { pipeline: name, limit: 1 } }), enabled: Boolean(name) });
  const runId = latest.data?.items[0]?.id;
  const detail = useQuery({ ...runsGetOptions({ path: { run_id: runId ?? "" } }), enabled: Boolean(runId) });
  const statuses = useMemo(() => Object.fromEntries((detail.data?.steps ?? []).map((s) => [s.key, s.status])), [detail.data]);
  return { run: detail.data, statuses };
}

function GraphTab({ pipeline }: { pipeline: PipelineDetail }) {
  const steps = useMemo(() => planSteps(pipeline.plan), [pipeline.plan]);
  const heat = useLatestRunHeat(pipeline.name);
  return (
    <div className="grid gap-3">
      <div className="flex flex-wrap items-center gap-x-6 gap-y-2 text-sm">
        <span className="flex items-center gap-2">
          <span className="font-medium">Recent runs:</span>
          <HeatStrip statuses={pipeline.recentStatuses ?? []} label={`Last runs of ${pipeline.name}`} />
        </span>
        {heat.run ? (
          <span className="flex items-center gap-2">
            <span className="font-medium">Colours from</span>
            <EnvLink to={`/runs/${heat.run.id}`} className="underline underline-offset-4 hover:no-underline">
              run #{heat.run.number}
            </EnvLink>
            <StatusBadge status={heat.run.status} />
            {heat.run.version !== pipeline.latestVersion ? (
              <span className="text-muted-foreground">(version {heat.run.version})</span>
            ) : null}
          </span>
        ) : (
          <span className="text-muted-foreground">No run yet: steps are uncoloured.</span>
        )}
      </div>
      <PipelineGraph steps={steps} statuses={heat.statuses} label={`Graph of ${pipeline.name} v${pipeline.latestVersion}, ${steps.length} steps`} />
      <details className="rounded-lg border p-3 text-sm">
        <summary className="cursor-pointer font-medium">Steps as a list ({steps.length})</summary>
        <ol className="mt-2 grid gap-1">
          {steps.map((s) => (
            <li key={s.key}>
              <span className="font-mono">{s.key}</span>
              {s.kind !== "run" ? ` (${s.kind})` : ""}
              {heat.statuses[s.key] ? ` — ${heat.statuses[s.key]}` : ""}
              {s.needs.length ? <span className="text-muted-foreground"> · needs {s.needs.join(", ")}</span> : null}
            </li>
          ))}
        </ol>
      </details>
    </div>
  );
}

function VersionsTab({ pipeline }: { pipeline: PipelineDetail }) {
  const versions = useQuery(pipelinesVersionsListOptions({ path: { pipeline_id: pipeline.id } }));
  const items = versions.data?.items;
  const navigate = useNavigate();
  const href = useEnvHref();
  const id = useId();
  const [from, setFrom] = useState<string>("");
  const [to, setTo] = useState<string>("");
  const newest = items?.[0]?.version;
  const fromV = from || String(Math.max(1, (newest ?? 1) - 1));
  const toV = to || String(newest ?? 1);

  const columns: Column<Version>[] = [
    { id: "version", header: "Version", className: "tabular-nums", cell: (v) => <span className="font-medium">v{v.version}</span> },
    { id: "hash", header: "Content hash", cell: (v) => <span className="font-mono text-xs" title={v.contentHash}>{v.contentHash.slice(0, 23)}…</span> },
    { id: "by", header: "Author", cell: (v) => v.createdBy },
    { id: "at", header: "Created", cell: (v) => formatDateTime(v.createdAt, true) },
    {
      id: "compare",
      header: "Compare",
      srOnlyHeader: true,
      cell: (v) =>
        v.version > 1 ? (
          <Button asChild variant="outline" size="sm">
            <EnvLink to={`/pipelines/${pipeline.id}/compare?from=${v.version - 1}&to=${v.version}`} aria-label={`Compare v${v.version - 1} with v${v.version}`}>
              <GitCompareIcon aria-hidden="true" /> vs v{v.version - 1}
            </EnvLink>
          </Button>
        ) : null,
    },
  ];

  return (
    <div className="grid gap-4">
      {items && items.length > 1 ? (
        <form
          className="flex flex-wrap items-end gap-3"
          aria-label="Compare two versions"
          onSubmit={(e) => {
            e.preventDefault();
            navigate(href(`/pipelines/${pipeline.id}/compare?from=${fromV}&to=${toV}`));
          }}
        >
          {(
            [
              ["from", "From version", fromV, setFrom],
              ["to", "To version", toV, setTo],
            ] as const
          ).map(([k, label, value, set]) => (
            <div key={k} className="grid gap-1.5">
              <Label htmlFor={`${id}-${k}`}>{label}</Label>
              <NativeSelect id={`${id}-${k}`} className="w-32" value={value} onChange={(e) => set(e.target.value)}>
                {items.map((v) => (
                  <option key={v.version} value={v.version}>
                    v{v.version}
                  </option>
                ))}
              </NativeSelect>
            </div>
          ))}
          <Button type="submit" variant="outline">
            <GitCompareIcon aria-hidden="true" /> Compare
          </Button>
        </form>
      ) : null}
      <DataTable
        caption="Versions, newest first"
        columns={columns}
        rows={items}
        rowKey={(v) => String(v.version)}
        isPending={versions.isPending}
        error={versions.error}
        errorTitle="Could not load the versions"
        onRetry={() => void versions.refetch()}
        empty={{ title: "No versions", description: "Every saved edit of the spec becomes a new immutable version here." }}
      />
    </div>
  );
}

function EditTab({ pipeline }: { pipeline: PipelineDetail }) {
  const [text, setText] = useState(pipeline.latest.sourceText);
  const [submitted, setSubmitted] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const save = useMutation({
    ...pipelinesUpdateMutation(),
    onSuccess: (p) => {
      if (p.latestVersion === pipeline.latestVersion) {
        toast({ title: "Nothing to save", description: `The spec is the same as version ${p.latestVersion}.` });
      } else {
        toast({ title: `Saved as version ${p.latestVersion}`, description: `${p.name}: v${pipeline.latestVersion} → v${p.latestVersion}`, variant: "success" });
      }
    },
    onSettled: () => invalidatePipelines(queryClient),
  });
  const problem = save.error ? asProblem(save.error) : null;
  const specProblems = problem?.errors?.length && submitted === text ? problem.errors : null;
  function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(text);
    save.mutate({ path: { pipeline_id: pipeline.id }, body: { spec: text } });
  }
  return (
    <form className="grid max-w-4xl gap-4" onSubmit={submit} noValidate>
      <p className="text-sm text-muted-foreground">
        Saving creates version {pipeline.latestVersion + 1} (versions are immutable; runs keep the version they started with). The name
        cannot change.
      </p>
      <SpecEditor value={text} onChange={setText} serverProblems={specProblems} label={`Spec of ${pipeline.name}`} />
      {problem && !specProblems ? <ErrorState error={problem} title="Could not save the pipeline" compact /> : null}
      <div className="flex gap-2">
        <Button type="submit" disabled={save.isPending || text === pipeline.latest.sourceText}>
          <SaveIcon aria-hidden="true" /> {save.isPending ? "Saving…" : "Save new version"}
        </Button>
        {text !== pipeline.latest.sourceText ? (
          <Button variant="ghost" onClick={() => setText(pipeline.latest.sourceText)}>
            Discard changes
          </Button>
        ) : null}
      </div>
    </form>
  );
}

function PipelineView() {
  const { pipelineId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  useRunsLiveUpdates();
  const query = useQuery(pipelinesGetOptions({ path: { pipeline_id: pipelineId } }));
  const mayRun = useCan("runs:write");
  const mayEdit = useCan("pipelines:write");
  // "Start run…" moves focus into the form it shows
  const [focusRun, setFocusRun] = useState(0);
  const p = query.data;
  const requested = params.get("tab") as Tab | null;
  const allowed = (t: Tab) => (t === "run" ? mayRun : t === "edit" ? mayEdit : true);
  const tab: Tab = requested && TABS.includes(requested) && allowed(requested) ? requested : "graph";
  const setTab = (t: string) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        next.set("tab", t);
        return next;
      },
      { replace: true },
    );
  const back = (
    <Button asChild variant="ghost" size="sm">
      <EnvLink to="/pipelines">
        <ArrowLeftIcon aria-hidden="true" /> All pipelines
      </EnvLink>
    </Button>
  );

  if (query.isPending) {
    return (
      <>
        <PageHeader title="Pipeline" actions={back} />
        <div className="grid gap-4" aria-busy="true">
          <span className="sr-only" role="status">
            Loading the pipeline…
          </span>
          <Skeleton className="h-10 w-96" />
          <Skeleton className="h-96 w-full" />
        </div>
      </>
    );
  }
  if (query.error || !p) {
    return (
      <>
        <PageHeader title={isStatus(query.error, 404) ? "Pipeline not found" : "Pipeline"} actions={back} />
        <ErrorState error={query.error} title="Could not load this pipeline" onRetry={() => void query.refetch()} />
      </>
    );
  }
  const spec = p.latest.spec as { params?: unknown; source?: { ref?: string } };
  return (
    <>
      <PageHeader
        title={p.name}
        description={`${p.description ? `${p.description} — ` : ""}version ${p.latestVersion}, ${planSteps(p.plan).length} steps. Created by ${p.createdBy}.`}
        actions={
          <>
            {back}
            {mayRun ? (
              <Button
                onClick={() => {
                  setTab("run");
                  setFocusRun((n) => n + 1);
                }}
                variant={tab === "run" ? "secondary" : "default"}
              >
                Start run…
              </Button>
            ) : null}
          </>
        }
      />
      <Tabs value={tab} onValueChange={setTab}>
        <TabsList aria-label="Pipeline views">
          <TabsTrigger value="graph">Graph</TabsTrigger>
          {mayRun ? <TabsTrigger value="run">Start run</TabsTrigger> : null}
          <TabsTrigger value="versions">Versions ({p.latestVersion})</TabsTrigger>
          {mayEdit ? <TabsTrigger value="edit">Edit spec</TabsTrigger> : null}
        </TabsList>
        <TabsContent value="graph">
          <GraphTab pipeline={p} />
        </TabsContent>
        {mayRun ? (
          <TabsContent value="run">
            <StartRunForm key={p.latestVersion} focusRequest={focusRun} pipeline={p.id} name={p.name} version={p.latestVersion} params={spec?.params} defaultRef={spec?.source?.ref} />
          </TabsContent>
        ) : null}
        <TabsContent value="versions">
          <VersionsTab pipeline={p} />
        </TabsContent>
        {mayEdit ? (
          <TabsContent value="edit">
            <EditTab key={p.latestVersion} pipeline={p} />
          </TabsContent>
        ) : null}
      </Tabs>
    </>
  );
}

export function PipelinePage() {
  return (
    <RequirePermission anyOf={["runs:read"]} title="Pipeline">
      <PipelineView />
    </RequirePermission>
  );
}

export const Component = PipelinePage;
