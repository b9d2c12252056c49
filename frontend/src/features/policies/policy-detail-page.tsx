import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ArrowLeftIcon, HistoryIcon, ScaleIcon } from "lucide-react";
import { useState, type FormEvent } from "react";
import { useParams, useSearchParams } from "react-router";
import { policiesGetOptions, policiesRevisionOptions, policiesUpdateMutation } from "@/client/@tanstack/react-query.gen";
import type { PolicyDetail } from "@/client/types.gen";
import { CopyButton } from "@/components/copy-button";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { Switch } from "@/components/ui/switch";
import { isStatus } from "@/lib/api-error";
import { formatDateTime } from "@/lib/format";
import { serverFieldErrors } from "@/lib/form";
import { toast, toastError } from "@/lib/toast";
import { cn } from "@/lib/utils";
import { useCan } from "@/features/auth/session";
import { RequirePermission } from "@/features/auth/require-permission";
import { shortId } from "@/features/supply/attestations-model";
import { DecisionsTable } from "./decisions-table";
import { EnabledBadge, PointBadges } from "./policy-badges";
import { PointsField, SourceEditor } from "./policy-fields";
import { compileErrors, orderedPoints, type PolicyPoint } from "./policy-model";
import { PolicySource } from "./policy-source";
import { invalidatePolicyLists, storePolicy } from "./queries";

function useUpdatePolicy() {
  const queryClient = useQueryClient();
  return useMutation({
    ...policiesUpdateMutation(),
    onSuccess: (p) => storePolicy(queryClient, p),
    onSettled: () => invalidatePolicyLists(queryClient),
  });
}

function EnabledToggle({ policy }: { policy: PolicyDetail }) {
  const update = useUpdatePolicy();
  const pending = update.isPending;
  const shown = pending && update.variables?.body.enabled != null ? update.variables.body.enabled : policy.enabled;
  return (
    <div className="flex items-center gap-2">
      <Switch
        id="policy-enabled"
        checked={shown}
        disabled={pending}
        aria-describedby="policy-enabled-hint"
        onCheckedChange={(enabled) =>
          update.mutate(
            { path: { policy_id: policy.id }, body: { enabled } },
            {
              onSuccess: (p) =>
                toast({ title: p.enabled ? "Policy enabled" : "Policy disabled", description: p.name, variant: "success" }),
              onError: (e) => toastError(e, "Could not change the policy"),
            },
          )
        }
      />
      <Label htmlFor="policy-enabled">Enabled</Label>
      <span id="policy-enabled-hint" className="text-xs text-muted-foreground">
        {shown ? "Evaluated at its points." : "Not evaluated anywhere."}
      </span>
    </div>
  );
}

function Overview({ policy, mayWrite }: { policy: PolicyDetail; mayWrite: boolean }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle>Overview</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-4">
        <dl className="grid gap-2 text-sm sm:grid-cols-[minmax(7rem,auto)_1fr]">
          <dt className="text-muted-foreground">Package</dt>
          <dd className="font-mono text-xs break-all" data-testid="policy-package">
            {policy.package}
          </dd>
          <dt className="text-muted-foreground">SHA-256</dt>
          <dd className="flex items-center gap-1">
            <span className="font-mono text-xs" title={policy.sha256}>
              {shortId(policy.sha256, 16)}
            </span>
            <CopyButton value={policy.sha256} size="sm" variant="ghost" label="Copy" aria-label="Copy the SHA-256 of the active source" />
          </dd>
          <dt className="text-muted-foreground">Active revision</dt>
          <dd className="tabular-nums" data-testid="policy-revision">
            r{policy.revision}
          </dd>
          <dt className="text-muted-foreground">Points</dt>
          <dd>
            <PointBadges points={policy.points} />
          </dd>
          <dt className="text-muted-foreground">Origin</dt>
          <dd>{policy.builtin ? "builtin (shipped with Maestro)" : "written here"}</dd>
          <dt className="text-muted-foreground">Updated</dt>
          <dd>{formatDateTime(policy.updatedAt, true)}</dd>
          {!mayWrite ? (
            <>
              <dt className="text-muted-foreground">Status</dt>
              <dd>
                <EnabledBadge enabled={policy.enabled} />
              </dd>
            </>
          ) : null}
        </dl>
        {mayWrite ? <EnabledToggle policy={policy} /> : null}
      </CardContent>
    </Card>
  );
}

