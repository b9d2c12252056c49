import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ArrowLeftIcon, PencilIcon, PinIcon, PinOffIcon, ShieldIcon, Trash2Icon } from "lucide-react";
import { useState, type ReactNode } from "react";
import { useNavigate, useParams } from "react-router";
import { routingClassesDeleteMutation } from "@/client/@tanstack/react-query.gen";
import { ConfirmDialog } from "@/components/confirm-dialog";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { isStatus } from "@/lib/api-error";
import { useEnvHref } from "@/lib/env";
import { formatDateTime } from "@/lib/format";
import { toast } from "@/lib/toast";
import { RequirePermission } from "@/features/auth/require-permission";
import { useCan } from "@/features/auth/session";
import { CandidatesPanel } from "./candidates-panel";
import { ClassDialog } from "./class-dialog";
import { DowngradeSwitch, PinDialog, UnpinDialog } from "./class-controls";
import { candidateKey, DEFAULT_WEIGHTS, formatUsd, type RoutingClass } from "./model";
import { StreamBadge } from "./event-feed";
import { classQueryOptions, invalidateClasses, useRoutingLiveUpdates } from "./queries";
import { TrafficPanel } from "./traffic-panel";
import { PolicySheet } from "./policy-sheet";
import { SplitCard } from "./split-card";
import { CanaryCard } from "./canary-card";
import { CapturesPanel } from "./captures-panel";

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid min-w-0 gap-0.5">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="text-sm break-words">{children}</dd>
    </div>
  );
}

function PinCard({ cls }: { cls: RoutingClass }) {
  const pin = cls.pin;
  return (
    <div className="grid gap-1" data-testid="class-pin">
      {pin ? (
        <>
          <p className="text-sm">
            Pinned to <span className="font-mono font-medium">{candidateKey(pin)}</span>{" "}
            {pin.expiresAt ? `until ${formatDateTime(pin.expiresAt, true)}` : "until unpinned"}
          </p>
          <p className="text-sm text-muted-foreground">
            “{pin.reason}” — {pin.createdBy}, {formatDateTime(pin.createdAt, true)}
          </p>
        </>
      ) : (
        <p className="text-sm text-muted-foreground">Not pinned: requests go to the best-scored candidate.</p>
      )}
    </div>
  );
}

