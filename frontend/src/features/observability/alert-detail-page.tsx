import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ArrowLeftIcon, BookOpenIcon, ExternalLinkIcon, GaugeIcon, type LucideIcon } from "lucide-react";
import { useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { alertsAckMutation, alertsAssignMutation, alertsGetOptions } from "@/client/@tanstack/react-query.gen";
import { CopyButton } from "@/components/copy-button";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { FormField } from "@/components/form-field";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { Textarea } from "@/components/ui/textarea";
import { formatDateTime } from "@/lib/format";
import { serverFieldErrors } from "@/lib/form";
import { toast } from "@/lib/toast";
import { useCan } from "@/features/auth/session";
import { RequirePermission } from "@/features/auth/require-permission";
import { annotationLinkTarget } from "@/features/runbooks/links";
import { AlertStateBadge } from "./alert-state-badge";
import { severityVariant } from "./format";
import { invalidateAlertLists, type Alert } from "./queries";

/** Annotations shown as links in the Status card rather than in the Annotations list. */
const LINK_ANNOTATIONS = new Set(["runbook_url", "slo_url"]);

function KeyValues({ title, values, label }: { title: string; values: Record<string, string>; label: string }) {
  const entries = Object.entries(values).filter(([k]) => !LINK_ANNOTATIONS.has(k));
  return (
    <Card>
      <CardHeader>
        <CardTitle>{title}</CardTitle>
      </CardHeader>
      <CardContent>
        {entries.length ? (
          <dl className="grid gap-2 text-sm sm:grid-cols-[minmax(8rem,auto)_1fr]" aria-label={label}>
            {entries.map(([k, v]) => (
              <div key={k} className="contents">
                <dt className="font-mono text-xs text-muted-foreground">{k}</dt>
                <dd className="break-words">{v}</dd>
              </div>
            ))}
          </dl>
        ) : (
          <p className="text-sm text-muted-foreground">None.</p>
        )}
      </CardContent>
    </Card>
  );
}

/**
 * An annotation URL as a link: pages of this app (`/runbooks/…`, `/observability…`) open in the
 * app (keeping `?env=`) whatever host the URL names; anything else opens as an external link.
 * The raw value stays visible and copyable.
 */
function AnnotationLink({ label, action, icon: Icon, value }: { label: string; action: string; icon: LucideIcon; value: string }) {
  const target = annotationLinkTarget(value);
  return (
    <div className="grid gap-1.5">
      <span className="text-sm font-medium">{label}</span>
      <div className="flex flex-wrap items-center gap-2">
        {target.kind === "app" ? (
          <Button asChild size="sm" variant="outline">
            <EnvLink to={target.to}>
              <Icon aria-hidden="true" />
              {action}
            </EnvLink>
          </Button>
        ) : target.kind === "external" ? (
          <Button asChild size="sm" variant="outline">
            <a href={target.href} target="_blank" rel="noopener noreferrer">
              <ExternalLinkIcon aria-hidden="true" />
              {action}{" "}
              <span className="sr-only">(opens in a new tab)</span>
            </a>
          </Button>
        ) : null}
        <span className="flex min-w-0 items-center gap-2">
          <code className="min-w-0 rounded bg-muted px-2 py-1 font-mono text-xs break-all">{value}</code>
          <CopyButton className="shrink-0" value={value} size="sm" label={`Copy the ${label === label.toUpperCase() ? label : label.toLowerCase()} URL`} />
        </span>
      </div>
    </div>
  );
}

function AckForm({ alert }: { alert: Alert }) {
  const queryClient = useQueryClient();
  const [note, setNote] = useState("");
  const ack = useMutation({
    ...alertsAckMutation(),
    onSuccess: (a) => {
      queryClient.setQueryData(alertsGetOptions({ path: { alert_id: alert.id } }).queryKey, a);
      toast({ title: "Alert acknowledged", description: a.name, variant: "success" });
      setNote("");
    },
    onSettled: () => invalidateAlertLists(queryClient),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    ack.mutate({ path: { alert_id: alert.id }, body: { note: note.trim() } });
  }
  return (
    <form onSubmit={submit} className="grid gap-3" aria-label="Acknowledge the alert">
      <FormField label="Ack note" hint="Optional: what you are doing about it (recorded in the audit log).">
        {(p) => <Textarea {...p} rows={2} value={note} onChange={(e) => setNote(e.target.value)} />}
      </FormField>
      {ack.error ? <ErrorState error={ack.error} title="Could not acknowledge the alert" compact /> : null}
      <div>
        <Button type="submit" disabled={ack.isPending}>
          {ack.isPending ? "Acknowledging…" : "Acknowledge"}
        </Button>
      </div>
    </form>
  );
}

function AssignForm({ alert }: { alert: Alert }) {
  const queryClient = useQueryClient();
  const [assignee, setAssignee] = useState(alert.assignee ?? "");
  const [error, setError] = useState<string | undefined>();
  const assign = useMutation({
    ...alertsAssignMutation(),
    onSuccess: (a) => {
      queryClient.setQueryData(alertsGetOptions({ path: { alert_id: alert.id } }).queryKey, a);
      toast({ title: "Alert assigned", description: `${a.name} → ${a.assignee ?? ""}`, variant: "success" });
    },
    onError: (e) => setError(serverFieldErrors(e).assignee),
    onSettled: () => invalidateAlertLists(queryClient),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    const username = assignee.trim();
    if (!username) {
      setError("Type the username of whoever takes the alert.");
      return;
    }
    setError(undefined);
    assign.mutate({ path: { alert_id: alert.id }, body: { assignee: username } });
  }
  return (
    <form onSubmit={submit} className="grid gap-3" aria-label="Assign the alert" noValidate>
      <FormField label="Assignee (username)" error={error}>
        {(p) => <Input {...p} value={assignee} onChange={(e) => setAssignee(e.target.value)} autoComplete="off" />}
      </FormField>
      {assign.error && !error ? <ErrorState error={assign.error} title="Could not assign the alert" compact /> : null}
      <div>
        <Button type="submit" variant="outline" disabled={assign.isPending}>
          {assign.isPending ? "Assigning…" : "Assign"}
        </Button>
      </div>
    </form>
  );
}

function AlertDetail({ alert }: { alert: Alert }) {
  const mayWrite = useCan("alerts:write");
  const acked = alert.ackedBy !== null;
  return (
    <>
      <PageHeader
        title={alert.name}
        description={alert.annotations.summary}
        actions={
          <>
            <AlertStateBadge state={alert.state} />
            <Badge variant={severityVariant(alert.severity)}>{alert.severity}</Badge>
          </>
        }
      />
      <div className="grid gap-4 lg:grid-cols-2">
        <Card>
          <CardHeader>
            <CardTitle>Status</CardTitle>
            <CardDescription>Fired {alert.fireCount} time{alert.fireCount === 1 ? "" : "s"}.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4">
            <dl className="grid gap-2 text-sm sm:grid-cols-[minmax(8rem,auto)_1fr]">
              <dt className="text-muted-foreground">Started</dt>
              <dd>{formatDateTime(alert.startsAt, true)}</dd>
              <dt className="text-muted-foreground">Ended</dt>
              <dd>{alert.endsAt ? formatDateTime(alert.endsAt, true) : "still firing"}</dd>
              <dt className="text-muted-foreground">Updated</dt>
              <dd>{formatDateTime(alert.updatedAt, true)}</dd>
              <dt className="text-muted-foreground">Acknowledged</dt>
              <dd data-testid="alert-ack">{acked ? `acked by ${alert.ackedBy} at ${formatDateTime(alert.ackedAt, true)}` : "not acked"}</dd>
              <dt className="text-muted-foreground">Assignee</dt>
              <dd>{alert.assignee ?? "unassigned"}</dd>
              <dt className="text-muted-foreground">Notification</dt>
              <dd className="font-mono text-xs">{alert.notifyStatus}</dd>
              <dt className="text-muted-foreground">Fingerprint</dt>
              <dd className="font-mono text-xs break-all">{alert.fingerprint}</dd>
            </dl>
            {alert.annotations.description ? <p className="text-sm">{alert.annotations.description}</p> : null}
            {alert.annotations.runbook_url ? (
              <AnnotationLink label="Runbook" action="Open runbook" icon={BookOpenIcon} value={alert.annotations.runbook_url} />
            ) : null}
            {alert.annotations.slo_url ? (
              <AnnotationLink label="SLO" action="Open SLO" icon={GaugeIcon} value={alert.annotations.slo_url} />
            ) : null}
          </CardContent>
        </Card>
        {mayWrite ? (
          <Card>
            <CardHeader>
              <CardTitle>Respond</CardTitle>
              <CardDescription>Acknowledge to say someone is on it; assign to hand it to a teammate.</CardDescription>
            </CardHeader>
            <CardContent className="grid gap-6">
              {acked && alert.state === "firing" ? (
                <p className="text-sm">Acknowledged by {alert.ackedBy}.</p>
              ) : (
                <AckForm alert={alert} />
              )}
              <AssignForm key={alert.assignee ?? ""} alert={alert} />
            </CardContent>
          </Card>
        ) : null}
        <KeyValues title="Labels" values={alert.labels} label="Alert labels" />
        <KeyValues title="Annotations" values={alert.annotations} label="Alert annotations" />
      </div>
    </>
  );
}

function AlertDetailView() {
  const { alertId = "" } = useParams();
  const q = useQuery(alertsGetOptions({ path: { alert_id: alertId } }));
  return (
    <>
      <div className="pb-3">
        <EnvLink to="/observability/alerts" className="inline-flex items-center gap-1 text-sm underline underline-offset-4 hover:no-underline">
          <ArrowLeftIcon className="size-4" aria-hidden="true" />
          All alerts
        </EnvLink>
      </div>
      {q.data ? (
        <AlertDetail alert={q.data} />
      ) : q.error ? (
        <>
          <PageHeader title="Alert" />
          <ErrorState error={q.error} title="Could not load the alert" onRetry={() => void q.refetch()} />
        </>
      ) : (
        <div className="grid gap-4" aria-busy="true">
          <span className="sr-only" role="status">
            Loading the alert…
          </span>
          <Skeleton className="h-8 w-64" />
          <Skeleton className="h-64 w-full rounded-xl" />
        </div>
      )}
    </>
  );
}

export function AlertDetailPage() {
  return (
    <RequirePermission anyOf={["system:read"]} title="Alert">
      <AlertDetailView />
    </RequirePermission>
  );
}

export const Component = AlertDetailPage;
