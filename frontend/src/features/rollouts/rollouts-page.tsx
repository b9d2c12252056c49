import { useQuery } from "@tanstack/react-query";
import { RocketIcon, SearchXIcon } from "lucide-react";
import { useState } from "react";
import { rolloutsListOptions } from "@/client/@tanstack/react-query.gen";
import { DataTable, type Column } from "@/components/data-table";
import { EnvLink } from "@/components/env-link";
import { PageHeader } from "@/components/page-header";
import { FilterGroup, SelectFilter } from "@/components/select-filters";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { useCurrentEnv } from "@/lib/env";
import { formatDateTime } from "@/lib/format";
import { definedOnly, useOpenFromUrl, useUrlFilters } from "@/lib/url-state";
import { useCan } from "@/features/auth/session";
import { RequirePermission } from "@/features/auth/require-permission";
import { inEnv, isFinishedRollout, isRolloutStatus, ROLLOUT_STATUS_OPTIONS, stepPosition, type Rollout } from "./model";
import { servicesQueryOptions, useRolloutsLiveUpdates } from "./queries";
import { RegisterServiceDialog } from "./register-service-dialog";
import { RolloutStatusBadge } from "./rollout-status-badge";
import { ServicesCard } from "./services-card";
import { StartRolloutDialog } from "./start-rollout-dialog";
import { WeightBar } from "./weight-bar";

const FILTERS = ["status", "service"] as const;
const LIMIT = 100;

const columns: Column<Rollout>[] = [
  {
    id: "service",
    header: "Service",
    cell: (r) => (
      <span className="grid gap-0.5">
        <EnvLink to={`/rollouts/${r.id}`} className="font-medium underline underline-offset-4 hover:no-underline">
          {r.service}
        </EnvLink>
        <span className="font-mono text-xs text-muted-foreground" title={r.id}>
          {r.id.slice(0, 12)}
        </span>
      </span>
    ),
  },
  { id: "env", header: "Env", cell: (r) => <Badge variant="outline">{r.env}</Badge> },
  {
    id: "status",
    header: "Status",
    cell: (r) =>
      r.status === "rolling_back" ? (
        // not over: weight 0 is retried until the traffic provider answers; the message says why it has not yet
        <span className="grid max-w-56 gap-1">
          <RolloutStatusBadge status={r.status} />
          {r.message ? (
            <span className="truncate text-xs text-muted-foreground" title={r.message} data-testid="rollout-row-message">
              {r.message}
            </span>
          ) : null}
        </span>
      ) : (
        <RolloutStatusBadge status={r.status} />
      ),
  },
  {
    id: "weight",
    header: "Weight",
    cell: (r) =>
      // after a promotion the canary is the stable version and the API's weight is 0: a bare 0% would say the opposite
      r.status === "succeeded" ? (
        <span className="text-sm whitespace-nowrap" title={`Promoted: ${r.canaryUrl} is now the stable version`}>
          promoted, now stable
        </span>
      ) : (
        <WeightBar weight={r.weight} label={`Canary weight of ${r.service} (rollout ${r.id.slice(0, 12)})`} />
      ),
  },
  {
    id: "step",
    header: "Step",
    cell: (r) => {
      const { current, total } = stepPosition(r.steps.length, r.stepIndex, r.status);
      return (
        <span className="tabular-nums whitespace-nowrap" title={`Step ${current} of ${total}`}>
          {current}/{total}
        </span>
      );
    },
  },
  {
    id: "canary",
    header: "Canary URL",
    className: "max-w-64",
    // one line: a long URL is cut short (whole in the tooltip), never broken mid-host
    cell: (r) => (
      <span className="block truncate font-mono text-xs" title={r.canaryUrl}>
        {r.canaryUrl}
      </span>
    ),
  },
  { id: "started", header: "Started", cell: (r) => <span className="whitespace-nowrap">{formatDateTime(r.createdAt, true)}</span> },
  { id: "by", header: "By", cell: (r) => r.createdBy },
];

/** Rollouts in progress first (what needs watching), then the finished ones; each newest first. */
function RolloutSections({ rows }: { rows: Rollout[] }) {
  const active = rows.filter((r) => !isFinishedRollout(r.status));
  const finished = rows.filter((r) => isFinishedRollout(r.status));
  const section = (title: string, caption: string, items: Rollout[], none: string) => (
    <section className="grid min-w-0 grid-cols-1 gap-2" aria-label={title}>
      <h2 className="text-base font-semibold">
        {title} <span className="font-normal text-muted-foreground">({items.length})</span>
      </h2>
      {items.length ? (
        <DataTable
          caption={caption}
          columns={columns}
          rows={items}
          rowKey={(r) => r.id}
          isPending={false}
          empty={{ title: none, description: "" }}
        />
      ) : (
        <p className="text-sm text-muted-foreground">{none}</p>
      )}
    </section>
  );
  return (
    <>
      {section("In progress", "Rollouts in progress, newest first", active, "No rollout is in progress.")}
      {section("Finished", "Finished rollouts, newest first", finished, "No finished rollout here.")}
    </>
  );
}