function Revisions({ policy, selected }: { policy: PolicyDetail; selected: number }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle>Revisions</CardTitle>
        <CardDescription>Each change of source is a new revision. Choose one to read its source.</CardDescription>
      </CardHeader>
      <CardContent>
        <ol className="grid gap-1" aria-label="Revisions, newest first">
          {policy.revisions.map((r) => {
            const isSelected = r.revision === selected;
            return (
              <li key={r.revision}>
                <EnvLink
                  to={`/policies/${encodeURIComponent(policy.id)}${r.revision === policy.revision ? "" : `?revision=${r.revision}`}`}
                  aria-current={isSelected ? "true" : undefined}
                  className={cn(
                    "flex flex-wrap items-center gap-x-2 gap-y-0.5 rounded-md border border-transparent px-2 py-1.5 text-sm outline-none hover:bg-accent focus-visible:ring-2 focus-visible:ring-ring",
                    isSelected && "border-input bg-accent",
                  )}
                >
                  <span className="font-medium tabular-nums">Revision {r.revision}</span>
                  {r.revision === policy.revision ? <Badge variant="success">active</Badge> : null}
                  <span className="text-xs text-muted-foreground">
                    by {r.createdBy}, {formatDateTime(r.createdAt)}
                  </span>
                  <span className="w-full font-mono text-xs text-muted-foreground">{shortId(r.sha256, 16)}</span>
                </EnvLink>
              </li>
            );
          })}
        </ol>
      </CardContent>
    </Card>
  );
}

