import { useQuery } from "@tanstack/react-query";
import { ActivityIcon, ArrowRightIcon, ExternalLinkIcon, RefreshCwIcon, ScrollTextIcon } from "lucide-react";
import { auditListOptions, permissionsListOptions, systemInfoOptions } from "@/client/@tanstack/react-query.gen";
import { EmptyState } from "@/components/empty-state";
import { EnvLink } from "@/components/env-link";
import { ErrorState } from "@/components/error-state";
import { PageHeader } from "@/components/page-header";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCaption, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { formatDateTime, formatRelative } from "@/lib/format";
import { can } from "@/lib/permissions";
import { useSession } from "@/features/auth/session";
import { healthLevel, readinessQueryOptions } from "@/features/shell/readiness";
import { visibleSections } from "@/features/shell/nav";
import { ComplianceCard } from "./compliance-card";
import { HotColdCard } from "./hot-cold-card";
import { parseHotCold } from "./hub-model";
import { KpiTiles } from "./kpi-tiles";
import { HUB_REFETCH_MS, hubQueryOptions } from "./queries";
import { ReleasesCard } from "./releases-card";

/** Releases, key figures, what's hot and cold, compliance: all from one GET /api/hub. */
function HubOverview() {
  const q = useQuery(hubQueryOptions());
  const data = q.data;
  if (q.error && !data) {
    return <ErrorState error={q.error} title="Could not load the Control Hub" onRetry={() => void q.refetch()} />;
  }
  return (
    <>
      {q.error ? (
        <ErrorState error={q.error} title="Could not refresh the Control Hub" onRetry={() => void q.refetch()} compact />
      ) : null}
      <ReleasesCard releases={data?.releases} isPending={q.isPending} />
      <KpiTiles kpis={data?.kpis} />
      <div className="grid grid-cols-1 gap-6 xl:grid-cols-2">
        <HotColdCard hot={data ? parseHotCold(data.hotCold) : undefined} />
        <ComplianceCard compliance={data?.compliance} />
      </div>
    </>
  );
}

function HubFreshness() {
  const q = useQuery(hubQueryOptions());
  if (!q.data) return null;
  return (
    <>
      <p className="text-sm text-muted-foreground" data-testid="hub-updated">
        Updated <time dateTime={q.data.generatedAt}>{formatDateTime(q.data.generatedAt, true)}</time>, refreshed every{" "}
        {HUB_REFETCH_MS / 1000} s
      </p>
      <Button variant="outline" size="sm" onClick={() => void q.refetch()}>
        <RefreshCwIcon aria-hidden="true" />
        Refresh
      </Button>
    </>
  );
}

function HealthCard() {
  const { data, error, isPending, refetch } = useQuery(readinessQueryOptions());
  const level = healthLevel(data, error);
  return (
    <Card>
      <CardHeader>
        <CardTitle>System health</CardTitle>
        <CardDescription>Readiness of the services Maestro runs on, live from /api/ready.</CardDescription>
      </CardHeader>
      <CardContent>
        {isPending ? (
          <div className="grid gap-2">
            <Skeleton className="h-5 w-full" />
            <Skeleton className="h-5 w-full" />
            <Skeleton className="h-5 w-full" />
          </div>
        ) : error ? (
          <ErrorState error={error} title="Health is unknown" onRetry={() => void refetch()} compact />
        ) : (
          <ul className="grid gap-2" aria-label="Dependency checks">
            {Object.entries(data?.checks ?? {}).map(([name, check]) => (
              <li key={name} className="flex items-center justify-between gap-3 text-sm">
                <span className="font-medium">{name}</span>
                <span className="flex items-center gap-2">
                  {check?.status === "up" ? (
                    <span className="text-muted-foreground">{Math.round(check.latencyMs)} ms</span>
                  ) : check?.error ? (
                    <span className="max-w-60 truncate text-muted-foreground" title={check.error}>
                      {check.error}
                    </span>
                  ) : null}
                  <Badge variant={check?.status === "up" ? "success" : "danger"}>{check?.status ?? "unknown"}</Badge>
                </span>
              </li>
            ))}
            <li className="flex items-center justify-between gap-3 border-t pt-2 text-sm">
              <span className="font-medium">Overall</span>
              <Badge variant={level === "green" ? "success" : level === "amber" ? "warning" : "danger"}>
                {data?.status ?? "unknown"}
              </Badge>
            </li>
          </ul>
        )}
      </CardContent>
    </Card>
  );
}

