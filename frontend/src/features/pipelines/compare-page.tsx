import { useQuery } from "@tanstack/react-query";
import { ArrowLeftIcon } from "lucide-react";
import { useId, useMemo, type ReactNode } from "react";
import { useParams, useSearchParams } from "react-router";
import { pipelinesDiffOptions, pipelinesVersionsGetOptions, pipelinesVersionsListOptions } from "@/client/@tanstack/react-query.gen";
import type { PipelineDiff } from "@/client/types.gen";
import { EmptyState } from "@/components/empty-state";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { NativeSelect } from "@/components/ui/native-select";
import { Skeleton } from "@/components/ui/skeleton";
import { RequirePermission } from "@/features/auth/require-permission";
import { PipelineGraph, type DiffMark, type GraphStep } from "./pipeline-graph";
import { specSteps } from "./queries";

const show = (v: unknown) => (v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v));

interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

function asChanges(v: unknown): FieldChange[] {
  return Array.isArray(v) ? (v.filter((x) => typeof x === "object" && x !== null) as FieldChange[]) : [];
}

/** Union of both versions' steps (removed ones keep their old edges), each marked by its change. */
function diffGraph(fromSpec: unknown, toSpec: unknown, diff: PipelineDiff): { steps: GraphStep[]; marks: Record<string, DiffMark> } {
  const a = specSteps(fromSpec);
  const b = specSteps(toSpec);
  const changed = new Set(diff.stepsChanged.map((c) => String((c as { id?: unknown }).id)));
  const added = new Set(diff.stepsAdded);
  const removed = new Set(diff.stepsRemoved);
  const steps: GraphStep[] = b.map((s) => ({ key: s.id, name: s.name, needs: s.needs, kind: s.uses }));
  for (const s of a) if (removed.has(s.id)) steps.push({ key: s.id, name: s.name, needs: s.needs, kind: s.uses });
  const marks: Record<string, DiffMark> = {};
  for (const s of steps) marks[s.key] = added.has(s.key) ? "added" : removed.has(s.key) ? "removed" : changed.has(s.key) ? "changed" : "same";
  return { steps, marks };
}

function ChangeTable({ rows, caption }: { rows: FieldChange[]; caption: string }) {
  return (
    <table className="w-full text-sm">
      <caption className="sr-only">{caption}</caption>
      <thead>
        <tr className="text-left text-xs text-muted-foreground">
          <th scope="col" className="py-1 pr-3 font-medium">
            Field
          </th>
          <th scope="col" className="py-1 pr-3 font-medium">
            Before
          </th>
          <th scope="col" className="py-1 font-medium">
            After
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.field} className="border-t align-top">
            <th scope="row" className="py-1 pr-3 text-left font-mono text-xs font-medium">
              {r.field}
            </th>
            <td className="py-1 pr-3 font-mono text-xs break-all whitespace-pre-wrap text-danger">{show(r.from)}</td>
            <td className="py-1 font-mono text-xs break-all whitespace-pre-wrap text-success">{show(r.to)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle>{title}</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-3">{children}</CardContent>
    </Card>
  );
}