function SourceCard({ policy, selected }: { policy: PolicyDetail; selected: number }) {
  const active = selected === policy.revision;
  const rev = useQuery({
    ...policiesRevisionOptions({ path: { policy_id: policy.id, revision: selected } }),
    enabled: !active,
    staleTime: Infinity,
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>
          Source: revision {selected}
          {active ? " (active)" : ""}
        </CardTitle>
        <CardDescription>
          {active ? (
            <>Evaluated now{policy.enabled ? "" : " (once the policy is enabled)"}.</>
          ) : rev.data ? (
            <>
              Written by {rev.data.createdBy} on {formatDateTime(rev.data.createdAt)}; package{" "}
              <span className="font-mono">{rev.data.package}</span>. Not active:{" "}
              <EnvLink to={`/policies/${encodeURIComponent(policy.id)}`} className="underline underline-offset-4 hover:no-underline">
                show the active revision
              </EnvLink>
              .
            </>
          ) : (
            "An earlier revision."
          )}
        </CardDescription>
      </CardHeader>
      <CardContent>
        {active ? (
          <PolicySource source={policy.source} label={`Source of ${policy.name}, revision ${selected}`} />
        ) : rev.data ? (
          <PolicySource source={rev.data.source} label={`Source of ${policy.name}, revision ${selected}`} />
        ) : rev.error ? (
          <ErrorState error={rev.error} title={`Could not load revision ${selected}`} onRetry={() => void rev.refetch()} compact />
        ) : (
          <div aria-busy="true" className="grid gap-2">
            <span className="sr-only" role="status">
              Loading revision {selected}…
            </span>
            <Skeleton className="h-64 w-full" />
          </div>
        )}
      </CardContent>
    </Card>
  );
}

function EditForm({ policy }: { policy: PolicyDetail }) {
  const update = useUpdatePolicy();
  const [description, setDescription] = useState(policy.description);
  const [points, setPoints] = useState<PolicyPoint[]>(orderedPoints(policy.points));
  const [source, setSource] = useState(policy.source);
  const [localError, setLocalError] = useState<{ points?: string; source?: string }>({});
  const sourceErrors = compileErrors(update.error);
  const fieldErrors = serverFieldErrors(update.error);
  const dirty = description !== policy.description || source !== policy.source || points.join() !== orderedPoints(policy.points).join();

  function reset() {
    setDescription(policy.description);
    setPoints(orderedPoints(policy.points));
    setSource(policy.source);
    setLocalError({});
    update.reset();
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const local: { points?: string; source?: string } = {};
    if (!points.length) local.points = "Choose at least one point where the policy is evaluated.";
    if (!source.trim()) local.source = "The source cannot be empty.";
    setLocalError(local);
    if (local.points || local.source) return;
    const before = policy.revision;
    update.mutate(
      { path: { policy_id: policy.id }, body: { description, points, source } },
      {
        onSuccess: (p) =>
          toast({
            title: "Policy saved",
            description: p.revision !== before ? `${p.name}: new revision r${p.revision} is active.` : `${p.name}: the source is unchanged, still r${p.revision}.`,
            variant: "success",
          }),
      },
    );
  }

  const shownSourceErrors = sourceErrors.length
    ? sourceErrors
    : localError.source
      ? [{ line: null, column: null, message: localError.source }]
      : [];
  const otherError = update.error && !sourceErrors.length && !Object.keys(fieldErrors).length;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Edit policy</CardTitle>
        <CardDescription>
          Saving a different source compiles it and makes it a new active revision; a source that does not compile is refused with
          its line and column.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form onSubmit={submit} className="grid gap-4" noValidate aria-label={`Edit ${policy.name}`}>
          <FormField label="Description" error={fieldErrors.description}>
            {(p) => <Input {...p} value={description} onChange={(e) => setDescription(e.target.value)} autoComplete="off" />}
          </FormField>
          <PointsField value={points} onChange={setPoints} error={localError.points ?? fieldErrors.points} />
          <SourceEditor value={source} onChange={setSource} errors={shownSourceErrors} />
          {otherError ? <ErrorState error={update.error} title="Could not save the policy" compact /> : null}
          <div className="flex flex-wrap gap-2">
            <Button type="submit" disabled={update.isPending || !dirty}>
              {update.isPending ? "Saving…" : "Save changes"}
            </Button>
            <Button variant="outline" onClick={reset} disabled={update.isPending || (!dirty && !update.error)}>
              Discard changes
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}

function PolicyDetailBody({ policy }: { policy: PolicyDetail }) {
  const mayWrite = useCan("policies:write");
  const [params] = useSearchParams();
  const requested = Number(params.get("revision"));
  const selected = Number.isInteger(requested) && policy.revisions.some((r) => r.revision === requested) ? requested : policy.revision;
  return (
    <>
      <PageHeader
        title={policy.name}
        description={policy.description || undefined}
        actions={
          <>
            {policy.builtin ? <Badge variant="outline">builtin</Badge> : null}
            <EnabledBadge enabled={policy.enabled} />
          </>
        }
      />
      <div className="grid min-w-0 grid-cols-1 gap-4">
        <div className="grid gap-4 lg:grid-cols-2">
          <Overview policy={policy} mayWrite={mayWrite} />
          <Revisions policy={policy} selected={selected} />
        </div>
        <SourceCard policy={policy} selected={selected} />
        {mayWrite ? <EditForm key={policy.id} policy={policy} /> : null}
        <section className="grid gap-3" aria-labelledby="recent-decisions">
          <div className="flex flex-wrap items-end justify-between gap-2">
            <div className="grid gap-1">
              <h2 id="recent-decisions" className="text-lg font-semibold">
                Recent decisions
              </h2>
              <p className="text-sm text-muted-foreground">The last 20 evaluations of this policy, newest first.</p>
            </div>
            <Button asChild variant="outline" size="sm">
              <EnvLink to={`/policies/decisions?policy=${encodeURIComponent(policy.id)}`}>
                <ScaleIcon aria-hidden="true" />
                All decisions of this policy
              </EnvLink>
            </Button>
          </div>
          <DecisionsTable
            caption={`Recent decisions of ${policy.name}`}
            showPolicy={false}
            rows={policy.recentDecisions}
            isPending={false}
            empty={{
              icon: HistoryIcon,
              title: "No decisions yet",
              description: policy.enabled
                ? `Decisions are logged each time the policy is evaluated: at ${policy.points.join(", ")}. None has happened since it was created.`
                : "The policy is disabled, so it is not evaluated and logs no decisions. Enable it to start gating.",
            }}
          />
        </section>
      </div>
    </>
  );
}

function PolicyDetailView() {
  const { policyId = "" } = useParams();
  const q = useQuery(policiesGetOptions({ path: { policy_id: policyId } }));
  return (
    <>
      <div className="pb-3">
        <EnvLink to="/policies" className="inline-flex items-center gap-1 text-sm underline underline-offset-4 hover:no-underline">
          <ArrowLeftIcon className="size-4" aria-hidden="true" />
          All policies
        </EnvLink>
      </div>
      {q.data ? (
        <PolicyDetailBody policy={q.data} />
      ) : q.error ? (
        <>
          <PageHeader title={isStatus(q.error, 404) ? "Policy not found" : "Policy"} />
          <ErrorState error={q.error} title="Could not load the policy" onRetry={() => void q.refetch()} />
        </>
      ) : (
        <div className="grid gap-4" aria-busy="true">
          <span className="sr-only" role="status">
            Loading the policy…
          </span>
          <Skeleton className="h-8 w-64" />
          <div className="grid gap-4 lg:grid-cols-2">
            <Skeleton className="h-56 w-full rounded-xl" />
            <Skeleton className="h-56 w-full rounded-xl" />
          </div>
          <Skeleton className="h-72 w-full rounded-xl" />
        </div>
      )}
    </>
  );
}

export function PolicyDetailPage() {
  return (
    <RequirePermission anyOf={["policies:read"]} title="Policy">
      <PolicyDetailView />
    </RequirePermission>
  );
}

export const Component = PolicyDetailPage;