function AccessCard() {
  const { data } = useSession();
  const permissions = data?.permissions ?? [];
  const sections = visibleSections(permissions);
  const catalog = useQuery({ ...permissionsListOptions(), staleTime: 5 * 60_000 });
  const describe = (name: string) => catalog.data?.items.find((p) => p.name === name)?.description;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Your access</CardTitle>
        <CardDescription>
          Signed in as <span className="font-medium text-foreground">{data?.user.displayName || data?.user.username}</span>{" "}
          ({data?.user.username}). Permissions come from your role bindings.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {permissions.length ? (
          <ul className="grid gap-1.5" aria-label="Your permissions">
            {permissions.map((p) => (
              <li key={p} className="flex flex-wrap items-baseline gap-2 text-sm">
                <Badge variant="secondary" className="font-mono">
                  {p}
                </Badge>
                {describe(p) ? <span className="text-muted-foreground">{describe(p)}</span> : null}
              </li>
            ))}
          </ul>
        ) : (
          <p className="text-sm text-muted-foreground">
            You hold no permissions yet: ask a Maestro admin to bind a role to your account.
          </p>
        )}
        <div className="grid gap-1">
          <h3 className="text-sm font-medium">Where you can go</h3>
          <ul className="grid gap-1 text-sm">
            {sections
              .flatMap((s) => s.items)
              .filter((i) => i.to !== "/")
              .map((i) => (
                <li key={i.to}>
                  <EnvLink to={i.to} className="inline-flex items-center gap-1.5 underline underline-offset-4 hover:no-underline">
                    <i.icon className="size-4" aria-hidden="true" />
                    {i.label}
                  </EnvLink>
                </li>
              ))}
          </ul>
          <p className="text-sm text-muted-foreground">
            Or press <kbd className="rounded border bg-muted px-1 font-mono text-xs">Ctrl K</kbd> /{" "}
            <kbd className="rounded border bg-muted px-1 font-mono text-xs">⌘K</kbd> to jump anywhere.
          </p>
        </div>
      </CardContent>
    </Card>
  );
}

function SystemCard() {
  const { data, error, isPending, refetch } = useQuery({ ...systemInfoOptions(), staleTime: 5 * 60_000 });
  return (
    <Card>
      <CardHeader>
        <CardTitle>This installation</CardTitle>
        <CardDescription>Version and the Temporal cluster that runs Maestro&apos;s workflows.</CardDescription>
      </CardHeader>
      <CardContent>
        {isPending ? (
          <div className="grid gap-2">
            <Skeleton className="h-5 w-full" />
            <Skeleton className="h-5 w-full" />
          </div>
        ) : error ? (
          <ErrorState error={error} title="Could not load system information" onRetry={() => void refetch()} compact />
        ) : (
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
            <dt className="text-muted-foreground">Version</dt>
            <dd className="font-mono">{data.version}</dd>
            <dt className="text-muted-foreground">Temporal</dt>
            <dd className="font-mono break-all">
              {data.temporalAddress} · namespace {data.temporalNamespace}
            </dd>
            <dt className="text-muted-foreground">Task queue</dt>
            <dd className="font-mono break-all">{data.controlTaskQueue}</dd>
            {data.temporalUiUrl ? (
              <>
                <dt className="text-muted-foreground">Temporal UI</dt>
                <dd>
                  <a
                    href={data.temporalUiUrl}
                    target="_blank"
                    rel="noreferrer"
                    className="inline-flex items-center gap-1 underline underline-offset-4 hover:no-underline"
                  >
                    Open the Temporal Web UI
                    <ExternalLinkIcon className="size-3.5" aria-hidden="true" />
                    <span className="sr-only">(opens in a new tab)</span>
                  </a>
                </dd>
              </>
            ) : null}
          </dl>
        )}
      </CardContent>
    </Card>
  );
}

