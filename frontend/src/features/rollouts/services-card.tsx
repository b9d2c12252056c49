import { useQuery } from "@tanstack/react-query";
import { PlusIcon, ServerIcon } from "lucide-react";
import type { ServicePublic } from "@/client/types.gen";
import { DataTable, type Column } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { formatDateTime } from "@/lib/format";
import { inEnv } from "./model";
import { ProviderBadge } from "./provider-badge";
import { servicesQueryOptions } from "./queries";
import { WeightBar } from "./weight-bar";

function columns(onStart: ((service: string) => void) | null): Column<ServicePublic>[] {
  const cols: Column<ServicePublic>[] = [
    {
      id: "name",
      header: "Service",
      cell: (s) => (
        <span className="grid gap-0.5">
          <span className="flex flex-wrap items-center gap-1.5">
            <span className="font-medium">{s.name}</span>
            <ProviderBadge provider={s.provider} />
          </span>
          <span className="text-xs text-muted-foreground">
            {s.sticky ? `sticky by ${s.sticky}` : "not sticky"} · since {formatDateTime(s.createdAt)}
          </span>
        </span>
      ),
    },
    { id: "env", header: "Env", cell: (s) => <Badge variant="outline">{s.env}</Badge> },
    {
      id: "weight",
      header: "Canary weight",
      cell: (s) =>
        s.canaryUrl ? (
          <WeightBar weight={s.weight ?? 0} label={`Live canary weight of ${s.name}`} />
        ) : (
          <span className="text-sm text-muted-foreground">all traffic to stable</span>
        ),
    },
    {
      id: "stable",
      header: "Stable URL",
      className: "max-w-64",
      cell: (s) => (
        <span className="block truncate font-mono text-xs" title={s.stableUrl}>
          {s.stableUrl}
        </span>
      ),
    },
    {
      id: "canary",
      header: "Canary URL",
      className: "max-w-64",
      cell: (s) =>
        s.canaryUrl ? (
          <span className="block truncate font-mono text-xs" title={s.canaryUrl}>
            {s.canaryUrl}
          </span>
        ) : (
          <span className="text-sm text-muted-foreground">none</span>
        ),
    },
    {
      id: "rollout",
      header: "Rollout",
      cell: (s) =>
        s.rolloutId ? (
          <EnvLink to={`/rollouts/${s.rolloutId}`} className="whitespace-nowrap underline underline-offset-4 hover:no-underline">
            Current rollout <span className="sr-only">of {s.name}</span>
          </EnvLink>
        ) : onStart ? (
          <Button variant="outline" size="sm" onClick={() => onStart(s.name)}>
            New canary <span className="sr-only">of {s.name}</span>
          </Button>
        ) : (
          <span className="text-sm text-muted-foreground">none</span>
        ),
    },
  ];
  return cols;
}

/**
 * Services behind the edge router with their live routing (GET /api/services reads what the
 * routers use): the canary weight, stable and canary upstreams. Refreshed by rollout events.
 */
export function ServicesCard({
  env,
  onRegister,
  onStart,
}: {
  env: string | null;
  /** Shown to rollouts:promote holders. */
  onRegister: (() => void) | null;
  onStart: ((service: string) => void) | null;
}) {
  const services = useQuery(servicesQueryOptions());
  const rows = services.data ? inEnv(services.data.items, env) : undefined;
  return (
    <Card aria-labelledby="services-title">
      <CardHeader>
        <div className="flex flex-wrap items-start justify-between gap-2">
          <div className="grid min-w-0 flex-1 gap-1">
            <CardTitle id="services-title">Services</CardTitle>
            <CardDescription>
              Each service&apos;s traffic provider (the built-in edge router, HAProxy, …) sends its traffic to the stable URL, and the canary
              weight&apos;s share to the canary while a rollout runs.
              {env ? ` Showing ${env} only (the environment switcher).` : ""}
            </CardDescription>
          </div>
          {onRegister ? (
            <Button variant="outline" onClick={onRegister}>
              <PlusIcon aria-hidden="true" />
              Register service
            </Button>
          ) : null}
        </div>
      </CardHeader>
      <CardContent>
        <DataTable
          caption="Services"
          columns={columns(onStart)}
          rows={rows}
          rowKey={(s) => s.id}
          isPending={services.isPending}
          error={services.error}
          errorTitle="Could not load the services"
          onRetry={() => void services.refetch()}
          skeletonRows={2}
          filtered={Boolean(env)}
          empty={{
            icon: ServerIcon,
            title: "No services yet",
            description: onRegister
              ? "Use Register service (a name, an environment and the stable URL) to route it through the edge router; then start a rollout of a new version."
              : "A service appears here once someone with the rollouts:promote permission registers it (name, environment, stable URL).",
          }}
          filteredEmpty={{
            icon: ServerIcon,
            title: `No services in ${env ?? "this environment"}`,
            description: "Choose “All environments” in the environment switcher to see the others.",
          }}
        />
      </CardContent>
    </Card>
  );
}