function RolloutsView() {
  const mayPromote = useCan("rollouts:promote");
  const env = useCurrentEnv();
  const filters = useUrlFilters(FILTERS);
  const { status, service } = filters.values;
  const live = useRolloutsLiveUpdates();
  const list = useQuery({
    // a status the API does not know (an old link) filters nothing rather than failing the list
    ...rolloutsListOptions({ query: { limit: LIMIT, ...definedOnly({ status: isRolloutStatus(status) ? status : undefined, service }) } }),
    // The stream keeps it fresh; poll only while something is in flight and the stream is down.
    refetchInterval: (q) => (live !== "open" && q.state.data?.items.some((r) => !isFinishedRollout(r.status)) ? 10_000 : false),
  });
  const services = useQuery(servicesQueryOptions());
  const serviceNames = [...new Set([...(services.data?.items.map((s) => s.name) ?? []), ...(service ? [service] : [])])].sort();
  const rows = list.data ? inEnv(list.data.items, env) : undefined;
  const [starting, setStarting] = useOpenFromUrl("new");
  const [startService, setStartService] = useState<string | undefined>();
  const [registering, setRegistering] = useOpenFromUrl("register");

  const openStart = (name?: string) => {
    setStartService(name);
    setStarting(true);
  };

  return (
    <>
      <PageHeader
        title="Rollouts"
        description={
          <>
            Canary rollouts, newest first: each service&apos;s traffic provider (the built-in edge router, HAProxy or the Kubernetes
            Gateway API) sends a growing share of its traffic to the canary as the rollout walks its steps (weights, pauses, analyses),
            until it is promoted, rolled back or aborted. Changes appear live.
            {env ? ` Showing ${env} only (the environment switcher).` : ""}
          </>
        }
        actions={
          mayPromote ? (
            <Button onClick={() => openStart()}>
              <RocketIcon aria-hidden="true" />
              Start rollout
            </Button>
          ) : null
        }
      />
      <div className="grid min-w-0 grid-cols-1 gap-6">
        <div className="grid min-w-0 grid-cols-1 gap-4">
          <FilterGroup label="Filter the rollouts" active={filters.active} onClear={filters.clear}>
            <SelectFilter
              label="Status"
              className="w-40"
              value={status}
              onChange={(v) => filters.set({ status: v })}
              anyLabel="Any status"
              options={ROLLOUT_STATUS_OPTIONS}
            />
            <SelectFilter
              label="Service"
              className="w-48"
              value={service}
              onChange={(v) => filters.set({ service: v })}
              anyLabel="Any service"
              options={serviceNames}
            />
          </FilterGroup>
          {rows?.length ? (
            <RolloutSections rows={rows} />
          ) : (
          <DataTable
            caption="Rollouts, newest first"
            columns={columns}
            rows={rows}
            rowKey={(r) => r.id}
            isPending={list.isPending}
            error={list.error}
            errorTitle="Could not load the rollouts"
            onRetry={() => void list.refetch()}
            filtered={filters.active || Boolean(env)}
            empty={{
              icon: RocketIcon,
              title: "No rollouts yet",
              description: mayPromote
                ? "A rollout starts when a succeeded run is promoted (Promote… on the run's page) or with Start rollout here. Its weight, steps and analyses then update live."
                : "A rollout starts when someone with the rollouts:promote permission promotes a succeeded run to a service. Its weight, steps and analyses then update live.",
            }}
            filteredEmpty={{
              icon: SearchXIcon,
              title: "No rollouts match",
              description: env
                ? `Nothing matches these filters in ${env}. Choose another status or service, clear the filters, or choose “All environments” in the environment switcher.`
                : "Choose another status or service, or clear the filters.",
              action: filters.active ? (
                <Button variant="outline" onClick={filters.clear}>
                  Clear filters
                </Button>
              ) : undefined,
            }}
          />
          )}
          {list.data && list.data.items.length >= LIMIT ? (
            <p className="text-sm text-muted-foreground">Showing the newest {LIMIT}: filter by status or service to find older ones.</p>
          ) : null}
        </div>
        <ServicesCard env={env} onRegister={mayPromote ? () => setRegistering(true) : null} onStart={mayPromote ? openStart : null} />
      </div>
      {mayPromote ? (
        <>
          <StartRolloutDialog open={starting} onOpenChange={setStarting} service={startService} />
          <RegisterServiceDialog open={registering} onOpenChange={setRegistering} />
        </>
      ) : null}
    </>
  );
}

export function RolloutsPage() {
  return (
    <RequirePermission anyOf={["rollouts:read"]} title="Rollouts">
      <RolloutsView />
    </RequirePermission>
  );
}

export const Component = RolloutsPage;