function RecentAuditCard() {
  const { data, error, isPending, refetch } = useQuery(auditListOptions({ query: { limit: 8 } }));
  return (
    <Card className="lg:col-span-2">
      <CardHeader className="flex-row items-start justify-between gap-4">
        <div className="grid gap-1">
          <CardTitle>Recent activity</CardTitle>
          <CardDescription>The latest entries of the tamper-evident audit log, updated live.</CardDescription>
        </div>
        <Button asChild variant="outline" size="sm">
          <EnvLink to="/admin/audit">
            Open the audit log <ArrowRightIcon aria-hidden="true" />
          </EnvLink>
        </Button>
      </CardHeader>
      <CardContent>
        {isPending ? (
          <div className="grid gap-2">
            {Array.from({ length: 4 }, (_, i) => (
              <Skeleton key={i} className="h-6 w-full" />
            ))}
          </div>
        ) : error ? (
          <ErrorState error={error} title="Could not load recent activity" onRetry={() => void refetch()} compact />
        ) : !data.items.length ? (
          <EmptyState
            icon={ScrollTextIcon}
            title="No activity yet"
            description="Every change made through Maestro (logins, tokens, users, role bindings) is recorded here as it happens."
          />
        ) : (
          <Table label="Recent audit events">
            <TableCaption className="sr-only">Recent audit events</TableCaption>
            <TableHeader>
              <TableRow className="hover:bg-transparent">
                <TableHead scope="col">When</TableHead>
                <TableHead scope="col">Actor</TableHead>
                <TableHead scope="col">Action</TableHead>
                <TableHead scope="col">Target</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {data.items.map((e) => (
                <TableRow key={e.id}>
                  <TableCell title={formatDateTime(e.ts, true)}>{formatRelative(e.ts)}</TableCell>
                  <TableCell>{e.actor}</TableCell>
                  <TableCell className="font-mono text-xs">{e.action}</TableCell>
                  <TableCell className="text-muted-foreground">
                    {e.targetType}
                    {e.targetId ? ` ${e.targetId}` : ""}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </CardContent>
    </Card>
  );
}

export function HomePage() {
  const { data } = useSession();
  const auditAllowed = can(data?.permissions, "audit:read");
  const systemAllowed = can(data?.permissions, "system:read");
  return (
    <>
      <PageHeader
        title="Control Hub"
        description="What this Maestro installation is doing right now, and what you can do with it."
        actions={<HubFreshness />}
      />
      <div className="grid grid-cols-1 gap-6">
        <HubOverview />
      </div>
      <div className="mt-6 grid grid-cols-1 gap-6 lg:grid-cols-2">
        <div className="grid min-w-0 content-start gap-6">
          <HealthCard />
          {systemAllowed ? <SystemCard /> : null}
        </div>
        <AccessCard />
        {auditAllowed ? (
          <RecentAuditCard />
        ) : (
          <Card className="lg:col-span-2">
            <CardHeader>
              <CardTitle>Recent activity</CardTitle>
            </CardHeader>
            <CardContent>
              <EmptyState
                icon={ActivityIcon}
                title="The audit log needs the audit:read permission"
                description="Ask a Maestro admin for the security role (or another role granting audit:read) to see who changed what."
              />
            </CardContent>
          </Card>
        )}
      </div>
    </>
  );
}

export const Component = HomePage;