function CompareView() {
  const { pipelineId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const id = useId();
  const versions = useQuery(pipelinesVersionsListOptions({ path: { pipeline_id: pipelineId } }));
  const newest = versions.data?.items[0]?.version ?? 1;
  const from = Number(params.get("from") ?? Math.max(1, newest - 1));
  const to = Number(params.get("to") ?? newest);
  const valid = Number.isInteger(from) && Number.isInteger(to) && from >= 1 && to >= 1;
  const diff = useQuery({ ...pipelinesDiffOptions({ path: { pipeline_id: pipelineId }, query: { from, to } }), enabled: valid });
  const va = useQuery({ ...pipelinesVersionsGetOptions({ path: { pipeline_id: pipelineId, version: from } }), enabled: valid });
  const vb = useQuery({ ...pipelinesVersionsGetOptions({ path: { pipeline_id: pipelineId, version: to } }), enabled: valid });
  const graph = useMemo(
    () => (diff.data && va.data && vb.data ? diffGraph(va.data.spec, vb.data.spec, diff.data) : null),
    [diff.data, va.data, vb.data],
  );
  const name = (va.data?.spec as { name?: string } | undefined)?.name ?? "pipeline";
  const set = (k: "from" | "to", v: string) =>
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      next.set(k, v);
      return next;
    });
  const d = diff.data;
  const error = diff.error ?? va.error ?? vb.error;
  const nothing =
    d &&
    !d.stepsAdded.length &&
    !d.stepsRemoved.length &&
    !d.stepsChanged.length &&
    !d.paramsAdded.length &&
    !d.paramsRemoved.length &&
    !d.paramsChanged.length &&
    !d.artifactsChanged.length &&
    !d.envChanged &&
    !d.sourceChanged;

  return (
    <>
      <PageHeader
        title={`Compare versions of ${name}`}
        description="Steps added, removed and changed (field by field), parameter and artifact changes between two versions."
        actions={
          <Button asChild variant="ghost" size="sm">
            <EnvLink to={`/pipelines/${pipelineId}?tab=versions`}>
              <ArrowLeftIcon aria-hidden="true" /> Back to the pipeline
            </EnvLink>
          </Button>
        }
      />
      <div className="grid min-w-0 grid-cols-1 gap-4">
        <div className="flex flex-wrap items-end gap-3" role="group" aria-label="Versions to compare">
          {(
            [
              ["from", "From version", from],
              ["to", "To version", to],
            ] as const
          ).map(([k, label, value]) => (
            <div key={k} className="grid gap-1.5">
              <Label htmlFor={`${id}-${k}`}>{label}</Label>
              <NativeSelect id={`${id}-${k}`} className="w-32" value={String(value)} onChange={(e) => set(k, e.target.value)}>
                {(versions.data?.items ?? [{ version: value }]).map((v) => (
                  <option key={v.version} value={v.version}>
                    v{v.version}
                  </option>
                ))}
              </NativeSelect>
            </div>
          ))}
        </div>
        {error ? (
          <ErrorState error={error} title="Could not compare these versions" onRetry={() => void diff.refetch()} />
        ) : !d || !graph ? (
          <div className="grid gap-3" aria-busy="true">
            <span className="sr-only" role="status">
              Loading the comparison…
            </span>
            <Skeleton className="h-80 w-full" />
            <Skeleton className="h-32 w-full" />
          </div>
        ) : (
          <>
            <p className="flex flex-wrap gap-2 text-sm" role="status">
              <Badge variant="success">{d.stepsAdded.length} added</Badge>
              <Badge variant="danger">{d.stepsRemoved.length} removed</Badge>
              <Badge variant="warning">{d.stepsChanged.length} changed</Badge>
              {d.envChanged ? <Badge variant="outline">pipeline env changed</Badge> : null}
              {d.sourceChanged ? <Badge variant="outline">source changed</Badge> : null}
            </p>
            <PipelineGraph steps={graph.steps} diff={graph.marks} label={`Changes from v${from} to v${to}`} className="h-[50vh]" />
            {nothing ? (
              <EmptyState title="These versions are identical" description="Pick two different versions to see what changed." />
            ) : null}
            {d.stepsAdded.length || d.stepsRemoved.length ? (
              <Section title="Steps added and removed">
                <ul className="grid gap-1 text-sm">
                  {d.stepsAdded.map((s) => (
                    <li key={`a-${s}`}>
                      <Badge variant="success">added</Badge> <span className="font-mono">{s}</span>
                    </li>
                  ))}
                  {d.stepsRemoved.map((s) => (
                    <li key={`r-${s}`}>
                      <Badge variant="danger">removed</Badge> <span className="font-mono">{s}</span>
                    </li>
                  ))}
                </ul>
              </Section>
            ) : null}
            {d.stepsChanged.length ? (
              <Section title="Steps changed">
                {d.stepsChanged.map((c) => {
                  const sid = String((c as { id?: unknown }).id);
                  return (
                    <div key={sid} className="grid gap-1">
                      <h3 className="font-mono text-sm font-semibold">{sid}</h3>
                      <ChangeTable rows={asChanges((c as { changes?: unknown }).changes)} caption={`Changes to step ${sid}`} />
                    </div>
                  );
                })}
              </Section>
            ) : null}
            {d.paramsAdded.length || d.paramsRemoved.length || d.paramsChanged.length ? (
              <Section title="Parameters">
                <ul className="grid gap-1 text-sm">
                  {d.paramsAdded.map((p) => (
                    <li key={`a-${p}`}>
                      <Badge variant="success">added</Badge> <span className="font-mono">{p}</span>
                    </li>
                  ))}
                  {d.paramsRemoved.map((p) => (
                    <li key={`r-${p}`}>
                      <Badge variant="danger">removed</Badge> <span className="font-mono">{p}</span>
                    </li>
                  ))}
                </ul>
                {d.paramsChanged.length ? (
                  <ChangeTable
                    caption="Changed parameters"
                    rows={d.paramsChanged.map((p) => ({
                      field: String((p as { name?: unknown }).name),
                      from: (p as { from?: unknown }).from,
                      to: (p as { to?: unknown }).to,
                    }))}
                  />
                ) : null}
              </Section>
            ) : null}
            {d.artifactsChanged.length ? (
              <Section title="Artifacts">
                <ChangeTable
                  caption="Artifact globs changed, by step"
                  rows={d.artifactsChanged.map((a) => ({
                    field: String((a as { id?: unknown }).id),
                    from: (a as { from?: unknown }).from,
                    to: (a as { to?: unknown }).to,
                  }))}
                />
              </Section>
            ) : null}
          </>
        )}
      </div>
    </>
  );
}

export function ComparePage() {
  return (
    <RequirePermission anyOf={["runs:read"]} title="Compare versions">
      <CompareView />
    </RequirePermission>
  );
}

export const Component = ComparePage;