function ClassDetail({ cls }: { cls: RoutingClass }) {
  const mayWrite = useCan("routing:write");
  const stream = useRoutingLiveUpdates();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const href = useEnvHref();
  const [pinning, setPinning] = useState(0);
  const [unpinning, setUnpinning] = useState(false);
  const [editing, setEditing] = useState(false);
  const [policy, setPolicy] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const remove = useMutation({ ...routingClassesDeleteMutation(), onSettled: () => invalidateClasses(queryClient) });
  const weights = { ...DEFAULT_WEIGHTS, ...cls.weights };
  const models = cls.match?.models ?? [];
  const f = cls.failover;
  return (
    <>
      <PageHeader
        title={`Class ${cls.name}`}
        description={
          cls.description ||
          `Requests for ${models.length ? models.join(", ") : "any model"} go to the best of ${cls.candidates.length} candidate${cls.candidates.length === 1 ? "" : "s"}.`
        }
        actions={
          <>
            {cls.pin ? <Badge variant="secondary">Pinned</Badge> : null}
            {cls.downgraded ? <Badge variant="warning">Downgraded</Badge> : null}
            <StreamBadge state={stream} />
          </>
        }
      />
      <div className="grid min-w-0 grid-cols-1 gap-4">
        {mayWrite ? (
          <div className="flex flex-wrap items-center gap-2" role="group" aria-label="Class actions">
            <Button onClick={() => setPinning((n) => n + 1)}>
              <PinIcon aria-hidden="true" />
              {cls.pin ? "Change pin…" : "Pin…"}
            </Button>
            {cls.pin ? (
              <Button variant="outline" onClick={() => setUnpinning(true)}>
                <PinOffIcon aria-hidden="true" />
                Unpin
              </Button>
            ) : null}
            <Button variant="outline" onClick={() => setEditing(true)}>
              <PencilIcon aria-hidden="true" />
              Edit class
            </Button>
            <Button variant="outline" onClick={() => setPolicy(true)}>
              <ShieldIcon aria-hidden="true" />
              Policy…
            </Button>
            <Button variant="outline" onClick={() => setDeleting(true)}>
              <Trash2Icon aria-hidden="true" />
              Delete class
            </Button>
          </div>
        ) : null}
        <div className="grid min-w-0 grid-cols-1 gap-4 lg:grid-cols-2">
          <Card aria-labelledby="pin-title">
            <CardHeader>
              <CardTitle id="pin-title">Pin</CardTitle>
              <CardDescription>A pin sends the class&apos;s requests to one candidate for a while (failover still applies).</CardDescription>
            </CardHeader>
            <CardContent>
              <PinCard cls={cls} />
            </CardContent>
          </Card>
          <Card aria-labelledby="downgrade-title">
            <CardHeader>
              <CardTitle id="downgrade-title">Downgrade</CardTitle>
              <CardDescription>The budget hook: a cheaper path the class takes while it is switched on.</CardDescription>
            </CardHeader>
            <CardContent>
              <DowngradeSwitch cls={cls} mayWrite={mayWrite} />
            </CardContent>
          </Card>
        </div>
        <CandidatesPanel cls={cls} />
        <SplitCard cls={cls} />
        <CanaryCard cls={cls} />
        <CapturesPanel cls={cls} />
        <Card aria-labelledby="traffic-title">
          <CardHeader>
            <CardTitle id="traffic-title">Traffic &amp; health</CardTitle>
          </CardHeader>
          <CardContent>
            <TrafficPanel cls={cls.name} stream={stream} />
          </CardContent>
        </Card>
        <Card aria-labelledby="config-title">
          <CardHeader>
            <CardTitle id="config-title">Configuration</CardTitle>
          </CardHeader>
          <CardContent>
            <dl className="grid grid-cols-1 gap-x-6 gap-y-3 sm:grid-cols-2 lg:grid-cols-3">
              <Fact label="Models it matches">{models.length ? <span className="font-mono text-xs">{models.join(", ")}</span> : "any"}</Fact>
              <Fact label="Priority">{cls.priority ?? 100} (lower matches first)</Fact>
              <Fact label="Downgrade path">{cls.downgradeTo ? <span className="font-mono text-xs">{cls.downgradeTo}</span> : "none"}</Fact>
              <Fact label="Score weights">
                latency {weights.latency}, cost {weights.cost}, reliability {weights.reliability}, policy {weights.policy}
              </Fact>
              <Fact label="Failover">
                {f
                  ? `up to ${f.maxAttempts ?? 3} attempts, backoff ${f.backoffMs ?? 25} ms; cooldown ${f.cooldownSeconds ?? 30} s after ${f.cooldownAfter ?? 3} failures in a row`
                  : "defaults"}
              </Fact>
              <Fact label="Price cards (USD per 1M tokens in / out)">
                <span className="grid gap-0.5">
                  {cls.candidates.map((c) => (
                    <span key={candidateKey(c)} className="font-mono text-xs">
                      {candidateKey(c)}: {formatUsd(c.price?.input ?? 0)} / {formatUsd(c.price?.output ?? 0)}
                      {c.weight ? ` (A/B ${c.weight}%)` : ""}
                    </span>
                  ))}
                </span>
              </Fact>
              <Fact label="Allowed (policy)">
                {cls.policy?.providers?.length || cls.policy?.models?.length || cls.policy?.regions?.length
                  ? [
                      cls.policy?.providers?.length ? `providers ${cls.policy.providers.join(", ")}` : "",
                      cls.policy?.models?.length ? `models ${cls.policy.models.join(", ")}` : "",
                      cls.policy?.regions?.length ? `regions ${cls.policy.regions.join(", ")}` : "",
                    ]
                      .filter(Boolean)
                      .join("; ")
                  : "any provider, model and region"}
                {cls.rego ? " + a Rego policy" : ""}
              </Fact>
              <Fact label="Updated">
                {formatDateTime(cls.updatedAt, true)} (created by {cls.createdBy})
              </Fact>
            </dl>
          </CardContent>
        </Card>
      </div>
      {mayWrite ? (
        <>
          {pinning ? (
            <PinDialog key={pinning} cls={cls} open={pinning > 0} onOpenChange={(o) => !o && setPinning(0)} />
          ) : null}
          <UnpinDialog cls={cls} open={unpinning} onOpenChange={setUnpinning} />
          <ClassDialog open={editing} onOpenChange={setEditing} cls={cls} />
          <PolicySheet open={policy} onOpenChange={setPolicy} cls={cls} />
          <ConfirmDialog
            open={deleting}
            onOpenChange={setDeleting}
            title={`Delete class ${cls.name}?`}
            description="Requests it matched go to the next class that matches them, or are refused (404) when none does. Its pin goes with it."
            confirmLabel="Delete class"
            destructive
            onConfirm={async () => {
              await remove.mutateAsync({ path: { name: cls.name } });
              toast({ title: "Class deleted", description: cls.name, variant: "success" });
              navigate(href("/routing"));
            }}
          />
        </>
      ) : null}
    </>
  );
}

function ClassDetailView() {
  const { name = "" } = useParams();
  const query = useQuery(classQueryOptions(name));
  const back = (
    <div className="pb-3">
      <Button asChild variant="ghost" size="sm">
        <EnvLink to="/routing">
          <ArrowLeftIcon aria-hidden="true" /> Routing Studio
        </EnvLink>
      </Button>
    </div>
  );
  if (query.data) {
    return (
      <>
        {back}
        <ClassDetail cls={query.data} />
      </>
    );
  }
  if (query.error) {
    return (
      <>
        {back}
        <PageHeader title={isStatus(query.error, 404) ? "Class not found" : `Class ${name}`} />
        <ErrorState error={query.error} title="Could not load this class" onRetry={() => void query.refetch()} />
      </>
    );
  }
  return (
    <>
      {back}
      <PageHeader title={`Class ${name}`} />
      <div className="grid gap-4" aria-busy="true">
        <span className="sr-only" role="status">
          Loading the class…
        </span>
        <Skeleton className="h-32 w-full rounded-xl" />
        <Skeleton className="h-64 w-full rounded-xl" />
      </div>
    </>
  );
}

export function ClassDetailPage() {
  return (
    <RequirePermission anyOf={["routing:read"]} title="Routing class">
      <ClassDetailView />
    </RequirePermission>
  );
}

export const Component = ClassDetailPage;
